//! The contract between the runtime and the steps it runs: a handler per
//! task kind, and what a task leaves behind when it dies.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use shared::queue::{self, ClaimedTask, NewTask};
use sqlx::PgConnection;

use crate::{StepContext, StepError};

/// Runs one kind of task. Delivery is at least once: a step may run again
/// after a crash or a lost lease, so its outside effects must be idempotent.
///
/// A step either writes its database effects together with its completion,
/// through [`StepContext::complete_with`], or returns `Ok(())` and lets the
/// runtime complete it, batched with other steps' completions into one
/// commit. Either way, the task it names with [`StepContext::enqueue_next`]
/// is enqueued in the commit that completes it.
#[async_trait]
pub trait StepHandler: Send + Sync + 'static {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError>;

    /// Called in the transaction that makes a task of this kind dead — a
    /// permanent error, the last attempt failing, or the last attempt's lease
    /// expiring — so the step can record the consequence (say, move its
    /// order) atomically with the death. `payload` is the task's. Returns the
    /// task to enqueue with the death, if any. Does nothing by default.
    async fn on_dead(
        &self,
        _payload: &serde_json::Value,
        _error: &str,
        _conn: &mut PgConnection,
    ) -> Result<Option<NewTask>, StepError> {
        Ok(None)
    }
}

/// Runs `handler`'s [`StepHandler::on_dead`] in the death's transaction
/// `conn`, and enqueues the task it leaves behind there too.
pub(crate) async fn bury(
    handler: &dyn StepHandler,
    payload: &serde_json::Value,
    error: &str,
    conn: &mut PgConnection,
) -> Result<(), StepError> {
    if let Some(next) = handler.on_dead(payload, error, conn).await? {
        queue::enqueue(conn, &next).await?;
    }
    Ok(())
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
