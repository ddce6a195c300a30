//! Ending an attempt: completion, retry, or death. Each is one statement that
//! changes the task only if it is still `running` under the caller's lease,
//! and records the attempt in `task_attempts`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{AttemptOutcome, Lease, QueueError, TaskState};

/// Marks the leased task `completed`. Call it in the transaction that writes
/// the step's effects: [`QueueError::LeaseLost`] means roll them back.
pub async fn complete_if_running(conn: &mut PgConnection, lease: &Lease) -> Result<(), QueueError> {
    let recorded = sqlx::query_scalar!(
        r#"
        WITH completed AS (
            UPDATE tasks
            SET state = 'completed', locked_by = NULL, locked_until = NULL, finished_at = now()
            WHERE id = $1 AND state = 'running' AND locked_by = $2 AND attempts = $3
            RETURNING id, attempts, attempted_at
        )
        INSERT INTO task_attempts (task_id, attempt, worker_id, started_at, finished_at, outcome)
        SELECT id, attempts, $2, attempted_at, now(), 'succeeded'
        FROM completed
        RETURNING task_id
        "#,
        lease.task.0,
        &*lease.worker,
        lease.attempt,
    )
    .fetch_optional(conn)
    .await?;
    recorded.map(drop).ok_or_else(|| lease_lost(lease))
}

/// Where a failed attempt left its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryOutcome {
    /// It runs again at this time.
    Scheduled(DateTime<Utc>),
    /// That was its last attempt: it is dead.
    Dead,
}

/// Records a transient failure: the task is `available` again after `delay`,
/// or `dead` when this was its last attempt.
pub async fn retry_if_running(
    conn: &mut PgConnection,
    lease: &Lease,
    error: &str,
    delay: Duration,
) -> Result<RetryOutcome, QueueError> {
    end_attempt_early(conn, lease, error, delay, AttemptOutcome::Retried).await
}

/// Hands back a step that was cut short by its worker shutting down: the task
/// is `available` again at once (or `dead`, when that was its last attempt),
/// and the attempt counts, as `interrupted`, because the step may have done
/// part of its work.
pub async fn interrupt_if_running(
    conn: &mut PgConnection,
    lease: &Lease,
) -> Result<RetryOutcome, QueueError> {
    let error = "interrupted: the worker shut down before the step finished";
    end_attempt_early(
        conn,
        lease,
        error,
        Duration::ZERO,
        AttemptOutcome::Interrupted,
    )
    .await
}

/// An attempt that ended without success: the task runs again after `delay`
/// (the attempt recorded as `outcome`) unless it was the last attempt.
async fn end_attempt_early(
    conn: &mut PgConnection,
    lease: &Lease,
    error: &str,
    delay: Duration,
    outcome: AttemptOutcome,
) -> Result<RetryOutcome, QueueError> {
    let row = sqlx::query!(
        r#"
        WITH failed AS (
            UPDATE tasks
            SET state = CASE WHEN attempts >= max_attempts
                             THEN 'dead'::task_state ELSE 'available'::task_state END,
                run_at = CASE WHEN attempts >= max_attempts
                              THEN run_at ELSE now() + make_interval(secs => $5) END,
                finished_at = CASE WHEN attempts >= max_attempts THEN now() END,
                locked_by = NULL,
                locked_until = NULL,
                last_error = $4
            WHERE id = $1 AND state = 'running' AND locked_by = $2 AND attempts = $3
            RETURNING id, attempts, attempted_at, state, run_at
        ),
        recorded AS (
            INSERT INTO task_attempts
                (task_id, attempt, worker_id, started_at, finished_at, outcome, error)
            SELECT id, attempts, $2, attempted_at, now(),
                   CASE WHEN state = 'dead' THEN 'failed'::attempt_outcome
                        ELSE $6 END,
                   $4
            FROM failed
        )
        SELECT state AS "state: TaskState", run_at FROM failed
        "#,
        lease.task.0,
        &*lease.worker,
        lease.attempt,
        error,
        delay.as_secs_f64(),
        outcome as AttemptOutcome,
    )
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| lease_lost(lease))?;
    Ok(match row.state {
        TaskState::Dead => RetryOutcome::Dead,
        _ => RetryOutcome::Scheduled(row.run_at),
    })
}

/// Records a permanent failure: the task is `dead` with `error`, whatever
/// attempts it had left. An operator can bring it back with `retry_dead`.
pub async fn kill_if_running(
    conn: &mut PgConnection,
    lease: &Lease,
    error: &str,
) -> Result<(), QueueError> {
    let recorded = sqlx::query_scalar!(
        r#"
        WITH killed AS (
            UPDATE tasks
            SET state = 'dead', locked_by = NULL, locked_until = NULL,
                finished_at = now(), last_error = $4
            WHERE id = $1 AND state = 'running' AND locked_by = $2 AND attempts = $3
            RETURNING id, attempts, attempted_at
        )
        INSERT INTO task_attempts
            (task_id, attempt, worker_id, started_at, finished_at, outcome, error)
        SELECT id, attempts, $2, attempted_at, now(), 'failed', $4
        FROM killed
        RETURNING task_id
        "#,
        lease.task.0,
        &*lease.worker,
        lease.attempt,
        error,
    )
    .fetch_optional(conn)
    .await?;
    recorded.map(drop).ok_or_else(|| lease_lost(lease))
}

fn lease_lost(lease: &Lease) -> QueueError {
    QueueError::LeaseLost {
        task: lease.task,
        attempt: lease.attempt,
    }
}
