//! What a running step can use: the pool, its lease, a signal that it should
//! stop, and the one way to name the task that follows it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use shared::db::Session;
use shared::orders::{self, StepEnd};
use shared::queue::{self, ClaimedTask, Lease, NewTask};
use sqlx::{PgConnection, PgPool};
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
    /// The tasks the step named with [`Self::enqueue_next`], not yet written.
    next: Mutex<Vec<NewTask>>,
    /// Which successors this worker may take straight from the step.
    hand_off: Option<HandOff>,
    /// The successor [`Self::complete_with`] wrote claimed by this worker.
    successor: Mutex<Option<Successor>>,
}

/// A successor written already claimed by this worker, and whether the
/// transaction that wrote it is known to have committed.
#[derive(Debug)]
pub(crate) enum Successor {
    /// Written in a transaction whose commit did not return: the worker
    /// hands it back, fenced, so it runs at once if it exists and is a no-op
    /// if it does not.
    Written(ClaimedTask),
    /// Its transaction committed: the worker runs it next, in the same slot,
    /// with no wake-up or claim in between.
    Committed(ClaimedTask),
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
            next: Mutex::new(Vec::new()),
            hand_off,
            successor: Mutex::new(None),
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

    /// Names `task` to follow this step. It is enqueued in the commit that
    /// completes the step, and only if that commit lands: the step's own
    /// ([`Self::complete_with`]) or the runtime's, when the step returns
    /// `Ok` without completing itself. A step that fails enqueues nothing.
    ///
    /// When the step completes itself and this worker runs the task's kind,
    /// the first such task is written already claimed by this worker and runs
    /// in this step's slot right after the commit.
    pub fn enqueue_next(&self, task: NewTask) {
        lock(&self.next).push(task);
    }

    /// Writes the tasks named with [`Self::enqueue_next`] and completes the
    /// task inside `tx`, then commits: the step's own writes, its successors
    /// and its completion land together, or — when the lease was lost —
    /// none of them.
    pub async fn complete_with(&self, mut tx: Session) -> Result<(), StepError> {
        let next = self.take_next();
        let claimed = self.write_next(&mut tx, next).await?;
        queue::complete_if_running(&mut tx, &self.lease).await?;
        *lock(&self.successor) = claimed.map(Successor::Written);
        tx.finish().await?;
        crate::crash::crash_point!("step.after_commit");
        self.completed.store(true, Ordering::Release);
        let mut successor = lock(&self.successor);
        if let Some(Successor::Written(task)) = successor.take() {
            *successor = Some(Successor::Committed(task));
        }
        Ok(())
    }

    /// Ends the step with `end` in one statement ([`orders::end_step`]):
    /// the task completed under this attempt's lease, the order moved, and
    /// the next step written, claimed by this worker when it runs that kind
    /// (it runs in this step's slot right after, with the order as the
    /// statement left it).
    ///
    /// When the statement's answer is lost it may still have committed; a
    /// next step it wrote claimed is then unknown here, and is rescued when
    /// its lease expires.
    pub async fn end_step(&self, end: StepEnd<'_>) -> Result<(), StepError> {
        let end = StepEnd {
            hand_off: self
                .hand_off
                .as_ref()
                .map(|hand_off| (&*hand_off.kinds, hand_off.lease)),
            ..end
        };
        let mut conn = Session::acquire(&self.pool).await?;
        let ended = orders::end_step(&mut conn, &end).await?;
        conn.finish().await?;
        crate::crash::crash_point!("step.after_commit");
        self.completed.store(true, Ordering::Release);
        *lock(&self.successor) = ended.handed_off.map(Successor::Committed);
        Ok(())
    }

    /// Enqueues `tasks` in `conn`, the first one this worker may take claimed
    /// by it; returns that one.
    async fn write_next(
        &self,
        conn: &mut PgConnection,
        tasks: Vec<NewTask>,
    ) -> Result<Option<ClaimedTask>, StepError> {
        let mut claimed = None;
        for task in tasks {
            match &self.hand_off {
                Some(hand_off) if claimed.is_none() && hand_off.takes(&task) => {
                    claimed =
                        queue::enqueue_claimed(conn, &task, &self.lease.worker, hand_off.lease)
                            .await?;
                    if claimed.is_none() {
                        // Its kind is paused: it waits for the resume.
                        queue::enqueue(conn, &task).await?;
                    }
                }
                _ => {
                    queue::enqueue(conn, &task).await?;
                }
            }
        }
        Ok(claimed)
    }

    /// The tasks named with [`Self::enqueue_next`] and not yet written, for
    /// the runtime's completion of a step that did not complete itself.
    pub(crate) fn take_next(&self) -> Vec<NewTask> {
        std::mem::take(&mut *lock(&self.next))
    }

    /// The successor [`Self::complete_with`] wrote claimed by this worker.
    pub(crate) fn take_successor(&self) -> Option<Successor> {
        lock(&self.successor).take()
    }

    pub(crate) fn has_completed(&self) -> bool {
        self.completed.load(Ordering::Acquire)
    }
}

impl HandOff {
    /// Whether this worker may run `task` straight away: a kind it runs,
    /// due now.
    fn takes(&self, task: &NewTask) -> bool {
        task.run_at.is_none() && self.kinds.contains(&task.kind)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
