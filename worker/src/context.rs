//! What a running step can use: the pool, its lease, and a signal that it
//! should stop.

use std::sync::atomic::{AtomicBool, Ordering};

use shared::queue::{self, Lease};
use sqlx::{PgPool, Postgres, Transaction};
use tokio_util::sync::CancellationToken;

use crate::StepError;

/// Handed to [`crate::StepHandler::run`] for one attempt of one task.
#[derive(Debug)]
pub struct StepContext {
    /// Shared with the whole worker; steps open their own transactions.
    pool: PgPool,
    /// The fence for every write that finishes this attempt.
    lease: Lease,
    /// Fires when the heartbeat finds the lease lost: whatever the step
    /// writes next will be refused by the fence.
    stop: CancellationToken,
    /// Set once the step completed itself with [`Self::complete_with`].
    completed: AtomicBool,
}

impl StepContext {
    pub(crate) fn new(pool: PgPool, lease: Lease, stop: CancellationToken) -> Self {
        Self {
            pool,
            lease,
            stop,
            completed: AtomicBool::new(false),
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    /// Completes when the step should give up because its lease was lost.
    /// Long steps `select!` on it. (Past the shutdown grace period a step is
    /// aborted outright.)
    pub fn stopped(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.stop.cancelled()
    }

    /// Completes the task inside `tx` and commits: the step's own writes and
    /// its completion land together, or — when the lease was lost — neither.
    pub async fn complete_with(&self, mut tx: Transaction<'_, Postgres>) -> Result<(), StepError> {
        queue::complete_if_running(&mut tx, &self.lease).await?;
        tx.commit().await?;
        self.completed.store(true, Ordering::Release);
        Ok(())
    }

    pub(crate) fn has_completed(&self) -> bool {
        self.completed.load(Ordering::Acquire)
    }
}
