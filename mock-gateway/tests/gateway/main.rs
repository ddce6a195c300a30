//! Black-box tests of the mock gateway over HTTP, each against its own
//! gateway bound on a free port.
#![allow(clippy::unwrap_used)]

mod bad_requests;
mod faults;
mod helpers;
mod payment_intents;
mod payments;
