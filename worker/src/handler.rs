//! The contract between the runtime and the steps it runs: a handler per task
//! kind, and errors that say whether trying again can help.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use shared::queue::{ClaimedTask, QueueError};
use sqlx::PgConnection;

use crate::StepContext;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Runs one kind of task. Delivery is at least once: a step may run again
/// after a crash or a lost lease, so its outside effects must be idempotent.
///
/// A step either writes its database effects together with its completion,
/// through [`StepContext::complete_with`], or returns `Ok(())` and lets the
/// runtime complete it — batched with other steps' completions into one
/// commit, with any tasks it asked for through [`StepContext::then_enqueue`].
#[async_trait]
pub trait StepHandler: Send + Sync + 'static {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError>;

    /// Called in the transaction that makes a task of this kind dead — a
    /// permanent error, the last attempt failing, or the last attempt's lease
    /// expiring — so the step can record the consequence (say, move its
    /// order) atomically with the death. `payload` is the task's. Does
    /// nothing by default.
    async fn on_dead(
        &self,
        _payload: &serde_json::Value,
        _error: &str,
        _conn: &mut PgConnection,
    ) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

/// Why a step did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Trying again later may succeed (a timeout, a reset, a 5xx, a 429).
    #[error(transparent)]
    Retryable(BoxError),
    /// Trying again cannot help (a declined card, a malformed payload).
    #[error(transparent)]
    Permanent(BoxError),
    /// The step's lease was taken over: its writes were rolled back and the
    /// task belongs to someone else now.
    #[error(transparent)]
    LeaseLost(QueueError),
}

impl StepError {
    pub fn retryable(error: impl Into<BoxError>) -> Self {
        Self::Retryable(error.into())
    }

    pub fn permanent(error: impl Into<BoxError>) -> Self {
        Self::Permanent(error.into())
    }
}

impl From<QueueError> for StepError {
    fn from(error: QueueError) -> Self {
        match error {
            QueueError::LeaseLost { .. } => Self::LeaseLost(error),
            QueueError::Misuse(_) => Self::Permanent(error.into()),
            other => Self::Retryable(other.into()),
        }
    }
}

impl From<sqlx::Error> for StepError {
    /// A database error inside a step is assumed transient: the transaction
    /// rolled back, so trying again is safe.
    fn from(error: sqlx::Error) -> Self {
        Self::Retryable(error.into())
    }
}

/// Which handler runs which task kind. A worker claims only the kinds it has
/// handlers for.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<String, Arc<dyn StepHandler>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes tasks of `kind` to `handler`, replacing any earlier handler.
    pub fn register(&mut self, kind: impl Into<String>, handler: impl StepHandler) -> &mut Self {
        self.handlers.insert(kind.into(), Arc::new(handler));
        self
    }

    pub fn get(&self, kind: &str) -> Option<Arc<dyn StepHandler>> {
        self.handlers.get(kind).cloned()
    }

    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self.handlers.keys().cloned().collect();
        kinds.sort();
        kinds
    }

    pub fn is_empty(&self) -> bool {
        self.handlers.is_empty()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("kinds", &self.kinds())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("gateway timed out")]
    struct Timeout(#[source] std::io::Error);

    #[test]
    fn the_recorded_error_carries_the_whole_cause_chain() {
        let error = StepError::retryable(Timeout(std::io::Error::other("connection reset")));
        assert_eq!(
            shared::error_chain::describe(&error),
            "gateway timed out: connection reset"
        );
    }
}
