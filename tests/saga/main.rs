//! The order saga end to end: the real binary's API, worker and mock gateway
//! processes, a real SMTP server, and a fresh database per test.
#![allow(clippy::unwrap_used)]

mod browser;
mod keys_cli;
mod leases;
mod mail_sink;
mod system;

mod auth;
mod bad_input;
mod cancel_after_payment;
mod circuit_breaker;
mod client;
mod connection_budget;
mod connection_loss;
mod console;
mod console_browser;
mod crash_points;
mod database_restart;
mod deadline;
mod events;
mod failover;
mod faults;
mod flows;
mod hostile_clients;
mod http_edges;
mod idempotency;
mod load;
mod manual_capture;
mod migrate_command;
mod nul_input;
mod observability;
mod operations;
mod pooler;
mod rollout;
mod tracing;
mod webhooks;
mod workers;
