//! A unit of database work that is safe behind a transaction pooler.
//!
//! PgBouncer in transaction mode hands a server connection to a client for
//! one transaction and takes it back at the next idle `ReadyForQuery`. sqlx
//! sends each prepared statement as Parse/Describe/Sync, then Bind/Execute/
//! Sync: outside a transaction the pooler may give the two halves to two
//! different servers ("prepared statement does not exist"), and a named
//! statement one client leaves behind collides with another client's of the
//! same name ("prepared statement \"sqlx_s_1\" already exists").
//!
//! So when [`super::Pooler::Transaction`] is configured, every [`Session`]
//! is a transaction, which keeps one server for all of it, and its opening
//! statement first deallocates whatever statements the server's previous
//! client left there (the pool's statement cache is off in that mode, so
//! nothing of ours outlives a transaction either). Session timeouts, which a
//! pooler does not let a client set at connect, are set for the
//! transaction. Without a pooler a session is a plain pooled connection,
//! each statement its own transaction, as before.
//!
//! Whoever writes through a session calls [`Session::finish`] before it
//! answers: behind a pooler that is the commit. A session dropped without
//! it rolls back.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use tokio::time::Instant;

use super::pool::{IDLE_IN_TRANSACTION_TIMEOUT, STATEMENT_TIMEOUT};
use super::pooler::{self, Pooler};

/// A connection for a unit of work; see the module's documentation.
#[derive(Debug)]
pub struct Session {
    held: Held,
}

#[derive(Debug)]
enum Held {
    /// Autocommit: each statement is its own transaction.
    Connection(PoolConnection<Postgres>),
    /// One transaction, committed by `finish`.
    Transaction(Transaction<'static, Postgres>),
}

impl Session {
    /// A connection for work whose statements need not commit together.
    /// Behind a transaction pooler it is a transaction all the same.
    pub async fn acquire(pool: &PgPool) -> Result<Self, sqlx::Error> {
        let held = match pooler::configured() {
            Pooler::None => Held::Connection(pool.acquire().await?),
            Pooler::Transaction => Held::Transaction(begin_behind_pooler(pool).await?),
        };
        Ok(Self { held })
    }

    /// A transaction: everything done through the session commits at
    /// [`Session::finish`], or not at all.
    pub async fn begin(pool: &PgPool) -> Result<Self, sqlx::Error> {
        let transaction = match pooler::configured() {
            Pooler::None => pool.begin().await?,
            Pooler::Transaction => begin_behind_pooler(pool).await?,
        };
        Ok(Self {
            held: Held::Transaction(transaction),
        })
    }

    /// Ends the unit of work: commits it when it is a transaction, returns
    /// the connection to the pool either way. Call it before answering
    /// anyone for whom the work must have happened.
    pub async fn finish(self) -> Result<(), sqlx::Error> {
        match self.held {
            Held::Connection(_) => Ok(()),
            Held::Transaction(transaction) => transaction.commit().await,
        }
    }

    /// Finishes the session when the work done through it succeeded, and
    /// returns that work's outcome, or the failure to finish. A failed
    /// outcome is returned as it is, and the session rolls back.
    pub async fn finish_if_ok<T, E: From<sqlx::Error>>(
        self,
        outcome: Result<T, E>,
    ) -> Result<T, E> {
        let value = outcome?;
        self.finish().await?;
        Ok(value)
    }
}

/// Opens a transaction that behaves the same whichever server the pooler
/// picked: no prepared statement left over from that server's last client,
/// and our timeouts in force.
///
/// While the server is out of reach (restarting, failing over) PgBouncer
/// answers at once that it cannot log in, where a direct pool would have
/// waited to connect. Nothing of ours has run yet, so the `BEGIN` is tried
/// again, for up to [`WAIT_FOR_THE_SERVER`], as a direct pool waits.
async fn begin_behind_pooler(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let begin = format!(
        "BEGIN; DEALLOCATE ALL; \
         SET LOCAL statement_timeout = {}; \
         SET LOCAL idle_in_transaction_session_timeout = {}",
        STATEMENT_TIMEOUT.as_millis(),
        IDLE_IN_TRANSACTION_TIMEOUT.as_millis(),
    );
    let deadline = Instant::now() + WAIT_FOR_THE_SERVER;
    let mut pause = Duration::from_millis(50);
    loop {
        match pool.begin_with(begin.clone()).await {
            Err(e) if super::is_unavailable(&e) && Instant::now() + pause < deadline => {
                tracing::debug!(error = %e, "the pooler cannot reach the server yet; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
            begun => return begun,
        }
    }
}

/// How long a session waits for a pooler to reach the server again.
const WAIT_FOR_THE_SERVER: Duration = Duration::from_secs(10);

impl Deref for Session {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        match &self.held {
            Held::Connection(connection) => connection,
            Held::Transaction(transaction) => transaction,
        }
    }
}

impl DerefMut for Session {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match &mut self.held {
            Held::Connection(connection) => connection,
            Held::Transaction(transaction) => transaction,
        }
    }
}
