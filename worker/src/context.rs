//! What a running step can use: the pool, its lease, and a signal that it
//! should stop.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use shared::queue::{self, Lease, NewTask};
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
    /// Tasks to enqueue together with the runtime's completion of this step.
    follow_ups: Mutex<Vec<NewTask>>,
}

impl StepContext {
    pub(crate) fn new(pool: PgPool, lease: Lease, stop: CancellationToken) -> Self {
        Self {
            pool,
            lease,
            stop,
            completed: AtomicBool::new(false),
            follow_ups: Mutex::new(Vec::new()),
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

    /// Enqueues `task` when the step returns `Ok` and the runtime completes
    /// it: in the same commit as the completion, and only if it lands. (A
    /// step that completes itself with [`Self::complete_with`] enqueues in
    /// its own transaction instead.)
    pub fn then_enqueue(&self, task: NewTask) {
        self.follow_ups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(task);
    }

    pub(crate) fn take_follow_ups(&self) -> Vec<NewTask> {
        std::mem::take(
            &mut *self
                .follow_ups
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    pub(crate) fn has_completed(&self) -> bool {
        self.completed.load(Ordering::Acquire)
    }
}
