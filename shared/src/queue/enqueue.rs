//! Putting tasks on the queue, inside the caller's transaction.

use sqlx::PgConnection;

use super::{NewTask, QueueError, TaskId, WAKEUP_CHANNEL};

/// Inserts `task` and notifies [`WAKEUP_CHANNEL`], both in the caller's
/// transaction: the task exists, and idle workers wake, only if it commits.
/// PostgreSQL folds the identical notifications of one transaction into one,
/// so enqueueing several tasks in a transaction still wakes workers once.
pub async fn enqueue(conn: &mut PgConnection, task: &NewTask) -> Result<TaskId, QueueError> {
    let id = sqlx::query_scalar!(
        r#"
        WITH inserted AS (
            INSERT INTO tasks (kind, payload, max_attempts, run_at, order_id, traceparent)
            VALUES ($1, $2, $3, coalesce($4, now()), $6, $7)
            RETURNING id
        )
        SELECT inserted.id AS "id!: TaskId"
        FROM inserted, pg_notify($5, '')
        "#,
        task.kind,
        task.payload,
        task.max_attempts,
        task.run_at,
        WAKEUP_CHANNEL,
        task.order_id,
        task.traceparent.map(|t| t.to_string()),
    )
    .fetch_one(conn)
    .await?;
    Ok(id)
}
