//! The worker runtime against a fresh database: wake-ups, retries, panics,
//! transactional completion and shutdown.
#![allow(clippy::unwrap_used)]

mod helpers;

mod failures;
mod shutdown;
mod wakeup;
