//! What the queue tests share: enqueueing no-op tasks, reading rows back, and
//! waiting on a condition with a deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use shared::queue::{self, NewTask, TaskId};
use sqlx::PgPool;

pub const KIND: &str = "noop";
pub const LEASE: Duration = Duration::from_secs(30);

pub fn kinds() -> Vec<String> {
    vec![KIND.to_owned()]
}

pub fn worker(name: &str) -> Arc<str> {
    Arc::from(name)
}

/// Enqueues `n` no-op tasks in one transaction.
pub async fn enqueue_noops(pool: &PgPool, n: usize, max_attempts: i32) -> Vec<TaskId> {
    let mut tx = pool.begin().await.expect("begin");
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let task = NewTask::new(KIND, serde_json::json!({ "n": i })).max_attempts(max_attempts);
        ids.push(queue::enqueue(&mut tx, &task).await.expect("enqueue"));
    }
    tx.commit().await.expect("commit");
    ids
}

#[derive(Debug, sqlx::FromRow)]
pub struct TaskRow {
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
}

pub async fn task(pool: &PgPool, id: TaskId) -> TaskRow {
    sqlx::query_as(
        "SELECT state::text, attempts, max_attempts, locked_by, last_error FROM tasks WHERE id = $1",
    )
    .bind(id.0)
    .fetch_one(pool)
    .await
    .expect("task row")
}

#[derive(Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AttemptRow {
    pub attempt: i32,
    pub worker_id: String,
    pub outcome: String,
    pub error: Option<String>,
}

pub async fn attempts(pool: &PgPool, id: TaskId) -> Vec<AttemptRow> {
    sqlx::query_as(
        "SELECT attempt, worker_id, outcome::text, error FROM task_attempts
         WHERE task_id = $1 ORDER BY attempt",
    )
    .bind(id.0)
    .fetch_all(pool)
    .await
    .expect("attempt rows")
}

pub async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .expect("count")
}

/// Polls `check` until it yields `Some`, failing the test after `deadline`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let until = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
