//! Handlers that come with every worker, for benchmarks and smoke tests.

use std::time::Duration;

use async_trait::async_trait;
use shared::queue::ClaimedTask;

use crate::{StepContext, StepError, StepHandler};

/// The `noop` kind: does nothing, after an optional pause of
/// `payload.sleep_ms` milliseconds. Measures the queue without a product
/// around it, and gives shutdown tests a step that takes a while.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopHandler;

impl NoopHandler {
    pub const KIND: &'static str = "noop";
}

#[async_trait]
impl StepHandler for NoopHandler {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        let sleep_ms = match task.payload.get("sleep_ms") {
            None => 0,
            Some(value) => value.as_u64().ok_or_else(|| {
                StepError::permanent(format!(
                    "payload.sleep_ms must be a whole number, not {value}"
                ))
            })?,
        };
        if sleep_ms > 0 {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(sleep_ms)) => {}
                _ = ctx.stopped() => return Err(StepError::retryable("stopped before the pause ended")),
            }
        }
        Ok(())
    }
}
