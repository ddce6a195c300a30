//! Handlers that come with every worker, for benchmarks and smoke tests.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use shared::queue::{ClaimedTask, NewTask};

use crate::{StepContext, StepError, StepHandler};

/// The `noop` kind: does nothing, after an optional pause of
/// `payload.sleep_ms` milliseconds, and then, when `payload.chain` is a number
/// n > 0, enqueues the next `noop` with `chain` n − 1 in the commit that
/// completes it. Measures the queue without a product around it (the `queue`
/// and `chain` benchmarks), and gives shutdown tests a step that takes a while.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopHandler;

impl NoopHandler {
    pub const KIND: &'static str = "noop";
}

#[async_trait]
impl StepHandler for NoopHandler {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        let sleep_ms = whole_number(&task.payload, "sleep_ms")?;
        let chain = whole_number(&task.payload, "chain")?;
        if sleep_ms > 0 {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(sleep_ms)) => {}
                _ = ctx.stopped() => return Err(StepError::retryable("stopped before the pause ended")),
            }
        }
        if chain > 0 {
            let mut next = NewTask::new(Self::KIND, json!({ "chain": chain - 1 }));
            next.order_id = task.order_id;
            ctx.enqueue_next(next);
        }
        Ok(())
    }
}

/// `payload.field` as a whole number, 0 when absent.
fn whole_number(payload: &serde_json::Value, field: &str) -> Result<u64, StepError> {
    match payload.get(field) {
        None => Ok(0),
        Some(value) => value.as_u64().ok_or_else(|| {
            StepError::permanent(format!(
                "payload.{field} must be a whole number, not {value}"
            ))
        }),
    }
}
