//! Leases: renewed while held, rescued when they expire, and fencing every
//! write of a worker that lost one.

use std::collections::HashSet;
use std::time::Duration;

use shared::queue::{self, NewTask, QueueError, TaskState};
use sqlx::PgPool;

use crate::helpers::*;

const SHORT_LEASE: Duration = Duration::from_millis(200);

/// Waits until every running task's lease has expired by the database clock.
async fn leases_expire(pool: &PgPool) {
    eventually("leases to expire", Duration::from_secs(10), || async {
        let left = count(
            pool,
            "SELECT count(*) FROM tasks WHERE state = 'running' AND locked_until >= now()",
        )
        .await;
        (left == 0).then_some(())
    })
    .await;
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_silent_workers_task_is_rescued_and_its_late_completion_writes_nothing(pool: PgPool) {
    let [id] = enqueue_noops(&pool, 1, 5).await[..] else {
        panic!("one task")
    };
    let (first, second) = (worker("first"), worker("second"));
    let mut conn = pool.acquire().await.unwrap();
    let claimed = queue::claim_batch(&mut conn, &first, &kinds(), 1, SHORT_LEASE)
        .await
        .unwrap();
    let stale_lease = claimed[0].lease.clone();

    // `first` goes silent: no heartbeat. Its lease runs out and is rescued.
    leases_expire(&pool).await;
    let rescued = queue::rescue_expired(&mut conn, 100).await.unwrap();
    assert_eq!(rescued.len(), 1);
    assert_eq!(
        (
            rescued[0].id,
            rescued[0].attempt,
            rescued[0].worker.as_str()
        ),
        (id, 1, "first")
    );
    assert_eq!(rescued[0].state, TaskState::Available);

    let reclaimed = queue::claim_batch(&mut conn, &second, &kinds(), 1, LEASE)
        .await
        .unwrap();
    assert_eq!(reclaimed[0].attempt, 2);
    queue::complete_if_running(&mut conn, &reclaimed[0].lease)
        .await
        .unwrap();

    // `first` wakes up and tries to finish, along with a write of its own.
    let mut tx = pool.begin().await.unwrap();
    queue::enqueue(&mut tx, &NewTask::new("follow_up", serde_json::json!({})))
        .await
        .unwrap();
    let late = queue::complete_if_running(&mut tx, &stale_lease).await;
    assert!(
        matches!(late, Err(QueueError::LeaseLost { attempt: 1, .. })),
        "{late:?}"
    );
    tx.rollback().await.unwrap();
    assert!(matches!(
        queue::retry_if_running(&mut conn, &stale_lease, "late", Duration::ZERO).await,
        Err(QueueError::LeaseLost { .. })
    ));
    assert!(matches!(
        queue::kill_if_running(&mut conn, &stale_lease, "late").await,
        Err(QueueError::LeaseLost { .. })
    ));

    let row = task(&pool, id).await;
    assert_eq!((row.state.as_str(), row.attempts), ("completed", 2));
    assert_eq!(
        count(&pool, "SELECT count(*) FROM tasks WHERE kind = 'follow_up'").await,
        0
    );
    let history = attempts(&pool, id).await;
    assert_eq!(
        history
            .iter()
            .map(|a| (a.attempt, a.worker_id.as_str(), a.outcome.as_str()))
            .collect::<Vec<_>>(),
        [(1, "first", "lease_expired"), (2, "second", "succeeded")]
    );
    assert!(
        history[0]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("lease expired")
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_renewed_lease_is_not_rescued(pool: PgPool) {
    enqueue_noops(&pool, 2, 5).await;
    let me = worker("alive");
    let mut conn = pool.acquire().await.unwrap();
    let claimed = queue::claim_batch(&mut conn, &me, &kinds(), 2, SHORT_LEASE)
        .await
        .unwrap();
    let leases: Vec<_> = claimed.iter().map(|t| t.lease.clone()).collect();

    let renewed = queue::extend_leases(&mut conn, &me, &leases, LEASE)
        .await
        .unwrap();
    assert_eq!(renewed.len(), 2);
    // Another worker's name, or a stale attempt number, renews nothing.
    assert!(
        queue::extend_leases(&mut conn, "impostor", &leases, LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    let mut stale = leases[0].clone();
    stale.attempt += 1;
    assert!(
        queue::extend_leases(&mut conn, &me, &[stale], LEASE)
            .await
            .unwrap()
            .is_empty()
    );

    // Wait, by the database's clock, until the original 200 ms lease is long past.
    eventually("the original lease to pass", Duration::from_secs(10), || async {
        let past = count(&pool, "SELECT count(*) FROM tasks WHERE clock_timestamp() > attempted_at + interval '400 ms'").await;
        (past == 2).then_some(())
    })
    .await;
    assert!(
        queue::rescue_expired(&mut conn, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM tasks WHERE state = 'running'").await,
        2
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn concurrent_rescuers_split_the_expired_tasks_without_double_counting(pool: PgPool) {
    enqueue_noops(&pool, 300, 5).await;
    let mut conn = pool.acquire().await.unwrap();
    queue::claim_batch(&mut conn, &worker("crashed"), &kinds(), 300, SHORT_LEASE)
        .await
        .unwrap();
    drop(conn);
    leases_expire(&pool).await;

    let rescuers = (0..4).map(|_| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let mut conn = pool.acquire().await.unwrap();
                let batch = queue::rescue_expired(&mut conn, 20).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|r| r.id));
            }
        })
    });
    let mut rescued = Vec::new();
    for rescuer in rescuers {
        rescued.extend(rescuer.await.unwrap());
    }

    assert_eq!(rescued.len(), 300);
    assert_eq!(rescued.iter().collect::<HashSet<_>>().len(), 300);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM task_attempts WHERE outcome = 'lease_expired'"
        )
        .await,
        300
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM tasks WHERE state = 'available' AND attempts = 1"
        )
        .await,
        300
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_rescued_task_on_its_last_attempt_is_dead(pool: PgPool) {
    let [id] = enqueue_noops(&pool, 1, 1).await[..] else {
        panic!("one task")
    };
    let mut conn = pool.acquire().await.unwrap();
    queue::claim_batch(&mut conn, &worker("crashed"), &kinds(), 1, SHORT_LEASE)
        .await
        .unwrap();
    leases_expire(&pool).await;

    let rescued = queue::rescue_expired(&mut conn, 10).await.unwrap();

    assert_eq!(rescued[0].state, TaskState::Dead);
    let row = task(&pool, id).await;
    assert_eq!(row.state, "dead");
    assert!(row.last_error.unwrap_or_default().contains("lease expired"));
}
