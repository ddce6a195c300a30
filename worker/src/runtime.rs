//! The worker's main loop.
//!
//! One fetcher claims tasks, never more than the free slots of a semaphore
//! sized to the concurrency, and spawns each step into a `JoinSet`. It looks
//! for work when notified of an enqueue, when its last claim came back full
//! (there may be more), and otherwise on a jittered poll. Beside it run the
//! notification listener, the lease heartbeat, the rescuer, retention and the
//! completer (the group commit of completions, see `completer`). A step that
//! hands its successor to this worker (`StepContext::enqueue_next`) keeps
//! its slot for it.
//!
//! On shutdown the fetcher stops claiming; running steps get the grace period
//! to finish (a successor handed off meanwhile is handed back unstarted); any
//! still running then are stopped and handed back at once (`interrupted`),
//! rather than left for their leases to expire. The one gap: a step aborted
//! at the end of the grace period between committing a handed-off successor
//! and starting it leaves that successor to be rescued after its lease.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use shared::queue::{self, ClaimedTask, Completion, QueueError, RetryOutcome};
use sqlx::PgPool;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;

use crate::completer::Completer;
use crate::context::{HandOff, Successor};
use crate::heartbeat::{self, InFlight};
use crate::metrics::{self, Finish};
use crate::{Registry, StepContext, StepError, StepHandler, WorkerConfig, maintenance, wakeup};

/// Longest error text kept in an attempt record.
const MAX_ERROR_LEN: usize = 2_000;
/// Longest pause after the database refused a claim.
const CLAIM_RETRY_MAX: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("the worker has no step handlers registered, so it would never claim anything")]
    NoHandlers,
}

/// One process's worker: claims, runs and finishes tasks until shut down.
#[derive(Debug)]
pub struct Worker {
    pool: PgPool,
    registry: Arc<Registry>,
    config: WorkerConfig,
    /// Written into every lease and attempt this worker takes.
    id: Arc<str>,
    /// The kinds it has handlers for (and so claims, and takes hand-offs of).
    kinds: Arc<[String]>,
}

impl Worker {
    pub fn new(pool: PgPool, registry: Registry, config: WorkerConfig) -> Self {
        let id = Arc::from(config.resolved_worker_id());
        Self {
            pool,
            kinds: registry.kinds().into(),
            registry: Arc::new(registry),
            config,
            id,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs until `shutdown` fires, then drains and returns.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), WorkerError> {
        if self.registry.is_empty() {
            return Err(WorkerError::NoHandlers);
        }
        let wake = Arc::new(Notify::new());
        let in_flight = Arc::new(InFlight::default());
        // The helpers outlive the fetcher: leases must be renewed while draining.
        let helpers_stop = CancellationToken::new();
        let mut helpers = JoinSet::new();
        helpers.spawn(wakeup::listen(
            self.pool.clone(),
            Arc::clone(&wake),
            helpers_stop.clone(),
        ));
        helpers.spawn(heartbeat::renew_leases(
            self.pool.clone(),
            Arc::clone(&self.id),
            Arc::clone(&in_flight),
            self.config.lease(),
            helpers_stop.clone(),
        ));
        helpers.spawn(maintenance::rescue_loop(
            self.pool.clone(),
            Arc::clone(&self.registry),
            self.config.rescue_interval(),
            Arc::clone(&wake),
            helpers_stop.clone(),
        ));
        helpers.spawn(maintenance::backlog_loop(
            self.pool.clone(),
            self.registry.kinds(),
            helpers_stop.clone(),
        ));
        helpers.spawn(maintenance::retention_loop(
            self.pool.clone(),
            self.config.retention(),
            self.config.idempotency_key_retention(),
            helpers_stop.clone(),
        ));
        tracing::info!(
            worker_id = %self.id,
            kinds = ?self.registry.kinds(),
            concurrency = self.config.concurrency,
            "worker started"
        );

        let (completer, completer_task) = Completer::start(self.pool.clone(), Arc::clone(&self.id));
        let mut steps = JoinSet::new();
        self.fetch_until(&shutdown, &wake, &in_flight, &completer, &mut steps)
            .await;
        self.drain(steps, &in_flight).await;
        // Every step has finished or been stopped: what they handed the
        // completer is written before it ends.
        drop(completer);
        if let Err(e) = completer_task.await {
            tracing::error!(error = %e, "the completer failed; its tasks will be rescued after their leases");
        }

        helpers_stop.cancel();
        while helpers.join_next().await.is_some() {}
        tracing::info!(worker_id = %self.id, "worker stopped");
        Ok(())
    }

    async fn fetch_until(
        &self,
        shutdown: &CancellationToken,
        wake: &Notify,
        in_flight: &Arc<InFlight>,
        completer: &Completer,
        steps: &mut JoinSet<()>,
    ) {
        let slots = Arc::new(Semaphore::new(self.config.concurrency as usize));
        let kinds = self.registry.kinds();
        let mut look_now = true;
        let mut claim_retry = Duration::from_millis(100);
        loop {
            while steps.try_join_next().is_some() {}
            if !look_now {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(jittered(self.config.poll_interval())) => {}
                }
            }
            if slots.available_permits() == 0 {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    freed = Arc::clone(&slots).acquire_owned() => drop(freed),
                }
            }
            if shutdown.is_cancelled() {
                return;
            }
            let free = slots.available_permits();
            let claimed = match self.pool.acquire().await {
                Ok(mut conn) => {
                    let limit = i64::try_from(free).unwrap_or(i64::MAX);
                    queue::claim_batch(&mut conn, &self.id, &kinds, limit, self.config.lease())
                        .await
                }
                Err(e) => Err(e.into()),
            };
            let tasks = match claimed {
                Ok(tasks) => tasks,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = claim_retry.as_millis() as u64, "claim failed");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(claim_retry) => {}
                    }
                    claim_retry = (claim_retry * 2).min(CLAIM_RETRY_MAX);
                    look_now = true;
                    continue;
                }
            };
            if !tasks.is_empty() {
                crate::crash::crash_point!("worker.after_claim");
            }
            claim_retry = Duration::from_millis(100);
            look_now = tasks.len() == free;
            if shutdown.is_cancelled() {
                return_unstarted(&self.pool, &self.id, tasks).await;
                return;
            }
            for task in tasks {
                metrics::claimed(&task.kind);
                match Arc::clone(&slots).try_acquire_owned() {
                    Ok(slot) => {
                        steps.spawn(self.execute(
                            task,
                            slot,
                            Arc::clone(in_flight),
                            completer.clone(),
                            shutdown.clone(),
                        ));
                    }
                    // Only the fetcher takes slots, so this cannot happen; if
                    // it did, the task goes back rather than overrunning.
                    Err(_) => return_unstarted(&self.pool, &self.id, vec![task]).await,
                }
            }
        }
    }

    /// Runs a claimed task in `slot`, then, while each step hands its
    /// successor straight to this worker, the successors in the same slot.
    fn execute(
        &self,
        task: ClaimedTask,
        slot: OwnedSemaphorePermit,
        in_flight: Arc<InFlight>,
        completer: Completer,
        shutdown: CancellationToken,
    ) -> impl Future<Output = ()> + Send + 'static {
        let attempt = Attempt {
            pool: self.pool.clone(),
            registry: Arc::clone(&self.registry),
            backoff: self.config.backoff(),
            hand_off: HandOff {
                kinds: Arc::clone(&self.kinds),
                lease: self.config.lease(),
            },
            in_flight,
            completer,
        };
        let worker = Arc::clone(&self.id);
        let pool = self.pool.clone();
        async move {
            let _slot = slot;
            let mut next = Some(task);
            while let Some(task) = next.take() {
                let span = step_span(&task);
                next = attempt.run(Arc::new(task)).instrument(span).await;
                if shutdown.is_cancelled() {
                    if let Some(unstarted) = next.take() {
                        return_unstarted(&pool, &worker, vec![unstarted]).await;
                    }
                }
                if let Some(task) = &next {
                    metrics::claimed(&task.kind);
                }
            }
        }
    }

    /// Waits up to the grace period for running steps; stops and hands back
    /// whatever is still running after it.
    async fn drain(&self, mut steps: JoinSet<()>, in_flight: &InFlight) {
        let grace = self.config.shutdown_grace();
        if !steps.is_empty() {
            tracing::info!(
                running = steps.len(),
                grace_secs = grace.as_secs(),
                "draining running steps"
            );
        }
        let drained =
            tokio::time::timeout(grace, async { while steps.join_next().await.is_some() {} }).await;
        if drained.is_ok() {
            return;
        }
        steps.abort_all();
        while steps.join_next().await.is_some() {}
        for task in in_flight.tasks() {
            match self.interrupt(&task).await {
                Ok(outcome) => {
                    tracing::warn!(task_id = %task.id, ?outcome, "handed back a step cut short by shutdown")
                }
                Err(e) => {
                    tracing::error!(task_id = %task.id, error = %e, "could not hand back an interrupted step; it will be rescued after its lease")
                }
            }
            in_flight.remove(task.id);
        }
    }

    async fn interrupt(&self, task: &ClaimedTask) -> Result<RetryOutcome, QueueError> {
        let mut tx = self.pool.begin().await?;
        let outcome = queue::interrupt_if_running(&mut tx, &task.lease).await?;
        if outcome == RetryOutcome::Dead {
            if let Some(handler) = self.registry.get(&task.kind) {
                handler
                    .on_dead(&task.payload, "interrupted on its last attempt", &mut tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(outcome)
    }
}

/// Hands claims that never started back to the queue, uncounted.
async fn return_unstarted(pool: &PgPool, worker: &str, tasks: Vec<ClaimedTask>) {
    if tasks.is_empty() {
        return;
    }
    let leases: Vec<_> = tasks.into_iter().map(|t| t.lease).collect();
    let returned = match pool.acquire().await {
        Ok(mut conn) => queue::return_unstarted(&mut conn, worker, &leases).await,
        Err(e) => Err(e.into()),
    };
    match returned {
        Ok(n) => tracing::info!(returned = n, "handed back claims that never started"),
        Err(e) => {
            tracing::warn!(error = %e, "could not hand back unstarted claims; they will be rescued after their lease")
        }
    }
}

/// What one attempt needs from its worker.
struct Attempt {
    pool: PgPool,
    registry: Arc<Registry>,
    backoff: queue::Backoff,
    hand_off: HandOff,
    in_flight: Arc<InFlight>,
    completer: Completer,
}

impl Attempt {
    /// One attempt of one task, from handler to recorded outcome. Returns the
    /// successor the step handed to this worker when the step completed and
    /// committed it; any other successor it claimed is handed back.
    async fn run(&self, task: Arc<ClaimedTask>) -> Option<ClaimedTask> {
        let handler = self.registry.get(&task.kind)?;
        let stop = CancellationToken::new();
        self.in_flight.insert(Arc::clone(&task), stop.clone());
        let ctx = Arc::new(StepContext::new(
            self.pool.clone(),
            task.lease.clone(),
            stop,
            Some(self.hand_off.clone()),
        ));
        let started = tokio::time::Instant::now();
        let result = run_isolated(Arc::clone(&handler), Arc::clone(&task), Arc::clone(&ctx)).await;
        let ending = Ending {
            pool: &self.pool,
            completer: &self.completer,
            handler: handler.as_ref(),
            task: &task,
            ctx: &ctx,
        };
        let recorded = ending
            .record(result, self.backoff.delay(task.attempt))
            .await;
        let elapsed = started.elapsed();
        let elapsed_ms = elapsed.as_millis() as u64;
        let completed = matches!(recorded, Ok(Recorded::Completed));
        let finish = match recorded {
            Ok(Recorded::Completed) => {
                tracing::debug!(elapsed_ms, "step completed");
                Finish::Succeeded
            }
            Ok(Recorded::Retrying(error)) => {
                tracing::warn!(elapsed_ms, error = %error, "step failed; will retry");
                Finish::Retried
            }
            Ok(Recorded::Dead(error)) => {
                tracing::error!(elapsed_ms, error = %error, "step failed for good; task is dead");
                Finish::Dead
            }
            Err(QueueError::LeaseLost { .. }) => {
                tracing::warn!(
                    elapsed_ms,
                    "lease lost before the outcome was recorded; nothing was written"
                );
                Finish::Abandoned
            }
            Err(e) => {
                tracing::error!(
                    elapsed_ms,
                    error = %e,
                    "could not record the step's outcome; the task will be rescued when its lease expires"
                );
                Finish::Abandoned
            }
        };
        metrics::finished(&task.kind, finish, elapsed.as_secs_f64());
        self.in_flight.remove(task.id);
        match ctx.take_successor() {
            Successor::Committed(next) if completed => Some(next),
            Successor::None => None,
            // Its transaction may not have committed, or the step did not
            // complete: hand it back (fenced, so a row that was never
            // committed is left alone) to run as soon as anyone claims it.
            Successor::Pending(next) | Successor::Committed(next) | Successor::Unsure(next) => {
                return_unstarted(&self.pool, &task.lease.worker, vec![next]).await;
                None
            }
        }
    }
}

/// The span every step runs in: what it is, for which order, in which trace.
fn step_span(task: &ClaimedTask) -> tracing::Span {
    let span = tracing::info_span!(
        "step",
        task_id = %task.id,
        kind = %task.kind,
        attempt = task.attempt,
        worker_id = %task.lease.worker,
        order_id = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    if let Some(order) = task.order_id {
        span.record("order_id", tracing::field::display(order));
    }
    if let Some(trace) = task.traceparent {
        span.record("trace_id", trace.trace_id());
        shared::trace::attach(&span, &trace);
    }
    span
}

/// Runs the handler in a task of its own, so that a panic in it becomes a
/// retryable failure instead of a lost worker slot, and so that aborting the
/// attempt aborts the handler too.
async fn run_isolated(
    handler: Arc<dyn StepHandler>,
    task: Arc<ClaimedTask>,
    ctx: Arc<StepContext>,
) -> Result<(), StepError> {
    let handle = AbortOnDropHandle::new(tokio::spawn(
        async move { handler.run(&task, &ctx).await }.in_current_span(),
    ));
    match handle.await {
        Ok(result) => result,
        Err(e) if e.is_panic() => Err(StepError::retryable(format!(
            "the step panicked: {}",
            panic_message(e)
        ))),
        Err(e) => Err(StepError::retryable(format!("the step was aborted: {e}"))),
    }
}

fn panic_message(error: tokio::task::JoinError) -> String {
    let payload = error.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// What became of an attempt.
enum Recorded {
    Completed,
    Retrying(String),
    Dead(String),
}

/// What the runtime needs to write the end of one attempt.
struct Ending<'a> {
    pool: &'a PgPool,
    completer: &'a Completer,
    handler: &'a dyn StepHandler,
    task: &'a ClaimedTask,
    ctx: &'a StepContext,
}

impl Ending<'_> {
    /// Writes the attempt's outcome, fenced on its lease.
    async fn record(
        &self,
        result: Result<(), StepError>,
        retry_delay: Duration,
    ) -> Result<Recorded, QueueError> {
        let error = match result {
            Ok(()) if self.ctx.has_completed() => return Ok(Recorded::Completed),
            Ok(()) => {
                let completion = Completion {
                    lease: self.task.lease.clone(),
                    then: self.ctx.take_follow_ups(),
                };
                self.completer.complete(completion).await?;
                return Ok(Recorded::Completed);
            }
            Err(StepError::LeaseLost(e)) => return Err(e),
            Err(error) => error,
        };
        let text = truncate(shared::error_chain::describe(&error), MAX_ERROR_LEN);
        let lease = &self.task.lease;
        let mut tx = self.pool.begin().await?;
        let dead = match error {
            StepError::Permanent(_) => {
                queue::kill_if_running(&mut tx, lease, &text).await?;
                true
            }
            _ => {
                queue::retry_if_running(&mut tx, lease, &text, retry_delay).await?
                    == RetryOutcome::Dead
            }
        };
        if dead {
            self.handler
                .on_dead(&self.task.payload, &text, &mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(if dead {
            Recorded::Dead(text)
        } else {
            Recorded::Retrying(text)
        })
    }
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// `every` scaled by a random factor in [0.5, 1.0], so idle workers don't
/// poll in lockstep.
fn jittered(every: Duration) -> Duration {
    every.mul_f64(rand::rng().random_range(0.5..=1.0))
}
