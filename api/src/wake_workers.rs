//! Wakes idle workers when orders are placed, from outside the orders' own
//! transactions.
//!
//! A `NOTIFY` sent in the statement that places an order made that order's
//! commit take PostgreSQL's one database-wide notification lock and hold it
//! through its WAL flush, so every POST committed in single file. Now the
//! placing statement notifies nobody: the handler asks for a wake-up here,
//! and one task of the process sends it, in a transaction of its own that
//! does not wait for its flush (`synchronous_commit` off for it alone).
//! Requests that arrive while a wake-up is being sent are folded into the
//! next one, so a burst of orders costs a few notifications, not one each.
//!
//! Each wake-up goes to one worker, the next in turn among those the
//! workers' registry shows alive (`shared::queue::wake_channel`): woken all
//! together, every worker would claim and all but one would find nothing, a
//! statement per worker per order. A worker killed since the registry was
//! read misses its turns until the next read (at most two heartbeats, 10 s);
//! those orders wait for another worker's poll (`POLL_INTERVAL_MS`).
//!
//! A wake-up that is never sent (the process dies after the order's commit)
//! loses nothing: the order and its task are committed, and the workers'
//! poll (`POLL_INTERVAL_MS`) finds the task.

use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::db::Session;
use shared::orders::TaskKind;
use shared::queue::workers::{self, HEARTBEAT_EVERY};
use shared::queue::{WAKEUP_CHANNEL, wake_channel};
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The pause after a wake-up could not be sent, before the next try.
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// Asks the process's sender for a wake-up of the workers.
#[derive(Debug, Clone, Default)]
pub struct WorkerWakeUps {
    requested: Arc<Notify>,
}

impl WorkerWakeUps {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for a wake-up soon. Never waits.
    pub fn request(&self) {
        // One stored permit at most: requests made before the sender looks
        // again are one wake-up.
        self.requested.notify_one();
    }

    /// Sends the requested wake-ups on `pool` until `shutdown`.
    pub async fn send_until(self, pool: PgPool, shutdown: CancellationToken) {
        let mut targets = Targets::default();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.requested.notified() => {}
            }
            targets.refresh_if_due(&pool).await;
            let channel = targets.next();
            let sent = async {
                let mut conn = Session::acquire(&pool).await?;
                sqlx::query(
                    "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)",
                )
                .bind(channel)
                .bind(KIND.as_str())
                .execute(&mut *conn)
                .await?;
                conn.finish().await
            }
            .await;
            if let Err(e) = sent {
                tracing::warn!(
                    error = %e,
                    "could not wake the workers; they will find the new tasks when they poll"
                );
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(RETRY_AFTER) => {}
                }
            }
        }
    }
}

/// The kind a placed order's first task is when it is paid automatically.
/// A manual order's is `authorize_payment`; every worker that runs the
/// saga runs both, and a wake-up is only a hint: a worker that does not run
/// the kind leaves the task to the next poll.
const KIND: TaskKind = TaskKind::ChargePayment;

/// The workers to wake one at a time, read from the workers' registry every
/// heartbeat; each wake-up goes to the next, in turn. When none is known
/// (none registered yet, or the registry cannot be read) every worker is
/// woken, as before.
#[derive(Debug, Default)]
struct Targets {
    channels: Vec<String>,
    next: usize,
    read_at: Option<Instant>,
}

impl Targets {
    async fn refresh_if_due(&mut self, pool: &PgPool) {
        if self
            .read_at
            .is_some_and(|at| at.elapsed() < HEARTBEAT_EVERY)
        {
            return;
        }
        self.read_at = Some(Instant::now());
        let read = async {
            let mut conn = Session::acquire(pool).await?;
            workers::wakeable(&mut conn, KIND.as_str()).await
        };
        match read.await {
            Ok(ids) => self.channels = ids.iter().map(|id| wake_channel(id)).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the workers' registry; waking every worker");
                self.channels.clear();
            }
        }
    }

    /// The channel of the next worker in turn, or the one every worker hears.
    fn next(&mut self) -> &str {
        if self.channels.is_empty() {
            return WAKEUP_CHANNEL;
        }
        self.next = (self.next + 1) % self.channels.len();
        &self.channels[self.next]
    }
}
