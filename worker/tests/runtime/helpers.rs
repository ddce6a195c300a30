//! A worker started in this process, step handlers that report what they
//! see, and waiting on conditions with a deadline.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use shared::queue::{self, ClaimedTask, NewTask, TaskId};
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use worker::{Registry, StepContext, StepError, StepHandler, Worker, WorkerConfig};

pub const KIND: &str = "probe";

/// A worker running in the background until [`RunningWorker::shut_down`].
pub struct RunningWorker {
    pub shutdown: CancellationToken,
    pub handle: JoinHandle<Result<(), worker::WorkerError>>,
}

impl RunningWorker {
    pub fn start(pool: &PgPool, handler: impl StepHandler, config: WorkerConfig) -> Self {
        let mut registry = Registry::new();
        registry.register(KIND, handler);
        let shutdown = CancellationToken::new();
        let worker = Worker::new(pool.clone(), registry, config);
        let handle = tokio::spawn(worker.run(shutdown.clone()));
        Self { shutdown, handle }
    }

    pub async fn shut_down(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .expect("the worker stopped within 30 s")
            .expect("the worker did not panic")
            .expect("the worker ended cleanly");
    }
}

/// Fast settings for tests: quick retries, a test-chosen poll interval.
pub fn config(poll: Duration) -> WorkerConfig {
    WorkerConfig {
        concurrency: 4,
        worker_id: Some("test-worker".to_owned()),
        poll_interval_ms: poll.as_millis() as u64,
        retry_base_ms: 10,
        retry_cap_secs: 1,
        ..WorkerConfig::default()
    }
}

pub async fn enqueue(pool: &PgPool, payload: serde_json::Value, max_attempts: i32) -> TaskId {
    let mut tx = pool.begin().await.unwrap();
    let id = queue::enqueue(
        &mut tx,
        &NewTask::new(KIND, payload).max_attempts(max_attempts),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

pub async fn state(pool: &PgPool, id: TaskId) -> String {
    sqlx::query_scalar("SELECT state::text FROM tasks WHERE id = $1")
        .bind(id.0)
        .fetch_one(pool)
        .await
        .unwrap()
}

pub async fn outcomes(pool: &PgPool, id: TaskId) -> Vec<(String, Option<String>)> {
    sqlx::query_as(
        "SELECT outcome::text, error FROM task_attempts WHERE task_id = $1 ORDER BY attempt",
    )
    .bind(id.0)
    .fetch_all(pool)
    .await
    .unwrap()
}

pub async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
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
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub async fn wait_for_state(pool: &PgPool, id: TaskId, wanted: &str) {
    eventually(
        &format!("task {id} to be {wanted}"),
        Duration::from_secs(20),
        || async { (state(pool, id).await == wanted).then_some(()) },
    )
    .await;
}

/// Waits until `n` tasks are completed, failing the test after `deadline`.
pub async fn completed(pool: &PgPool, n: i64, what: &str, deadline: Duration) {
    eventually(what, deadline, || async {
        (count(pool, "SELECT count(*) FROM tasks WHERE state = 'completed'").await == n)
            .then_some(())
    })
    .await;
}

/// Reports each task it runs on a channel, then succeeds.
pub struct Reporting(pub mpsc::UnboundedSender<(TaskId, tokio::time::Instant)>);

#[async_trait]
impl StepHandler for Reporting {
    async fn run(&self, task: &ClaimedTask, _ctx: &StepContext) -> Result<(), StepError> {
        let _ = self.0.send((task.id, tokio::time::Instant::now()));
        Ok(())
    }
}

/// Fails every attempt the way it is told, and counts `on_dead` calls.
pub struct Failing {
    pub permanent: bool,
    pub buried: Arc<AtomicU32>,
}

#[async_trait]
impl StepHandler for Failing {
    async fn run(&self, task: &ClaimedTask, _ctx: &StepContext) -> Result<(), StepError> {
        let message = format!("attempt {} failed", task.attempt);
        Err(if self.permanent {
            StepError::permanent(message)
        } else {
            StepError::retryable(message)
        })
    }

    async fn on_dead(
        &self,
        _payload: &serde_json::Value,
        _error: &str,
        _conn: &mut sqlx::PgConnection,
    ) -> Result<Option<NewTask>, StepError> {
        self.buried.fetch_add(1, Ordering::SeqCst);
        Ok(None)
    }
}
