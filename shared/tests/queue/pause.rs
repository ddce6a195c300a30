//! A paused kind is claimed by neither claim nor handed on claimed; the
//! pause is kept as first made; a resume wakes idle workers and its tasks
//! are claimed again, the oldest first.

use std::time::Duration;

use shared::queue::{self, NewTask, WAKEUP_CHANNEL};
use sqlx::PgPool;
use sqlx::postgres::PgListener;

use crate::helpers::*;

/// Another kind, never paused here: the pause must not touch it.
const OTHER: &str = "other";

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_paused_kind_waits_and_the_others_run(pool: PgPool) {
    let paused_ids = enqueue_noops(&pool, 3, 5).await;
    let mut conn = pool.acquire().await.unwrap();
    let other = queue::enqueue(&mut conn, &NewTask::new(OTHER, serde_json::json!({})))
        .await
        .unwrap();
    let pause = queue::pause(&mut conn, KIND, "ops-key").await.unwrap();
    assert_eq!(
        (pause.kind.as_str(), pause.paused_by.as_str()),
        (KIND, "ops-key")
    );

    let both = vec![KIND.to_owned(), OTHER.to_owned()];
    let claimed = queue::claim_batch(&mut conn, &worker("w"), &both, 10, LEASE)
        .await
        .unwrap();
    assert_eq!(claimed.iter().map(|t| t.id).collect::<Vec<_>>(), [other]);
    let keyed = queue::claim_batch_keyed(&mut conn, &worker("w"), &both, 10, LEASE, 8)
        .await
        .unwrap();
    assert!(keyed.is_empty(), "{keyed:?}");

    // Pausing again keeps the first pause.
    let again = queue::pause(&mut conn, KIND, "someone-else").await.unwrap();
    assert_eq!(again, pause);
    assert_eq!(queue::paused(&mut conn).await.unwrap(), [pause]);

    assert!(queue::resume(&mut conn, KIND).await.unwrap());
    assert!(!queue::resume(&mut conn, KIND).await.unwrap());
    let claimed = queue::claim_batch(&mut conn, &worker("w"), &kinds(), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(claimed.iter().map(|t| t.id).collect::<Vec<_>>(), paused_ids);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_keyed_claim_skips_a_paused_kind(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let keyed = NewTask::new(KIND, serde_json::json!({})).concurrency_key("endpoint-1");
    queue::enqueue(&mut conn, &keyed).await.unwrap();
    queue::pause(&mut conn, KIND, "ops-key").await.unwrap();

    let claimed = queue::claim_batch_keyed(&mut conn, &worker("w"), &kinds(), 10, LEASE, 8)
        .await
        .unwrap();
    assert!(claimed.is_empty(), "{claimed:?}");

    queue::resume(&mut conn, KIND).await.unwrap();
    let claimed = queue::claim_batch_keyed(&mut conn, &worker("w"), &kinds(), 10, LEASE, 8)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_paused_kind_is_not_handed_on_claimed(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    queue::pause(&mut conn, KIND, "ops-key").await.unwrap();
    let task = NewTask::new(KIND, serde_json::json!({}));

    let handed = queue::enqueue_claimed(&mut conn, &task, &worker("w"), LEASE)
        .await
        .unwrap();
    assert!(handed.is_none(), "{handed:?}");
    assert_eq!(count(&pool, "SELECT count(*) FROM tasks").await, 0);

    queue::resume(&mut conn, KIND).await.unwrap();
    let handed = queue::enqueue_claimed(&mut conn, &task, &worker("w"), LEASE)
        .await
        .unwrap();
    assert!(handed.is_some());
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_resume_wakes_idle_workers(pool: PgPool) {
    let mut listener = PgListener::connect_with(&pool).await.unwrap();
    listener.listen(WAKEUP_CHANNEL).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    queue::pause(&mut conn, KIND, "ops-key").await.unwrap();

    queue::resume(&mut conn, KIND).await.unwrap();

    tokio::time::timeout(Duration::from_secs(10), listener.recv())
        .await
        .expect("a wake-up within 10 s of the resume")
        .unwrap();
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn admission_does_not_count_a_paused_backlog(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let old = NewTask::new(KIND, serde_json::json!({}))
        .run_at(chrono::Utc::now() - chrono::Duration::minutes(10));
    queue::enqueue(&mut conn, &old).await.unwrap();
    assert!(queue::oldest_due_wait_secs(&mut conn).await.unwrap() > 500.0);

    queue::pause(&mut conn, KIND, "ops-key").await.unwrap();

    assert_eq!(queue::oldest_due_wait_secs(&mut conn).await.unwrap(), 0.0);
}
