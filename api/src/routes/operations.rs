//! Operations (`admin` scope): tasks with their attempts, retrying a dead
//! task, and queue counts (pausing a kind is in `queue_kinds`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use shared::db::Session;
use shared::keys::Scope;
use shared::queue::{
    self, AttemptOutcome, AttemptRecord, QueueError, TaskFilter, TaskId, TaskRecord, TaskState,
};
use uuid::Uuid;

use super::queue_kinds::QueueKind;
use super::{ApiTags, pagination};
use crate::AppState;
use crate::http::auth::ApiKeyAuth;
use crate::http::error::{ApiError, ErrorResponse};
use crate::views::TaskStateView;
use shared::validation::Violations;

pub struct OperationsApi;

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "AttemptOutcome", rename_all = "snake_case")]
pub enum AttemptOutcomeView {
    Succeeded,
    Retried,
    Failed,
    LeaseExpired,
    Interrupted,
}

impl From<AttemptOutcome> for AttemptOutcomeView {
    fn from(outcome: AttemptOutcome) -> Self {
        match outcome {
            AttemptOutcome::Succeeded => Self::Succeeded,
            AttemptOutcome::Retried => Self::Retried,
            AttemptOutcome::Failed => Self::Failed,
            AttemptOutcome::LeaseExpired => Self::LeaseExpired,
            AttemptOutcome::Interrupted => Self::Interrupted,
        }
    }
}

/// One finished attempt of a task.
#[derive(Debug, Object)]
pub struct Attempt {
    pub attempt: i32,
    pub worker_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub outcome: AttemptOutcomeView,
    #[oai(nullable)]
    pub error: Option<String>,
}

/// A task with its attempts.
#[derive(Debug, Object)]
pub struct Task {
    pub id: i64,
    pub kind: String,
    pub state: TaskStateView,
    /// The order it moves, if any.
    #[oai(nullable)]
    pub order_id: Option<Uuid>,
    pub attempts: i32,
    pub max_attempts: i32,
    /// When it runs (next), or ran last.
    pub run_at: DateTime<Utc>,
    /// The worker holding it, while running.
    #[oai(nullable)]
    pub locked_by: Option<String>,
    #[oai(nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    #[oai(nullable)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Every finished attempt, oldest first.
    pub history: Vec<Attempt>,
}

#[derive(Debug, Object)]
pub struct TaskPage {
    pub items: Vec<Task>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// Tasks of one kind in one state.
#[derive(Debug, Object)]
#[oai(rename = "QueueCount")]
pub struct QueueCountView {
    pub kind: String,
    pub state: TaskStateView,
    pub count: i64,
    /// The oldest `run_at` among them: for `available` tasks, how long the
    /// oldest has waited.
    #[oai(nullable)]
    pub oldest_run_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Object)]
pub struct QueueStats {
    /// Per kind and state.
    pub counts: Vec<QueueCountView>,
    /// Per state, over all kinds.
    pub totals: BTreeMap<String, i64>,
    /// The kinds paused (see `pauseQueueKind`), by name: their tasks wait.
    pub paused: Vec<QueueKind>,
    /// The circuit breaker of each downstream that ever tripped, by name.
    pub breakers: Vec<CircuitBreakerView>,
}

/// A downstream's circuit breaker, shared by every worker. While it is
/// `open`, no task of its kinds is claimed (they wait without spending an
/// attempt) but for one probe per cool-down; the first call that gets
/// through closes it.
#[derive(Debug, Object)]
#[oai(rename = "CircuitBreaker")]
pub struct CircuitBreakerView {
    /// `payment_gateway` or `mail_server`.
    pub downstream: String,
    /// `open` or `closed`.
    pub state: String,
    /// The kinds it holds while open.
    pub kinds: Vec<String>,
    /// When it last opened.
    #[oai(nullable)]
    pub opened_at: Option<DateTime<Utc>>,
    /// When it last closed.
    #[oai(nullable)]
    pub closed_at: Option<DateTime<Utc>>,
    /// While open: when the next probe may go.
    #[oai(nullable)]
    pub probe_at: Option<DateTime<Utc>>,
    /// Why it last opened.
    #[oai(nullable)]
    pub reason: Option<String>,
    pub times_opened: i64,
}

impl From<queue::breakers::Breaker> for CircuitBreakerView {
    fn from(b: queue::breakers::Breaker) -> Self {
        Self {
            downstream: b.downstream,
            state: if b.open { "open" } else { "closed" }.to_owned(),
            kinds: b.kinds,
            opened_at: b.opened_at,
            closed_at: b.closed_at,
            probe_at: b.probe_at,
            reason: b.reason,
            times_opened: b.times_opened,
        }
    }
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum TaskList {
    #[oai(status = 200)]
    Ok(Json<TaskPage>),
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum RetriedTask {
    /// The task is `available` again, to run now.
    #[oai(status = 200)]
    Ok(Json<Task>),
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum Stats {
    #[oai(status = 200)]
    Ok(Json<QueueStats>),
}

fn task_state(state: TaskStateView) -> TaskState {
    match state {
        TaskStateView::Available => TaskState::Available,
        TaskStateView::Running => TaskState::Running,
        TaskStateView::Completed => TaskState::Completed,
        TaskStateView::Dead => TaskState::Dead,
        TaskStateView::Cancelled => TaskState::Cancelled,
    }
}

fn view(task: TaskRecord, attempts: &[AttemptRecord]) -> Task {
    Task {
        history: attempts
            .iter()
            .filter(|a| a.task_id == task.id)
            .map(|a| Attempt {
                attempt: a.attempt,
                worker_id: a.worker_id.clone(),
                started_at: a.started_at,
                finished_at: a.finished_at,
                outcome: a.outcome.into(),
                error: a.error.clone(),
            })
            .collect(),
        id: task.id.0,
        kind: task.kind,
        state: task.state.into(),
        order_id: task.order_id,
        attempts: task.attempts,
        max_attempts: task.max_attempts,
        run_at: task.run_at,
        locked_by: task.locked_by,
        last_error: task.last_error,
        created_at: task.created_at,
        finished_at: task.finished_at,
    }
}

fn parse_task_id(id: &str) -> Result<TaskId, ApiError> {
    id.parse::<i64>()
        .map(TaskId)
        .map_err(|_| ApiError::not_found(format!("no task has id {id:?}")))
}

#[OpenApi(tag = "ApiTags::Operations")]
impl OperationsApi {
    /// List tasks
    ///
    /// Tasks newest first, with every attempt and its error, filtered by
    /// `state`, `kind` and `order_id`; `limit` (1–100, default 20) at a time.
    /// Needs the `admin` scope.
    #[oai(path = "/v1/tasks", method = "get", operation_id = "listTasks")]
    #[allow(clippy::too_many_arguments)] // one per documented query parameter
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Only tasks in this state.
        #[oai(name = "state")]
        task_state_filter: Query<Option<TaskStateView>>,
        /// Only tasks of this kind.
        kind: Query<Option<String>>,
        /// Only tasks of this order.
        order_id: Query<Option<Uuid>>,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<TaskList, ErrorResponse> {
        auth.0.require(Scope::Admin)?;
        let mut violations = Violations::default();
        let limit = pagination::limit(limit.0, &mut violations);
        let before = pagination::cursor(cursor.0.as_deref(), &mut violations).map(TaskId);
        violations.finish()?;
        let filter = TaskFilter {
            state: task_state_filter.0.map(task_state),
            kind: kind.0,
            order_id: order_id.0,
            error_contains: None,
            before,
        };
        let mut conn = Session::acquire(&state.pool).await?;
        let rows = queue::list_tasks(&mut conn, &filter, limit + 1).await?;
        let (rows, next_cursor) = pagination::page(rows, limit, |t| t.id.0.to_string());
        let ids: Vec<TaskId> = rows.iter().map(|t| t.id).collect();
        let attempts = queue::attempts_of(&mut conn, &ids).await?;
        Ok(TaskList::Ok(Json(TaskPage {
            items: rows.into_iter().map(|t| view(t, &attempts)).collect(),
            next_cursor,
        })))
    }

    /// Retry a dead task
    ///
    /// Puts a `dead` task back to `available`, to run now; its attempts and
    /// their history are kept. 409 `conflict` when the task is not dead.
    /// Needs the `admin` scope.
    #[oai(
        path = "/v1/tasks/:id/retry",
        method = "post",
        operation_id = "retryTask"
    )]
    async fn retry(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<RetriedTask, ErrorResponse> {
        auth.0.require(Scope::Admin)?;
        let id = parse_task_id(&id.0)?;
        let mut conn = Session::acquire(&state.pool).await?;
        queue::retry_dead(&mut conn, id).await?;
        tracing::info!(task_id = %id, key = %auth.0.0.name, "dead task retried by an operator");
        let task = queue::get_task(&mut conn, id)
            .await?
            .ok_or(QueueError::NotFound(id))?;
        let attempts = queue::attempts_of(&mut conn, &[id]).await?;
        conn.finish().await?;
        Ok(RetriedTask::Ok(Json(view(task, &attempts))))
    }

    /// Queue statistics
    ///
    /// Per kind and state: how many tasks, and the oldest `run_at`; plus
    /// totals per state, the paused kinds and the circuit breakers. Needs
    /// the `admin` scope.
    #[oai(path = "/v1/queue/stats", method = "get", operation_id = "queueStats")]
    async fn stats(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
    ) -> Result<Stats, ErrorResponse> {
        auth.0.require(Scope::Admin)?;
        let mut conn = Session::acquire(&state.pool).await?;
        let counts = queue::counts(&mut conn).await?;
        let paused = queue::paused(&mut conn).await?;
        let breakers = queue::breakers::list(&mut conn).await?;
        let mut totals = BTreeMap::new();
        for count in &counts {
            let state: TaskStateView = count.state.into();
            let name = match state {
                TaskStateView::Available => "available",
                TaskStateView::Running => "running",
                TaskStateView::Completed => "completed",
                TaskStateView::Dead => "dead",
                TaskStateView::Cancelled => "cancelled",
            };
            *totals.entry(name.to_owned()).or_insert(0) += count.count;
        }
        Ok(Stats::Ok(Json(QueueStats {
            counts: counts
                .into_iter()
                .map(|c| QueueCountView {
                    kind: c.kind,
                    state: c.state.into(),
                    count: c.count,
                    oldest_run_at: c.oldest_run_at,
                })
                .collect(),
            totals,
            paused: paused.into_iter().map(QueueKind::from).collect(),
            breakers: breakers.into_iter().map(CircuitBreakerView::from).collect(),
        })))
    }
}
