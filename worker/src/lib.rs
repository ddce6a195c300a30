//! AsyncCheckout's worker runtime.
//!
//! A [`Worker`] is one process's share of the work: it claims tasks from the
//! PostgreSQL queue ([`shared::queue`]) up to its free slots, runs each with
//! the [`StepHandler`] registered for its kind, keeps the leases of running
//! steps alive, and finishes every attempt with a fenced write. Alongside, it
//! listens for enqueue notifications, rescues expired leases and prunes old
//! completed tasks. Any number of workers, in any number of processes, share
//! one database; none of them keeps state of its own.
//!
//! [`steps`] holds the order saga's handlers, with the [`gateway`] client and
//! the [`mailer`] they call; [`webhooks`] sends order events to merchants'
//! endpoints.

mod attempt;
pub mod breaker;
mod builtin;
mod completer;
mod config;
mod context;
mod crash;
pub mod gateway;
mod hand_back;
mod handler;
mod heartbeat;
pub mod mailer;
mod maintenance;
pub mod metrics;
mod outcome;
mod presence;
mod runtime;
mod step_error;
pub mod steps;
mod tally;
mod wakeup;
pub mod webhooks;

pub use builtin::NoopHandler;
pub use config::WorkerConfig;
pub use context::StepContext;
pub use handler::{Registry, StepHandler};
pub use runtime::{Worker, WorkerError};
pub use step_error::StepError;
