//! Claims are exclusive, ordered, bounded, and respect `run_at` and kinds.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use shared::queue::{self, NewTask, TaskId};
use sqlx::PgPool;

use crate::helpers::*;

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn eight_concurrent_claimers_complete_each_of_5000_tasks_exactly_once(pool: PgPool) {
    let enqueued: HashSet<TaskId> = enqueue_noops(&pool, 5_000, 3).await.into_iter().collect();

    let claimers = (0..8).map(|i| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let me = worker(&format!("claimer-{i}"));
            let mut completed = Vec::new();
            loop {
                let mut conn = pool.acquire().await.expect("connection");
                let batch = queue::claim_batch(&mut conn, &me, &kinds(), 25, LEASE)
                    .await
                    .expect("claim");
                if batch.is_empty() {
                    return completed;
                }
                for task in batch {
                    queue::complete_if_running(&mut conn, &task.lease)
                        .await
                        .expect("complete");
                    completed.push(task.id);
                }
            }
        })
    });
    let mut completed = Vec::new();
    for claimer in claimers {
        completed.extend(claimer.await.expect("claimer panicked"));
    }

    let unique: HashSet<TaskId> = completed.iter().copied().collect();
    assert_eq!(
        completed.len(),
        5_000,
        "some task was completed twice or never"
    );
    assert_eq!(unique, enqueued);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM tasks WHERE state = 'completed' AND attempts = 1"
        )
        .await,
        5_000
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM task_attempts WHERE outcome = 'succeeded'"
        )
        .await,
        5_000
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM tasks WHERE state <> 'completed'"
        )
        .await,
        0
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_claim_takes_due_tasks_oldest_first_up_to_its_limit(pool: PgPool) {
    let mut tx = pool.begin().await.unwrap();
    let later = queue::enqueue(
        &mut tx,
        &NewTask::new(KIND, serde_json::json!({})).run_at(Utc::now() + chrono::Duration::hours(1)),
    )
    .await
    .unwrap();
    let second = queue::enqueue(
        &mut tx,
        &NewTask::new(KIND, serde_json::json!({}))
            .run_at(Utc::now() - chrono::Duration::seconds(10)),
    )
    .await
    .unwrap();
    let first = queue::enqueue(
        &mut tx,
        &NewTask::new(KIND, serde_json::json!({}))
            .run_at(Utc::now() - chrono::Duration::seconds(20)),
    )
    .await
    .unwrap();
    let other_kind = queue::enqueue(&mut tx, &NewTask::new("other", serde_json::json!({})))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let me = worker("w");
    let mut conn = pool.acquire().await.unwrap();
    let one = queue::claim_batch(&mut conn, &me, &kinds(), 1, LEASE)
        .await
        .unwrap();
    assert_eq!(one.iter().map(|t| t.id).collect::<Vec<_>>(), [first]);
    assert_eq!(one[0].attempt, 1);
    assert_eq!(one[0].lease.worker.as_ref(), "w");

    let rest = queue::claim_batch(&mut conn, &me, &kinds(), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(
        rest.iter().map(|t| t.id).collect::<Vec<_>>(),
        [second],
        "future and foreign-kind tasks must wait"
    );
    assert_eq!(task(&pool, later).await.state, "available");
    assert_eq!(task(&pool, other_kind).await.state, "available");
    assert_eq!(task(&pool, first).await.locked_by.as_deref(), Some("w"));
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn unstarted_claims_go_back_without_using_an_attempt(pool: PgPool) {
    let ids = enqueue_noops(&pool, 3, 3).await;
    let me = worker("leaving");
    let mut conn = pool.acquire().await.unwrap();
    let claimed = queue::claim_batch(&mut conn, &me, &kinds(), 3, LEASE)
        .await
        .unwrap();
    let leases: Vec<_> = claimed.into_iter().map(|t| t.lease).collect();

    let returned = queue::return_unstarted(&mut conn, &me, &leases)
        .await
        .unwrap();

    assert_eq!(returned, 3);
    for id in ids {
        let row = task(&pool, id).await;
        assert_eq!(
            (row.state.as_str(), row.attempts, row.locked_by),
            ("available", 0, None)
        );
    }
    let again = queue::claim_batch(
        &mut conn,
        &worker("next"),
        &kinds(),
        3,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    // The same three, each still on its first attempt.
    assert_eq!(again.len(), 3);
    assert!(again.iter().all(|t| t.attempt == 1));
}

/// The claim's cached generic plan (PostgreSQL's choice after five runs of a
/// prepared statement) reads the claim index, however many tasks wait. For a
/// while it sorted a sequential scan of the whole table instead, 49 ms a
/// claim at 200,000 tasks: the planner had estimated the paused-kinds filter
/// at one row. This asks the server for the plan of the very statement
/// `claim_batch` prepared.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_claims_generic_plan_reads_the_claim_index(pool: PgPool) {
    sqlx::query(
        "INSERT INTO tasks (kind, payload, max_attempts)
         SELECT $1, '{}', 3 FROM generate_series(1, 20000)",
    )
    .bind(KIND)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE tasks").execute(&pool).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET plan_cache_mode = force_generic_plan")
        .execute(&mut *conn)
        .await
        .unwrap();
    queue::claim_batch(&mut conn, &worker("planner"), &kinds(), 1, LEASE)
        .await
        .unwrap();

    let prepared: String = sqlx::query_scalar(
        "SELECT name FROM pg_prepared_statements
         WHERE statement LIKE '%WITH claimable%'
           AND statement NOT LIKE '%pg_prepared_statements%'",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(&format!(
        "EXPLAIN EXECUTE {prepared}('planner', ARRAY['{KIND}'], 1, 30)"
    ))
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("tasks_claim_idx"), "{plan}");
    assert!(!plan.contains("Seq Scan on tasks"), "{plan}");
}
