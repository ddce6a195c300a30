//! Whether this process reaches PostgreSQL through a transaction pooler
//! (PgBouncer in `pool_mode = transaction`), and where it LISTENs then.
//!
//! The choice is the process's, made once at start from `DATABASE_POOLER`
//! and `LISTEN_DATABASE_URL`, and read by every [`super::Session`], by
//! [`super::connect`] and by [`super::listener_pool`]. Behind a transaction
//! pooler:
//! - every session is a transaction (see `session.rs` for why);
//! - connections are opened without startup `options` (PgBouncer refuses
//!   them) and without a statement cache;
//! - LISTEN goes to `LISTEN_DATABASE_URL`, a direct connection, because a
//!   listener must keep its server connection; without one, processes poll.
//! - migrations, which hold a session advisory lock, need a direct URL.

use std::str::FromStr;
use std::sync::OnceLock;

/// How `DATABASE_URL` reaches PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pooler {
    /// Directly, or through a session-mode pooler: a connection is a session.
    #[default]
    None,
    /// Through a transaction-mode pooler: a server connection is ours for
    /// one transaction at a time.
    Transaction,
}

impl FromStr for Pooler {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "none" => Ok(Self::None),
            "transaction" => Ok(Self::Transaction),
            other => Err(format!(
                "DATABASE_POOLER must be `none` or `transaction`, not `{other}`"
            )),
        }
    }
}

#[derive(Debug)]
struct Reach {
    pooler: Pooler,
    listen_url: Option<String>,
}

static REACH: OnceLock<Reach> = OnceLock::new();

/// Records how this process reaches PostgreSQL. Call it once, before the
/// first pool is opened; later calls are ignored (the first one stands).
pub fn configure(pooler: Pooler, listen_url: Option<String>) {
    let _ = REACH.set(Reach { pooler, listen_url });
}

/// The pooler configured for this process ([`Pooler::None`] when nobody
/// said otherwise).
pub fn configured() -> Pooler {
    REACH.get().map_or(Pooler::None, |reach| reach.pooler)
}

/// The URL to LISTEN on, when it is not the pool's own: `LISTEN_DATABASE_URL`.
pub(super) fn listen_url() -> Option<&'static str> {
    REACH.get().and_then(|reach| reach.listen_url.as_deref())
}
