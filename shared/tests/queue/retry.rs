//! Retries follow the backoff formula, spend the task's attempts, end dead
//! with the last error, and an operator can bring a dead task back, or
//! cancel one that waits.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde_json::json;
use shared::queue::{self, Backoff, NewTask, QueueError, RetryOutcome, TaskId};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::*;

/// Makes a scheduled retry due now, as if its backoff had passed.
async fn fast_forward(pool: &PgPool, id: TaskId) {
    sqlx::query("UPDATE tasks SET run_at = now() WHERE id = $1")
        .bind(id.0)
        .execute(pool)
        .await
        .unwrap();
}

/// The delay the database recorded between an attempt's end and the retry.
async fn scheduled_delay(pool: &PgPool, id: TaskId, attempt: i32) -> Duration {
    let secs: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM t.run_at - a.finished_at)::float8
         FROM tasks t JOIN task_attempts a ON a.task_id = t.id
         WHERE t.id = $1 AND a.attempt = $2",
    )
    .bind(id.0)
    .bind(attempt)
    .fetch_one(pool)
    .await
    .unwrap();
    Duration::from_secs_f64(secs)
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn retries_back_off_within_the_jitter_bounds_then_the_task_dies_with_its_last_error(
    pool: PgPool,
) {
    let backoff = Backoff::default();
    let [id] = enqueue_noops(&pool, 1, 4).await[..] else {
        panic!("one task")
    };
    let me = worker("w");
    let mut conn = pool.acquire().await.unwrap();

    for attempt in 1..=3 {
        let claimed = queue::claim_batch(&mut conn, &me, &kinds(), 1, LEASE)
            .await
            .unwrap();
        assert_eq!(claimed[0].attempt, attempt);
        let outcome = queue::retry_if_running(
            &mut conn,
            &claimed[0].lease,
            &format!("gateway timeout #{attempt}"),
            backoff.delay(attempt),
        )
        .await
        .unwrap();
        assert!(matches!(outcome, RetryOutcome::Scheduled(_)));

        let delay = scheduled_delay(&pool, id, attempt).await;
        let ceiling = backoff.ceiling(attempt);
        let slack = Duration::from_millis(1);
        assert!(
            delay + slack >= ceiling / 2 && delay <= ceiling + slack,
            "attempt {attempt}: delay {delay:?} outside [{:?}, {ceiling:?}]",
            ceiling / 2
        );
        // Not due yet: nothing to claim until the backoff passes.
        assert!(
            queue::claim_batch(&mut conn, &me, &kinds(), 1, LEASE)
                .await
                .unwrap()
                .is_empty()
        );
        fast_forward(&pool, id).await;
    }

    let last = queue::claim_batch(&mut conn, &me, &kinds(), 1, LEASE)
        .await
        .unwrap();
    assert!(last[0].is_last_attempt());
    let outcome = queue::retry_if_running(
        &mut conn,
        &last[0].lease,
        "gateway timeout #4",
        backoff.delay(4),
    )
    .await
    .unwrap();

    assert_eq!(outcome, RetryOutcome::Dead);
    let row = task(&pool, id).await;
    assert_eq!((row.state.as_str(), row.attempts), ("dead", 4));
    assert_eq!(row.last_error.as_deref(), Some("gateway timeout #4"));
    let outcomes: Vec<_> = attempts(&pool, id)
        .await
        .into_iter()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(outcomes, ["retried", "retried", "retried", "failed"]);
    assert!(
        queue::claim_batch(&mut conn, &me, &kinds(), 1, LEASE)
            .await
            .unwrap()
            .is_empty()
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_permanent_failure_kills_the_task_whatever_attempts_remain(pool: PgPool) {
    let [id] = enqueue_noops(&pool, 1, 10).await[..] else {
        panic!("one task")
    };
    let mut conn = pool.acquire().await.unwrap();
    let claimed = queue::claim_batch(&mut conn, &worker("w"), &kinds(), 1, LEASE)
        .await
        .unwrap();

    queue::kill_if_running(&mut conn, &claimed[0].lease, "card declined")
        .await
        .unwrap();

    let row = task(&pool, id).await;
    assert_eq!(
        (row.state.as_str(), row.attempts, row.last_error.as_deref()),
        ("dead", 1, Some("card declined"))
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_operator_retries_a_dead_task_and_its_history_is_kept(pool: PgPool) {
    let [id] = enqueue_noops(&pool, 1, 1).await[..] else {
        panic!("one task")
    };
    let me = worker("w");
    let mut conn = pool.acquire().await.unwrap();
    let claimed = queue::claim_batch(&mut conn, &me, &kinds(), 1, LEASE)
        .await
        .unwrap();
    queue::retry_if_running(&mut conn, &claimed[0].lease, "smtp down", Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(task(&pool, id).await.state, "dead");

    queue::retry_dead(&mut conn, id).await.unwrap();

    let row = task(&pool, id).await;
    assert_eq!(
        (row.state.as_str(), row.attempts, row.max_attempts),
        ("available", 1, 2)
    );
    let again = queue::claim_batch(&mut conn, &me, &kinds(), 1, LEASE)
        .await
        .unwrap();
    assert_eq!(again[0].attempt, 2);
    queue::complete_if_running(&mut conn, &again[0].lease)
        .await
        .unwrap();
    let outcomes: Vec<_> = attempts(&pool, id)
        .await
        .into_iter()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(outcomes, ["failed", "succeeded"]);

    assert!(matches!(
        queue::retry_dead(&mut conn, id).await,
        Err(QueueError::NotDead(_))
    ));
    assert!(matches!(
        queue::retry_dead(&mut conn, TaskId(999_999)).await,
        Err(QueueError::NotFound(_))
    ));
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_operator_cancels_a_waiting_task_but_not_a_saga_step_or_a_delivery(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let enqueue = |task: NewTask| {
        let pool = pool.clone();
        async move {
            let mut conn = pool.acquire().await.unwrap();
            queue::enqueue(&mut conn, &task).await.unwrap()
        }
    };
    let waiting = enqueue(NewTask::new(KIND, json!({}))).await;
    let later =
        enqueue(NewTask::new(KIND, json!({})).run_at(Utc::now() + TimeDelta::hours(1))).await;
    let order = Uuid::now_v7();
    let step = enqueue(NewTask::new(KIND, json!({})).for_order(order)).await;
    let delivery = enqueue(NewTask::new(shared::webhooks::DELIVER_KIND, json!({}))).await;

    // Waiting, due or not: cancelled, and never claimed.
    queue::cancel_waiting(&mut conn, waiting).await.unwrap();
    queue::cancel_waiting(&mut conn, later).await.unwrap();
    for id in [waiting, later] {
        assert_eq!(task(&pool, id).await.state, "cancelled");
    }
    // What a bare cancel would strand is refused, and left as it was.
    assert!(matches!(
        queue::cancel_waiting(&mut conn, step).await,
        Err(QueueError::OrderStep { task, order: o }) if task == step && o == order
    ));
    assert!(matches!(
        queue::cancel_waiting(&mut conn, delivery).await,
        Err(QueueError::WebhookDelivery(id)) if id == delivery
    ));
    let claimed = queue::claim_batch(
        &mut conn,
        &worker("w"),
        &[KIND.to_owned(), shared::webhooks::DELIVER_KIND.to_owned()],
        10,
        LEASE,
    )
    .await
    .unwrap();
    let mut claimed: Vec<TaskId> = claimed.iter().map(|t| t.id).collect();
    claimed.sort_by_key(|id| id.0);
    assert_eq!(claimed, [step, delivery]);

    // Running or finished: not waiting. Unknown: not found.
    assert!(matches!(
        queue::cancel_waiting(&mut conn, step).await,
        Err(QueueError::NotWaiting(_))
    ));
    assert!(matches!(
        queue::cancel_waiting(&mut conn, waiting).await,
        Err(QueueError::NotWaiting(_))
    ));
    assert!(matches!(
        queue::cancel_waiting(&mut conn, TaskId(999_999)).await,
        Err(QueueError::NotFound(_))
    ));
}
