//! The test kit: AsyncCheckout started as real processes of its binary, for
//! the end-to-end tests in `tests/` and for the lab (`asynccheckout-lab`
//! bench and chaos). Nothing here ships in the product.
//!
//! - [`process`]: start one role and wait for its `ready` line.
//! - [`system`]: a set of processes (gateway, API, workers) watched for their
//!   peak memory, killed and restarted at will.
//! - [`cluster`]: stopping, crashing and restarting a private PostgreSQL cluster.
//! - [`pgbouncer`]: a real PgBouncer in transaction mode in front of a database.
//! - [`queue`]: waiting for the queue to drain.
//! - [`replication`]: a primary and a synchronous standby, to kill and promote.
//! - [`slowloris`]: a client holding connections open with headers never finished.
//! - [`sse`]: reading the API's Server-Sent Events.
//! - [`webhook_receiver`]: an HTTP endpoint that verifies every webhook with
//!   the Standard Webhooks reference library and answers as told.

pub mod cluster;
pub mod pgbouncer;
pub mod process;
pub mod queue;
pub mod replication;
pub mod slowloris;
pub mod sse;
pub mod system;
pub mod webhook_receiver;
