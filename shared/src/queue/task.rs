//! The queue's nouns: tasks to enqueue, claimed tasks, and the lease that
//! fences every change a worker makes to a task it runs.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::trace::TraceParent;

/// A task's row id.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type,
)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct TaskId(pub i64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `task_state` in the database; the table in the module docs says who moves
/// a task between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "task_state", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Available,
    Running,
    Completed,
    Dead,
    Cancelled,
}

impl TaskState {
    pub const ALL: [TaskState; 5] = [
        Self::Available,
        Self::Running,
        Self::Completed,
        Self::Dead,
        Self::Cancelled,
    ];

    /// The state as the database and the API write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Dead => "dead",
            Self::Cancelled => "cancelled",
        }
    }
}

/// How one attempt ended (`attempt_outcome` in the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "attempt_outcome", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The step succeeded and the task completed.
    Succeeded,
    /// The step failed transiently; the task runs again after a backoff.
    Retried,
    /// The step failed permanently, or on its last attempt: the task is dead.
    Failed,
    /// The worker stopped renewing its lease (it crashed or hung); rescued.
    LeaseExpired,
    /// The worker shut down before the step finished; handed back at once.
    Interrupted,
}

/// A task to put on the queue.
#[derive(Debug, Clone)]
pub struct NewTask {
    /// Which handler runs it, e.g. `charge_payment`.
    pub kind: String,
    /// The handler's input.
    pub payload: serde_json::Value,
    /// Attempts before it is dead.
    pub max_attempts: i32,
    /// Not before this time; `None` is now.
    pub run_at: Option<DateTime<Utc>>,
    /// The order this task moves, if any (listed on the order's view).
    pub order_id: Option<Uuid>,
    /// The trace this task continues.
    pub traceparent: Option<TraceParent>,
    /// Tasks sharing a key run at most a lane's limit at once (see
    /// `claim_batch_keyed`); `None` for no limit.
    pub concurrency_key: Option<String>,
}

impl NewTask {
    pub const DEFAULT_MAX_ATTEMPTS: i32 = 10;

    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            payload,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            run_at: None,
            order_id: None,
            traceparent: None,
            concurrency_key: None,
        }
    }

    pub fn traced(mut self, traceparent: TraceParent) -> Self {
        self.traceparent = Some(traceparent);
        self
    }

    pub fn for_order(mut self, order_id: Uuid) -> Self {
        self.order_id = Some(order_id);
        self
    }

    pub fn max_attempts(mut self, max_attempts: i32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    pub fn concurrency_key(mut self, key: impl Into<String>) -> Self {
        self.concurrency_key = Some(key.into());
        self
    }

    pub fn run_at(mut self, run_at: DateTime<Utc>) -> Self {
        self.run_at = Some(run_at);
        self
    }
}

/// The right to change one attempt of one task: the fence every finishing
/// write must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub task: TaskId,
    pub worker: Arc<str>,
    pub attempt: i32,
}

/// A task a worker has claimed and now runs under its lease.
#[derive(Debug, Clone)]
pub struct ClaimedTask {
    pub id: TaskId,
    pub kind: String,
    pub payload: serde_json::Value,
    /// This attempt's number, from 1.
    pub attempt: i32,
    pub max_attempts: i32,
    /// The order the task moves, if any.
    pub order_id: Option<Uuid>,
    /// The trace the task continues, if it was enqueued with one.
    pub traceparent: Option<TraceParent>,
    pub created_at: DateTime<Utc>,
    pub lease: Lease,
    /// The order as it was when the task was claimed (or as the step before
    /// left it), so that the step need not read it; `None` for tasks with no
    /// order, or claimed without it.
    pub order: Option<Box<crate::orders::OrderSnapshot>>,
}

impl ClaimedTask {
    /// Whether a failure of this attempt makes the task dead.
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_attempts
    }
}
