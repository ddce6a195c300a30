//! Rescuing tasks whose worker stopped renewing its lease (it crashed, hung,
//! or lost its network). Any worker may rescue; rows another rescuer already
//! holds are skipped, so concurrent rescuers split the work between them.

use sqlx::PgConnection;

use super::{QueueError, TaskId, TaskState};

/// A task taken back from a worker whose lease had expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rescued {
    pub id: TaskId,
    pub kind: String,
    pub payload: serde_json::Value,
    /// The attempt that was lost.
    pub attempt: i32,
    /// The worker that held the lease.
    pub worker: String,
    /// `available` (it runs again now) or `dead` (that was its last attempt).
    pub state: TaskState,
    /// The error recorded for the lost attempt.
    pub error: String,
}

/// Returns up to `limit` tasks whose leases have expired to `available`, or
/// to `dead` when their attempts are spent; the lost attempt counts as a
/// failure with the error "lease expired".
pub async fn rescue_expired(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<Rescued>, QueueError> {
    let rows = sqlx::query!(
        r#"
        WITH expired AS MATERIALIZED (
            SELECT id, locked_by, attempted_at
            FROM tasks
            WHERE state = 'running' AND locked_until < now()
            ORDER BY locked_until
            LIMIT $1
            FOR UPDATE SKIP LOCKED
        ),
        rescued AS (
            UPDATE tasks AS t
            SET state = CASE WHEN t.attempts >= t.max_attempts
                             THEN 'dead'::task_state ELSE 'available'::task_state END,
                finished_at = CASE WHEN t.attempts >= t.max_attempts THEN now() END,
                run_at = now(),
                locked_by = NULL,
                locked_until = NULL,
                last_error = 'lease expired: worker ' || expired.locked_by || ' stopped renewing it'
            FROM expired
            WHERE t.id = expired.id
            RETURNING t.id, t.kind, t.payload, t.attempts, t.state, t.last_error,
                      expired.locked_by, expired.attempted_at
        ),
        recorded AS (
            INSERT INTO task_attempts
                (task_id, attempt, worker_id, started_at, finished_at, outcome, error)
            SELECT id, attempts, locked_by, attempted_at, now(), 'lease_expired', last_error
            FROM rescued
        )
        SELECT id AS "id: TaskId", kind, payload, attempts, state AS "state: TaskState",
               locked_by AS "worker!", last_error AS "error!"
        FROM rescued
        "#,
        limit,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Rescued {
            id: row.id,
            kind: row.kind,
            payload: row.payload,
            attempt: row.attempts,
            worker: row.worker,
            state: row.state,
            error: row.error,
        })
        .collect())
}
