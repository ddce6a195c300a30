//! Retention prunes old completed tasks with their attempts, and keeps the rest.

use std::time::Duration;

use shared::queue;
use sqlx::PgPool;

use crate::helpers::*;

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn completed_tasks_past_retention_are_deleted_in_batches_and_dead_ones_kept(pool: PgPool) {
    enqueue_noops(&pool, 25, 1).await;
    let me = worker("w");
    let mut conn = pool.acquire().await.unwrap();
    let claimed = queue::claim_batch(&mut conn, &me, &kinds(), 25, LEASE)
        .await
        .unwrap();
    for task in &claimed[..20] {
        queue::complete_if_running(&mut conn, &task.lease)
            .await
            .unwrap();
    }
    for task in &claimed[20..] {
        queue::kill_if_running(&mut conn, &task.lease, "boom")
            .await
            .unwrap();
    }
    // 15 of the completed tasks finished two days ago.
    sqlx::query(
        "UPDATE tasks SET finished_at = now() - interval '2 days'
         WHERE id IN (SELECT id FROM tasks WHERE state = 'completed' ORDER BY id LIMIT 15)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE tasks SET finished_at = now() - interval '2 days' WHERE state = 'dead'")
        .execute(&pool)
        .await
        .unwrap();

    let day = Duration::from_secs(86_400);
    let batches = [
        queue::delete_completed(&mut conn, day, 10).await.unwrap(),
        queue::delete_completed(&mut conn, day, 10).await.unwrap(),
        queue::delete_completed(&mut conn, day, 10).await.unwrap(),
    ];

    assert_eq!(batches, [10, 5, 0]);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM tasks WHERE state = 'completed'"
        )
        .await,
        5
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM tasks WHERE state = 'dead'").await,
        5
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM task_attempts").await,
        10,
        "attempts go with their task"
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn vacuum_runs_on_a_pooled_connection_and_reclaims_the_pruned_rows(pool: PgPool) {
    enqueue_noops(&pool, 50, 1).await;
    sqlx::query("DELETE FROM tasks")
        .execute(&pool)
        .await
        .unwrap();
    queue::vacuum(&pool).await.unwrap();

    let vacuumed: i64 =
        sqlx::query_scalar("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'tasks'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(vacuumed >= 1, "tasks was not vacuumed");
}
