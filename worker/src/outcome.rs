//! How an attempt ends, and writing that end: completed (through the
//! completer, or by the step itself), retried after a backoff, or dead with
//! the handler's `on_dead` consequences, each fenced on the attempt's lease.
//!
//! The names of an attempt's end: [`StepOutcome`] is what the runtime made
//! of one (for its logs and metrics); `shared::queue::AttemptOutcome` is how
//! the queue stores it, and `shared::queue::RetryOutcome` where a failed
//! attempt left its task.

use std::time::Duration;

use shared::db::Session;
use shared::queue::{self, ClaimedTask, Completion, RetryOutcome};
use sqlx::PgPool;

use crate::completer::Completer;
use crate::handler::bury;
use crate::{StepContext, StepError, StepHandler};

/// Longest error text kept in an attempt record.
const MAX_ERROR_LEN: usize = 2_000;

/// What the runtime made of one attempt.
#[derive(Debug)]
pub(crate) enum StepOutcome {
    /// The task is completed.
    Succeeded,
    /// The task runs again after a backoff; the error recorded.
    Retried(String),
    /// The task is dead (a permanent error, or its last attempt failed).
    Dead(String),
    /// Nothing was written (the lease was lost, or the write failed):
    /// whoever holds the task next finishes it.
    Abandoned(StepError),
}

impl StepOutcome {
    /// The outcome's label in metrics.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Retried(_) => "retried",
            Self::Dead(_) => "dead",
            Self::Abandoned(_) => "abandoned",
        }
    }
}

/// What the runtime needs to write the end of one attempt.
pub(crate) struct OutcomeWriter<'a> {
    pub pool: &'a PgPool,
    pub completer: &'a Completer,
    pub handler: &'a dyn StepHandler,
    pub task: &'a ClaimedTask,
    pub ctx: &'a StepContext,
}

impl OutcomeWriter<'_> {
    /// Writes the attempt's end for the step's `result`, fenced on its lease.
    pub(crate) async fn write(
        &self,
        result: Result<(), StepError>,
        retry_delay: Duration,
    ) -> StepOutcome {
        let written = match result {
            Ok(()) => self.complete().await,
            Err(StepError::LeaseLost(e)) => Err(StepError::LeaseLost(e)),
            Err(StepError::Moot(why)) => {
                tracing::info!(task_id = %self.task.id, kind = %self.task.kind, why, "the step has nothing to do: completing its task");
                self.complete().await
            }
            Err(StepError::RetryableAfter { error, delay }) => {
                self.fail(StepError::Retryable(error), delay).await
            }
            Err(error) => self.fail(error, retry_delay).await,
        };
        written.unwrap_or_else(StepOutcome::Abandoned)
    }

    /// Completes a step that returned `Ok`: it did so itself, or the
    /// completer does it now, with the tasks the step named.
    async fn complete(&self) -> Result<StepOutcome, StepError> {
        if !self.ctx.has_completed() {
            let completion = Completion {
                lease: self.task.lease.clone(),
                then: self.ctx.take_next(),
            };
            self.completer.complete(completion).await?;
        }
        Ok(StepOutcome::Succeeded)
    }

    /// Records a failed attempt: retried, or dead with the handler's
    /// consequences in the same transaction.
    async fn fail(
        &self,
        error: StepError,
        retry_delay: Duration,
    ) -> Result<StepOutcome, StepError> {
        let text = truncate(shared::error_chain::describe(&error), MAX_ERROR_LEN);
        let lease = &self.task.lease;
        let mut tx = Session::begin(self.pool).await?;
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
            bury(self.handler, &self.task.payload, &text, &mut tx).await?;
        }
        tx.finish().await?;
        Ok(if dead {
            StepOutcome::Dead(text)
        } else {
            StepOutcome::Retried(text)
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
