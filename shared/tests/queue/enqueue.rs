//! Enqueue is part of the caller's transaction, and wakes listeners on commit.

use std::time::Duration;

use shared::queue::{self, NewTask, WAKEUP_CHANNEL};
use sqlx::PgPool;
use sqlx::postgres::PgListener;

use crate::helpers::*;

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_enqueue_in_a_rolled_back_transaction_leaves_nothing(pool: PgPool) {
    let mut tx = pool.begin().await.unwrap();
    queue::enqueue(&mut tx, &NewTask::new(KIND, serde_json::json!({})))
        .await
        .unwrap();
    tx.rollback().await.unwrap();

    assert_eq!(count(&pool, "SELECT count(*) FROM tasks").await, 0);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_committed_transaction_notifies_once_per_kind_however_many_tasks_it_enqueued(
    pool: PgPool,
) {
    let mut listener = PgListener::connect_with(&pool).await.unwrap();
    listener.listen(WAKEUP_CHANNEL).await.unwrap();

    let mut tx = pool.begin().await.unwrap();
    for _ in 0..3 {
        queue::enqueue(&mut tx, &NewTask::new(KIND, serde_json::json!({})))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    // A second transaction marks the end of the first one's notifications.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_notify($1, 'marker')")
        .bind(WAKEUP_CHANNEL)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut payloads = Vec::new();
    while payloads.last().map(String::as_str) != Some("marker") {
        let received = tokio::time::timeout(Duration::from_secs(10), listener.recv())
            .await
            .expect("a notification within 10 s")
            .unwrap();
        payloads.push(received.payload().to_owned());
    }
    // The payload names the kind, so that only the lanes that claim it wake.
    assert_eq!(payloads, [KIND, "marker"]);
    assert_eq!(count(&pool, "SELECT count(*) FROM tasks").await, 3);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_database_refuses_tasks_that_break_the_queue_invariants(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    for bad in [
        NewTask::new("Not A Kind!", serde_json::json!({})),
        NewTask::new(KIND, serde_json::json!({})).max_attempts(0),
    ] {
        assert!(
            queue::enqueue(&mut conn, &bad).await.is_err(),
            "{bad:?} was accepted"
        );
    }
    let running_without_lease = sqlx::query(
        "INSERT INTO tasks (kind, max_attempts, state, attempts) VALUES ('noop', 3, 'running', 1)",
    )
    .execute(&pool)
    .await;
    assert!(running_without_lease.is_err());
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_task_that_must_wait_cannot_be_enqueued_claimed(pool: PgPool) {
    let later = NewTask::new(KIND, serde_json::json!({}))
        .run_at(chrono::Utc::now() + chrono::Duration::minutes(5));
    let mut conn = pool.acquire().await.unwrap();
    let refused = queue::enqueue_claimed(
        &mut conn,
        &later,
        &std::sync::Arc::from("w"),
        Duration::from_secs(30),
    )
    .await;

    assert!(
        matches!(refused, Err(queue::QueueError::Misuse(_))),
        "{refused:?}"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM tasks").await, 0);
}
