//! How the runtime records failures: retries, death, panics, and steps that
//! complete themselves inside their own transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use shared::db::Session;
use shared::queue::{self, ClaimedTask, NewTask};
use worker::{StepContext, StepError, StepHandler};

use crate::helpers::*;

const POLL: Duration = Duration::from_millis(50);

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_retryable_failure_is_retried_until_attempts_run_out_then_dead(pool: sqlx::PgPool) {
    let buried = Arc::new(AtomicU32::new(0));
    let worker = RunningWorker::start(
        &pool,
        Failing {
            permanent: false,
            buried: buried.clone(),
        },
        config(POLL),
    );

    let id = enqueue(&pool, serde_json::json!({}), 3).await;
    wait_for_state(&pool, id, "dead").await;
    worker.shut_down().await;

    let outcomes = outcomes(&pool, id).await;
    assert_eq!(
        outcomes,
        [
            ("retried".to_owned(), Some("attempt 1 failed".to_owned())),
            ("retried".to_owned(), Some("attempt 2 failed".to_owned())),
            ("failed".to_owned(), Some("attempt 3 failed".to_owned())),
        ]
    );
    assert_eq!(
        buried.load(Ordering::SeqCst),
        1,
        "on_dead runs once, with the death"
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_permanent_failure_is_not_retried(pool: sqlx::PgPool) {
    let buried = Arc::new(AtomicU32::new(0));
    let worker = RunningWorker::start(
        &pool,
        Failing {
            permanent: true,
            buried: buried.clone(),
        },
        config(POLL),
    );

    let id = enqueue(&pool, serde_json::json!({}), 10).await;
    wait_for_state(&pool, id, "dead").await;
    worker.shut_down().await;

    assert_eq!(
        outcomes(&pool, id).await,
        [("failed".to_owned(), Some("attempt 1 failed".to_owned()))]
    );
    assert_eq!(buried.load(Ordering::SeqCst), 1);
}

/// Panics on its first attempt, succeeds on the next.
struct PanicsOnce;

#[async_trait]
impl StepHandler for PanicsOnce {
    async fn run(&self, task: &ClaimedTask, _ctx: &StepContext) -> Result<(), StepError> {
        if task.attempt == 1 {
            panic!("bug in step");
        }
        Ok(())
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_panicking_step_is_recorded_and_retried_not_lost(pool: sqlx::PgPool) {
    let worker = RunningWorker::start(&pool, PanicsOnce, config(POLL));

    let id = enqueue(&pool, serde_json::json!({}), 3).await;
    wait_for_state(&pool, id, "completed").await;
    worker.shut_down().await;

    let outcomes = outcomes(&pool, id).await;
    assert_eq!(outcomes.len(), 2);
    assert_eq!(outcomes[0].0, "retried");
    assert!(
        outcomes[0]
            .1
            .as_deref()
            .unwrap_or_default()
            .contains("panicked: bug in step")
    );
    assert_eq!(outcomes[1], ("succeeded".to_owned(), None));
}

/// Enqueues a follow-up task in the same transaction that completes its own.
struct Chains;

#[async_trait]
impl StepHandler for Chains {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        let mut tx = Session::begin(ctx.pool()).await?;
        let hop = task.payload["hop"].as_i64().unwrap_or(0);
        if hop < 2 {
            queue::enqueue(
                &mut tx,
                &NewTask::new(KIND, serde_json::json!({ "hop": hop + 1 })),
            )
            .await?;
        }
        ctx.complete_with(tx).await
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_step_completes_and_enqueues_its_successor_in_one_transaction(pool: sqlx::PgPool) {
    let worker = RunningWorker::start(&pool, Chains, config(POLL));

    enqueue(&pool, serde_json::json!({ "hop": 0 }), 3).await;
    completed(
        &pool,
        3,
        "the three hops to complete",
        Duration::from_secs(20),
    )
    .await;
    worker.shut_down().await;

    assert_eq!(count(&pool, "SELECT count(*) FROM tasks").await, 3);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM task_attempts WHERE outcome = 'succeeded'"
        )
        .await,
        3
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn completions_returned_by_steps_are_batched_and_carry_their_follow_ups(pool: sqlx::PgPool) {
    let mut registry = worker::Registry::new();
    registry.register(worker::NoopHandler::KIND, worker::NoopHandler);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let config = worker::WorkerConfig {
        concurrency: 64,
        ..config(POLL)
    };
    let mut tx = pool.begin().await.unwrap();
    for _ in 0..200 {
        let first = shared::queue::NewTask::new(
            worker::NoopHandler::KIND,
            serde_json::json!({ "chain": 2 }),
        );
        shared::queue::enqueue(&mut tx, &first).await.unwrap();
    }
    tx.commit().await.unwrap();
    let handle =
        tokio::spawn(worker::Worker::new(pool.clone(), registry, config).run(shutdown.clone()));

    completed(
        &pool,
        600,
        "200 chains of three hops to complete",
        Duration::from_secs(30),
    )
    .await;
    shutdown.cancel();
    handle.await.unwrap().unwrap();

    assert_eq!(
        count(&pool, "SELECT count(*) FROM tasks").await,
        600,
        "no hop enqueued twice"
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM task_attempts WHERE outcome = 'succeeded'"
        )
        .await,
        600
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM tasks WHERE payload = '{\"chain\": 0}'"
        )
        .await,
        200,
        "every chain reached its last hop"
    );
    // Completions written in one statement share its transaction's now().
    let commits = count(&pool, "SELECT count(DISTINCT finished_at) FROM tasks").await;
    assert!(
        commits < 300,
        "600 completions took {commits} commits: they were not batched"
    );
}

/// Names its successor with `enqueue_next` and completes itself, so its own
/// worker takes the successor.
struct HandsOff;

#[async_trait]
impl StepHandler for HandsOff {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        let hop = task.payload["hop"].as_i64().unwrap_or(0);
        if hop < 2 {
            ctx.enqueue_next(NewTask::new(KIND, serde_json::json!({ "hop": hop + 1 })));
        }
        ctx.complete_with(Session::begin(ctx.pool()).await?).await
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_successor_handed_to_the_worker_runs_without_being_claimed(pool: sqlx::PgPool) {
    // A poll far beyond the test: successors must not wait for one.
    let worker = RunningWorker::start(&pool, HandsOff, config(Duration::from_secs(600)));

    let first = enqueue(&pool, serde_json::json!({ "hop": 0 }), 3).await;
    completed(
        &pool,
        3,
        "the three hops to complete",
        Duration::from_secs(20),
    )
    .await;
    worker.shut_down().await;

    // Claimed at birth: the successors' first attempt began in the very
    // transaction that wrote them.
    let handed_off = count(
        &pool,
        &format!(
            "SELECT count(*) FROM tasks t JOIN task_attempts a ON a.task_id = t.id
             WHERE t.id <> {first} AND a.attempt = 1 AND a.started_at = t.created_at
               AND a.worker_id = 'test-worker' AND a.outcome = 'succeeded'"
        ),
    )
    .await;
    assert_eq!(handed_off, 2);
    assert_eq!(count(&pool, "SELECT count(*) FROM tasks").await, 3);
}

/// Names a successor and then fails on its first attempt; names it again
/// and completes on its second.
struct ChangesItsMind(Arc<AtomicU32>);

#[async_trait]
impl StepHandler for ChangesItsMind {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        if task.payload["hop"].as_i64() == Some(1) {
            return ctx.complete_with(Session::begin(ctx.pool()).await?).await;
        }
        ctx.enqueue_next(NewTask::new(KIND, serde_json::json!({ "hop": 1 })));
        if task.attempt == 1 {
            return Err(StepError::retryable("changed its mind"));
        }
        ctx.complete_with(Session::begin(ctx.pool()).await?).await
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_successor_named_by_a_failed_attempt_is_never_written(pool: sqlx::PgPool) {
    let runs = Arc::new(AtomicU32::new(0));
    let worker = RunningWorker::start(&pool, ChangesItsMind(Arc::clone(&runs)), config(POLL));

    enqueue(&pool, serde_json::json!({ "hop": 0 }), 3).await;
    completed(&pool, 2, "both tasks to complete", Duration::from_secs(20)).await;
    worker.shut_down().await;

    assert_eq!(count(&pool, "SELECT count(*) FROM tasks").await, 2);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        3,
        "the first task twice, its one successor once"
    );
}

/// Completes through the runtime; a task marked `bad` asks for a follow-up
/// the schema refuses.
struct SometimesBadFollowUp;

#[async_trait]
impl StepHandler for SometimesBadFollowUp {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        if task.payload["bad"].as_bool() == Some(true) {
            ctx.enqueue_next(NewTask::new("Not A Kind!", serde_json::json!({})));
        }
        Ok(())
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn one_refused_follow_up_does_not_sink_the_completions_batched_with_it(pool: sqlx::PgPool) {
    let mut tx = pool.begin().await.unwrap();
    for i in 0..40 {
        let task = NewTask::new(KIND, serde_json::json!({ "bad": i == 7 })).max_attempts(3);
        queue::enqueue(&mut tx, &task).await.unwrap();
    }
    tx.commit().await.unwrap();
    let config = worker::WorkerConfig {
        concurrency: 64,
        ..config(POLL)
    };
    let worker = RunningWorker::start(&pool, SometimesBadFollowUp, config);

    completed(
        &pool,
        39,
        "the 39 good tasks to complete",
        Duration::from_secs(20),
    )
    .await;
    worker.shut_down().await;

    let bad: String =
        sqlx::query_scalar("SELECT state::text FROM tasks WHERE payload = '{\"bad\": true}'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_ne!(
        bad, "completed",
        "a completion whose follow-up was refused must not land"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM tasks").await, 40);
}
