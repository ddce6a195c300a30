//! Webhooks: the endpoints merchants register ([`endpoints`]), one delivery
//! per (event, endpoint) with every request made for it ([`deliveries`]),
//! the Standard Webhooks signature each request carries ([`signature`]),
//! and which URLs may be called at all ([`url_policy`]).
//!
//! Deliveries are queued by the database, in the transaction that writes
//! the event (see the `webhooks` migration), as tasks of the kind
//! [`DELIVER_KIND`]; the worker's `webhooks` module sends them.

pub mod deliveries;
pub mod endpoints;
pub mod signature;
pub mod url_policy;

/// The task kind that sends one delivery.
pub const DELIVER_KIND: &str = "deliver_webhook";
