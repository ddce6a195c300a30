//! What a running step can use: the pool, its lease, and a signal that it
//! should stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use shared::queue::{self, ClaimedTask, Lease, NewTask};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
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
    /// Which successors this worker may take straight from the step.
    hand_off: Option<HandOff>,
    /// The successor the step enqueued claimed by this worker.
    handed_off: Mutex<Successor>,
}

/// Where a successor claimed through [`StepContext::enqueue_next`] stands.
#[derive(Debug, Default)]
pub(crate) enum Successor {
    #[default]
    None,
    /// Written in a transaction not yet known to have committed.
    Pending(ClaimedTask),
    /// Its transaction was committed by [`StepContext::complete_with`]: the
    /// worker runs it next, in the same slot.
    Committed(ClaimedTask),
    /// Whether it was committed cannot be told (the step enqueued more after
    /// it, or completed some other way): the worker hands it back, fenced, so
    /// it runs at once if it exists and is a no-op if it does not.
    Unsure(ClaimedTask),
}

/// The kinds this worker runs and the lease it takes: what it needs to claim
/// a successor at birth.
#[derive(Debug, Clone)]
pub(crate) struct HandOff {
    pub kinds: Arc<[String]>,
    pub lease: Duration,
}

impl StepContext {
    pub(crate) fn new(
        pool: PgPool,
        lease: Lease,
        stop: CancellationToken,
        hand_off: Option<HandOff>,
    ) -> Self {
        Self {
            pool,
            lease,
            stop,
            completed: AtomicBool::new(false),
            follow_ups: Mutex::new(Vec::new()),
            hand_off,
            handed_off: Mutex::new(Successor::None),
        }
    }

    /// Enqueues the step's successor in the step's transaction `conn`. When
    /// this worker runs its kind, the successor is written already claimed by
    /// this worker and, once [`Self::complete_with`] commits that
    /// transaction, runs in this step's slot with no wake-up or claim in
    /// between; otherwise it is enqueued as usual. Only a step's first
    /// successor is taken this way.
    pub async fn enqueue_next(
        &self,
        conn: &mut PgConnection,
        task: NewTask,
    ) -> Result<(), StepError> {
        let eligible = self
            .hand_off
            .as_ref()
            .is_some_and(|h| task.run_at.is_none() && h.kinds.contains(&task.kind));
        let earlier = std::mem::take(&mut *self.successor());
        match (&self.hand_off, earlier) {
            (Some(hand_off), Successor::None) if eligible => {
                let claimed =
                    queue::enqueue_claimed(conn, &task, &self.lease.worker, hand_off.lease).await?;
                *self.successor() = Successor::Pending(claimed);
            }
            (_, earlier) => {
                *self.successor() = match earlier {
                    Successor::Pending(t) | Successor::Committed(t) | Successor::Unsure(t) => {
                        Successor::Unsure(t)
                    }
                    Successor::None => Successor::None,
                };
                queue::enqueue(conn, &task).await?;
            }
        }
        Ok(())
    }

    /// The successor claimed through [`Self::enqueue_next`], and where it stands.
    pub(crate) fn take_successor(&self) -> Successor {
        std::mem::take(&mut *self.successor())
    }

    fn successor(&self) -> std::sync::MutexGuard<'_, Successor> {
        self.handed_off
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
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
        crate::crash::crash_point!("step.after_commit");
        self.completed.store(true, Ordering::Release);
        let mut successor = self.successor();
        *successor = match std::mem::take(&mut *successor) {
            Successor::Pending(task) => Successor::Committed(task),
            other => other,
        };
        Ok(())
    }

    /// Enqueues `task` when the step returns `Ok` and the runtime completes
    /// it: in the same commit as the completion, and only if it lands. (A
    /// step that completes itself with [`Self::complete_with`] enqueues in
    /// its own transaction instead.)
    pub fn then_enqueue(&self, task: NewTask) {
        self.follow_ups
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
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
