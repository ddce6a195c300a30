//! One attempt of one task: the handler run in isolation inside the step's
//! span, its outcome written (`outcome`), logged and counted, and the
//! successor it handed to this worker passed back to the slot.

use std::sync::Arc;

use shared::queue::{self, ClaimedTask};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;

use crate::completer::Completer;
use crate::context::{HandOff, Successor};
use crate::hand_back::return_unstarted;
use crate::heartbeat::InFlight;
use crate::outcome::{OutcomeWriter, StepOutcome};
use crate::{Registry, StepContext, StepError, StepHandler, metrics};

/// What one attempt needs from its worker.
pub(crate) struct Attempt {
    pub pool: PgPool,
    pub registry: Arc<Registry>,
    pub backoff: queue::Backoff,
    pub hand_off: HandOff,
    pub in_flight: Arc<InFlight>,
    pub completer: Completer,
}

impl Attempt {
    /// One attempt of one task, from handler to written outcome. Returns the
    /// successor the step handed to this worker when the step completed and
    /// committed it; any other successor it claimed is handed back.
    pub(crate) async fn run(&self, task: Arc<ClaimedTask>) -> Option<ClaimedTask> {
        let span = step_span(&task);
        self.run_in_span(task).instrument(span).await
    }

    async fn run_in_span(&self, task: Arc<ClaimedTask>) -> Option<ClaimedTask> {
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
        let writer = OutcomeWriter {
            pool: &self.pool,
            completer: &self.completer,
            handler: handler.as_ref(),
            task: &task,
            ctx: &ctx,
        };
        let outcome = writer.write(result, self.backoff.delay(task.attempt)).await;
        let elapsed = started.elapsed();
        log(&outcome, elapsed.as_millis() as u64);
        metrics::finished(&task.kind, &outcome, elapsed.as_secs_f64());
        self.in_flight.remove(task.id);
        match ctx.take_successor() {
            Some(Successor::Committed(next)) if matches!(outcome, StepOutcome::Succeeded) => {
                Some(next)
            }
            None => None,
            // Its transaction may not have committed, or the step did not
            // complete: hand it back (fenced, so a row that was never
            // committed is left alone) to run as soon as anyone claims it.
            Some(Successor::Written(next) | Successor::Committed(next)) => {
                return_unstarted(&self.pool, &task.lease.worker, vec![next]).await;
                None
            }
        }
    }
}

fn log(outcome: &StepOutcome, elapsed_ms: u64) {
    match outcome {
        StepOutcome::Succeeded => tracing::debug!(elapsed_ms, "step completed"),
        StepOutcome::Retried(error) => {
            tracing::warn!(elapsed_ms, error = %error, "step failed; will retry")
        }
        StepOutcome::Dead(error) => {
            tracing::error!(elapsed_ms, error = %error, "step failed for good; task is dead")
        }
        StepOutcome::Abandoned(StepError::LeaseLost(_)) => tracing::warn!(
            elapsed_ms,
            "lease lost before the outcome was recorded; nothing was written"
        ),
        StepOutcome::Abandoned(e) => tracing::error!(
            elapsed_ms,
            error = %e,
            "could not record the step's outcome; the task will be rescued when its lease expires"
        ),
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
