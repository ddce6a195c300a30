//! AsyncCheckout's shared core: the domain types, database access and the
//! PostgreSQL task queue that the API and the workers are built on.
//!
//! - [`catalog`]: products, prices and stock.
//! - [`orders`]: orders, their states and the transitions the saga may make.
//! - [`events`]: the order events, read below the horizon of transactions in flight.
//! - [`money`]: integer minor units and ISO 4217 currencies.
//! - [`queue`]: the durable task queue (enqueue, claim, lease, finish, rescue).
//! - [`keys`]: API keys and their scopes.
//! - [`trace`]: the W3C trace context that tasks carry.
//! - [`validation`]: checking a request field by field.
//! - [`db`]: the connection pool, the migrations, and the database bootstrap.
//! - [`error_chain`]: an error and its causes on one line, for every crate.

pub mod catalog;
pub mod db;
pub mod error_chain;
pub mod events;
pub mod keys;
pub mod money;
pub mod orders;
pub mod queue;
pub mod trace;
pub mod validation;
pub mod webhooks;

pub use db::MIGRATOR;
