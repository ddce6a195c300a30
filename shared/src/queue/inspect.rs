//! Reading the queue for operators: tasks with their attempts, and counts.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{AttemptOutcome, TaskId, TaskState};

/// A task row as operators see it.
#[derive(Debug, Clone)]
pub struct TaskRecord {
    pub id: TaskId,
    pub kind: String,
    pub state: TaskState,
    pub order_id: Option<Uuid>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One finished attempt.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub task_id: TaskId,
    pub attempt: i32,
    pub worker_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub outcome: AttemptOutcome,
    pub error: Option<String>,
}

/// How many tasks of a kind are in a state, and the oldest `run_at` among them.
#[derive(Debug, Clone)]
pub struct QueueCount {
    pub kind: String,
    pub state: TaskState,
    pub count: i64,
    pub oldest_run_at: Option<DateTime<Utc>>,
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub state: Option<TaskState>,
    pub kind: Option<String>,
    pub order_id: Option<Uuid>,
    /// Only tasks whose last error holds this text (any case).
    pub error_contains: Option<String>,
    /// Only tasks with a smaller id (the previous page's last).
    pub before: Option<TaskId>,
}

/// Up to `limit` tasks matching `filter`, newest first, planned for the
/// filters set ([`crate::db::custom_plans`]).
pub async fn list_tasks(
    conn: &mut PgConnection,
    filter: &TaskFilter,
    limit: i64,
) -> Result<Vec<TaskRecord>, sqlx::Error> {
    let mut tx = crate::db::custom_plans(conn).await?;
    let tasks = sqlx::query_as!(
        TaskRecord,
        r#"
        SELECT id AS "id: TaskId", kind, state AS "state: TaskState", order_id, attempts,
               max_attempts, run_at, locked_by, last_error, created_at, finished_at
        FROM tasks
        WHERE ($1::task_state IS NULL OR state = $1)
          AND ($2::text IS NULL OR kind = $2)
          AND ($3::uuid IS NULL OR order_id = $3)
          AND ($4::bigint IS NULL OR id < $4)
          AND ($6::text IS NULL OR strpos(lower(last_error), lower($6)) > 0)
        ORDER BY id DESC
        LIMIT $5
        "#,
        filter.state as Option<TaskState>,
        filter.kind,
        filter.order_id,
        filter.before.map(|id| id.0),
        limit,
        filter.error_contains,
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(tasks)
}

pub async fn get_task(
    conn: &mut PgConnection,
    id: TaskId,
) -> Result<Option<TaskRecord>, sqlx::Error> {
    sqlx::query_as!(
        TaskRecord,
        r#"
        SELECT id AS "id: TaskId", kind, state AS "state: TaskState", order_id, attempts,
               max_attempts, run_at, locked_by, last_error, created_at, finished_at
        FROM tasks WHERE id = $1
        "#,
        id.0,
    )
    .fetch_optional(conn)
    .await
}

/// Every recorded attempt of the tasks `ids`, by task and attempt number.
pub async fn attempts_of(
    conn: &mut PgConnection,
    ids: &[TaskId],
) -> Result<Vec<AttemptRecord>, sqlx::Error> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    sqlx::query_as!(
        AttemptRecord,
        r#"
        SELECT task_id AS "task_id: TaskId", attempt, worker_id, started_at, finished_at,
               outcome AS "outcome: AttemptOutcome", error
        FROM task_attempts
        WHERE task_id = ANY($1)
        ORDER BY task_id, attempt
        "#,
        &ids,
    )
    .fetch_all(conn)
    .await
}

/// Counts per kind and state, with the oldest `run_at` of each.
pub async fn counts(conn: &mut PgConnection) -> Result<Vec<QueueCount>, sqlx::Error> {
    sqlx::query_as!(
        QueueCount,
        r#"
        SELECT kind, state AS "state: TaskState", count(*) AS "count!", min(run_at) AS oldest_run_at
        FROM tasks
        GROUP BY kind, state
        ORDER BY kind, state
        "#
    )
    .fetch_all(conn)
    .await
}

/// A count per kind and state that may be the planner's estimate.
#[derive(Debug, Clone)]
pub struct ScaledCount {
    pub kind: String,
    pub state: TaskState,
    pub count: i64,
    /// Read from the planner's statistics, not counted.
    pub estimated: bool,
    pub oldest_run_at: Option<DateTime<Utc>>,
}

/// Counts per kind and state that stay fast at millions of tasks. The
/// states a task passes through (`available`, `running`, `dead`: few rows,
/// each behind a partial index) are counted exactly. The finished ones
/// (`completed`, `cancelled`, which grow with history) are counted exactly
/// while the table holds fewer than `exact_below` rows, and past that are
/// the planner's estimates, marked as such, for `kinds` and every kind
/// counted exactly. The planner never expects fewer than one row, so an
/// estimate of 1 may be none.
pub async fn counts_at_scale(
    conn: &mut PgConnection,
    kinds: &[String],
    exact_below: i64,
) -> Result<Vec<ScaledCount>, sqlx::Error> {
    let rows = sqlx::query_scalar!(
        r#"SELECT reltuples::int8 AS "rows!" FROM pg_class WHERE oid = 'tasks'::regclass"#
    )
    .fetch_one(&mut *conn)
    .await?;
    // -1: never analyzed, so small as far as anyone knows.
    if rows < exact_below {
        let exact = counts(conn).await?;
        return Ok(exact
            .into_iter()
            .map(|c| ScaledCount {
                kind: c.kind,
                state: c.state,
                count: c.count,
                estimated: false,
                oldest_run_at: c.oldest_run_at,
            })
            .collect());
    }
    sqlx::query_as!(
        ScaledCount,
        r#"
        SELECT kind AS "kind!", state AS "state!: TaskState", count AS "count!",
               estimated AS "estimated!", oldest_run_at
        FROM (
            WITH exact AS (
                SELECT kind, state, count(*) AS count, min(run_at) AS oldest_run_at
                FROM tasks WHERE state = 'available' GROUP BY kind, state
                UNION ALL
                SELECT kind, state, count(*), min(run_at)
                FROM tasks WHERE state = 'running' GROUP BY kind, state
                UNION ALL
                SELECT kind, state, count(*), min(run_at)
                FROM tasks WHERE state = 'dead' GROUP BY kind, state
            ),
            kinds AS (
                SELECT unnest($1::text[]) AS kind
                UNION
                SELECT kind FROM exact
            )
            SELECT kind, state, count, false AS estimated, oldest_run_at FROM exact
            UNION ALL
            SELECT kind, finished.state,
                   count_estimate(format(
                       'SELECT 1 FROM tasks WHERE kind = %L AND state = %L', kind, finished.state
                   )),
                   true, NULL
            FROM kinds, unnest(ARRAY['completed', 'cancelled']::task_state[]) AS finished (state)
        ) AS counts
        ORDER BY kind, state
        "#,
        kinds,
    )
    .fetch_all(conn)
    .await
}

/// The due, unclaimed tasks of one kind: how many, and how long the oldest
/// has waited past its `run_at`.
#[derive(Debug, Clone)]
pub struct Backlog {
    pub kind: String,
    pub due: i64,
    pub oldest_wait_secs: f64,
}

/// The backlog per kind, read from the claim index (available rows only).
pub async fn backlog(conn: &mut PgConnection) -> Result<Vec<Backlog>, sqlx::Error> {
    sqlx::query_as!(
        Backlog,
        r#"
        SELECT kind, count(*) AS "due!",
               coalesce(extract(epoch FROM now() - min(run_at)), 0)::float8 AS "oldest_wait_secs!"
        FROM tasks
        WHERE state = 'available' AND run_at <= now()
        GROUP BY kind
        "#
    )
    .fetch_all(conn)
    .await
}

/// How long the oldest due, unclaimed task of a kind that is not held has
/// waited (0 when none): a paused kind's backlog waits on purpose, and so do
/// the steps an open circuit breaker holds (their downstream is out, not
/// this system overloaded; they run once it is back).
pub async fn oldest_due_wait_secs(conn: &mut PgConnection) -> Result<f64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        SELECT coalesce(extract(epoch FROM now() - min(run_at)), 0)::float8 AS "wait!"
        FROM tasks
        WHERE state = 'available' AND run_at <= now()
          AND kind <> ALL (ARRAY(SELECT kind FROM queue_held_kinds))
        "#
    )
    .fetch_one(conn)
    .await
}

/// The payload of task `id`; `None` when there is no such task.
pub async fn payload_of(
    conn: &mut PgConnection,
    id: TaskId,
) -> Result<Option<serde_json::Value>, sqlx::Error> {
    sqlx::query_scalar!("SELECT payload FROM tasks WHERE id = $1", id.0)
        .fetch_optional(conn)
        .await
}
