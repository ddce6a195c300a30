#![allow(clippy::unwrap_used)]
//! The queue's guarantees, each against a fresh database.

mod helpers;

mod claim;
mod complete_batch;
mod counts;
mod enqueue;
mod lease;
mod pause;
mod retention;
mod retry;
