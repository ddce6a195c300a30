//! Batched completion: one statement completes many leases, each fenced on
//! its own, and enqueues a completion's follow-ups only if it landed.

use std::time::Duration;

use shared::queue::{self, ClaimedTask, Completion, NewTask};
use sqlx::PgPool;

use crate::helpers::*;

/// A completion per claimed task, each enqueueing one `next_step` that
/// names its parent.
fn each_with_a_follow_up(claimed: &[ClaimedTask]) -> Vec<Completion> {
    claimed
        .iter()
        .map(|task| Completion {
            lease: task.lease.clone(),
            then: vec![NewTask::new(
                "next_step",
                serde_json::json!({ "after": task.id }),
            )],
        })
        .collect()
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_batch_completes_every_held_lease_and_enqueues_their_follow_ups(pool: PgPool) {
    let ids = enqueue_noops(&pool, 3, 5).await;
    let me = worker("me");
    let mut conn = pool.acquire().await.unwrap();
    let claimed = queue::claim_batch(&mut conn, &me, &kinds(), 3, LEASE)
        .await
        .unwrap();
    let completions = each_with_a_follow_up(&claimed);

    let mut completed = queue::complete_batch(&mut conn, "me", &completions)
        .await
        .unwrap();
    completed.sort();

    assert_eq!(completed, ids);
    for id in &ids {
        assert_eq!(task(&pool, *id).await.state, "completed");
        let attempts = attempts(&pool, *id).await;
        assert_eq!(attempts.len(), 1);
        assert_eq!(
            (attempts[0].outcome.as_str(), attempts[0].worker_id.as_str()),
            ("succeeded", "me")
        );
    }
    let follow_ups = count(
        &pool,
        "SELECT count(*) FROM tasks WHERE kind = 'next_step' AND state = 'available'",
    )
    .await;
    assert_eq!(follow_ups, 3);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_lost_lease_in_a_batch_writes_neither_its_completion_nor_its_follow_ups(pool: PgPool) {
    let ids = enqueue_noops(&pool, 2, 5).await;
    let (first, second) = (worker("first"), worker("second"));
    let mut conn = pool.acquire().await.unwrap();
    let claimed = queue::claim_batch(&mut conn, &first, &kinds(), 2, Duration::from_millis(100))
        .await
        .unwrap();
    // Both leases expire; one task is rescued and claimed by another worker.
    eventually("leases to expire", Duration::from_secs(10), || async {
        let live = count(
            &pool,
            "SELECT count(*) FROM tasks WHERE locked_until >= now()",
        )
        .await;
        (live == 0).then_some(())
    })
    .await;
    let lost = claimed[0].id;
    sqlx::query("UPDATE tasks SET locked_until = now() + interval '1 hour' WHERE id = $1")
        .bind(claimed[1].id.0)
        .execute(&pool)
        .await
        .unwrap();
    queue::rescue_expired(&mut conn, 10).await.unwrap();
    let retaken = queue::claim_batch(&mut conn, &second, &kinds(), 1, LEASE)
        .await
        .unwrap();
    assert_eq!(retaken[0].id, lost);

    let completions = each_with_a_follow_up(&claimed);
    let completed = queue::complete_batch(&mut conn, "first", &completions)
        .await
        .unwrap();

    assert_eq!(completed, vec![claimed[1].id]);
    assert_eq!(task(&pool, lost).await.state, "running");
    assert_eq!(task(&pool, lost).await.locked_by.as_deref(), Some("second"));
    let follow_ups: Vec<serde_json::Value> =
        sqlx::query_scalar("SELECT payload FROM tasks WHERE kind = 'next_step'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        follow_ups,
        vec![serde_json::json!({ "after": claimed[1].id })]
    );
    // No attempt of the lost task was recorded as succeeded by anyone.
    let succeeded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM task_attempts WHERE task_id = $1 AND outcome = 'succeeded'",
    )
    .bind(lost.0)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(succeeded, 0);
    assert_eq!(ids.len(), 2);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_batch_that_enqueues_follow_ups_wakes_the_listeners(pool: PgPool) {
    enqueue_noops(&pool, 2, 5).await;
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool)
        .await
        .unwrap();
    listener.listen(queue::WAKEUP_CHANNEL).await.unwrap();
    let me = worker("me");
    let mut conn = pool.acquire().await.unwrap();
    let claimed = queue::claim_batch(&mut conn, &me, &kinds(), 2, LEASE)
        .await
        .unwrap();
    let completions = each_with_a_follow_up(&claimed);

    queue::complete_batch(&mut conn, "me", &completions)
        .await
        .unwrap();

    let woken = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await;
    assert!(
        matches!(woken, Ok(Ok(_))),
        "no wake-up within 5 s: {woken:?}"
    );
}
