//! API keys: who may call the API, and what for.
//!
//! A key is 128 random bits, written `ak_` + 32 hex digits, shown once when
//! created and stored only as its SHA-256 hash; a request's key is found by
//! hashing it and looking the hash up, so no comparison of secrets happens in
//! our code at all. Each key has a name and [`Scope`]s; revoking it stops it
//! at once.

pub mod console_sessions;
mod scope;
mod store;

pub use scope::{Scope, UnknownScope};
pub use store::{
    ApiKey, NewKey, RateLimit, authenticate, create, ensure_bootstrap, list, random_secret_hex,
    revoke, secret_hash, set_rate_limit,
};
