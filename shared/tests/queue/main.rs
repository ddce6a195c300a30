#![allow(clippy::unwrap_used)]
//! The queue's guarantees, each against a fresh database.

mod helpers;

mod claim;
mod enqueue;
mod lease;
mod retention;
mod retry;
