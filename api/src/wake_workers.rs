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
//! A wake-up that is never sent (the process dies after the order's commit)
//! loses nothing: the order and its task are committed, and the workers'
//! poll (`POLL_INTERVAL_MS`) finds the task.

use std::sync::Arc;
use std::time::Duration;

use shared::orders::TaskKind;
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
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.requested.notified() => {}
            }
            let sent = sqlx::query(
                "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)",
            )
            .bind(shared::queue::WAKEUP_CHANNEL)
            .bind(TaskKind::ChargePayment.as_str())
            .execute(&pool)
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
