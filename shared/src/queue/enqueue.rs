//! Putting tasks on the queue, inside the caller's transaction.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgConnection;

use super::{ClaimedTask, Lease, NewTask, QueueError, TaskId, WAKEUP_CHANNEL};

/// Inserts `task` and notifies [`WAKEUP_CHANNEL`] (with its kind), both in the caller's
/// transaction: the task exists, and idle workers wake, only if it commits.
/// PostgreSQL folds the identical notifications of one transaction into one,
/// so enqueueing several tasks of a kind in a transaction still wakes workers once.
pub async fn enqueue(conn: &mut PgConnection, task: &NewTask) -> Result<TaskId, QueueError> {
    let id = sqlx::query_scalar!(
        r#"
        WITH inserted AS (
            INSERT INTO tasks (kind, payload, max_attempts, run_at, order_id, traceparent,
                               concurrency_key)
            VALUES ($1, $2, $3, coalesce($4, now()), $6, $7, $8)
            RETURNING id
        )
        SELECT inserted.id AS "id!: TaskId"
        FROM inserted, pg_notify($5, $1)
        "#,
        task.kind,
        task.payload,
        task.max_attempts,
        task.run_at,
        WAKEUP_CHANNEL,
        task.order_id,
        task.traceparent.map(|t| t.to_string()),
        task.concurrency_key,
    )
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Inserts `task` already claimed by `worker` for `lease`: `running`, its
/// first attempt begun. For a worker that will run the task itself as soon
/// as the caller's transaction commits — a step handing its successor to
/// its own worker, which saves the successor a wake-up and a claim. Nothing
/// is notified, since no one else is meant to claim it; if the worker dies
/// before running it, the task is rescued when the lease expires, like any
/// other claim. The lease runs from the insert itself (not from the start of a
/// transaction that may have waited on locks). Fails for a task with a
/// future `run_at`: those wait their turn. Writes nothing and returns `None`
/// when the task's kind is paused (see [`super::pause`]): the caller then
/// enqueues it plainly, to wait for the resume.
pub async fn enqueue_claimed(
    conn: &mut PgConnection,
    task: &NewTask,
    worker: &Arc<str>,
    lease: Duration,
) -> Result<Option<ClaimedTask>, QueueError> {
    if task.run_at.is_some() {
        return Err(QueueError::Misuse(
            "a task with a run_at cannot be enqueued claimed; enqueue it plainly to wait its turn",
        ));
    }
    if task.concurrency_key.is_some() {
        return Err(QueueError::Misuse(
            "a task with a concurrency key cannot be enqueued claimed: its claim must count the key",
        ));
    }
    let row = sqlx::query!(
        r#"
        INSERT INTO tasks (kind, payload, max_attempts, order_id, traceparent,
                           state, attempts, locked_by, locked_until, attempted_at)
        SELECT $1, $2, $3, $4, $5,
               'running', 1, $6, clock_timestamp() + make_interval(secs => $7), now()
        -- A paused kind is not handed on: the caller enqueues it to wait.
        WHERE NOT EXISTS (SELECT 1 FROM queue_held_kinds WHERE kind = $1)
        RETURNING id AS "id: TaskId", attempts, created_at
        "#,
        task.kind,
        task.payload,
        task.max_attempts,
        task.order_id,
        task.traceparent.map(|t| t.to_string()),
        &**worker,
        lease.as_secs_f64(),
    )
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(ClaimedTask {
        id: row.id,
        kind: task.kind.clone(),
        payload: task.payload.clone(),
        attempt: row.attempts,
        max_attempts: task.max_attempts,
        order_id: task.order_id,
        traceparent: task.traceparent,
        created_at: row.created_at,
        lease: Lease {
            task: row.id,
            worker: Arc::clone(worker),
            attempt: row.attempts,
        },
        order: None,
    }))
}
