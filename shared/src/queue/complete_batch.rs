//! Completing many attempts at once: the worker's group commit.
//!
//! Steps whose only database effect is "done, and enqueue what follows" don't
//! need a transaction each. Their completions are collected and written by
//! [`complete_batch`] in one statement (one commit, one WAL flush), each still
//! fenced on its own lease, each follow-up inserted only if its parent's
//! completion landed, and one wake-up sent for all of them.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Lease, NewTask, QueueError, TaskId, WAKEUP_CHANNEL};

/// One attempt to complete: its lease, and the tasks to enqueue if (and only
/// if) the completion lands.
#[derive(Debug, Clone)]
pub struct Completion {
    pub lease: Lease,
    pub then: Vec<NewTask>,
}

/// Completes every attempt in `completions` whose lease `worker` still holds,
/// records each as a succeeded attempt, and enqueues their follow-ups, all in
/// one statement. Returns the tasks that completed; one missing from the
/// answer had lost its lease, and neither it nor its follow-ups were written.
pub async fn complete_batch(
    conn: &mut PgConnection,
    worker: &str,
    completions: &[Completion],
) -> Result<Vec<TaskId>, QueueError> {
    if completions.is_empty() {
        return Ok(Vec::new());
    }
    let (ids, attempts): (Vec<i64>, Vec<i32>) = completions
        .iter()
        .map(|c| (c.lease.task.0, c.lease.attempt))
        .unzip();
    let follow_ups = FollowUps::of(completions);
    let completed = sqlx::query_scalar!(
        r#"
        WITH locked AS MATERIALIZED (
            -- In id order, as the heartbeat locks them: no deadlock between the two.
            SELECT id FROM tasks WHERE id = ANY ($2) ORDER BY id FOR UPDATE
        ),
        completed AS (
            UPDATE tasks AS t
            SET state = 'completed', locked_by = NULL, locked_until = NULL, finished_at = now()
            FROM unnest($2::bigint[], $3::integer[]) AS held (id, attempt)
            WHERE t.id = held.id
              AND t.id IN (SELECT id FROM locked)
              AND t.attempts = held.attempt
              AND t.state = 'running'
              AND t.locked_by = $1
            RETURNING t.id, t.attempts, t.attempted_at
        ),
        recorded AS (
            INSERT INTO task_attempts (task_id, attempt, worker_id, started_at, finished_at, outcome)
            SELECT id, attempts, $1, attempted_at, now(), 'succeeded'
            FROM completed
        ),
        enqueued AS (
            INSERT INTO tasks (kind, payload, max_attempts, run_at, order_id, traceparent,
                               concurrency_key)
            SELECT next.kind, next.payload, next.max_attempts, coalesce(next.run_at, now()),
                   next.order_id, next.traceparent, next.concurrency_key
            FROM unnest($4::bigint[], $5::text[], $6::jsonb[], $7::integer[],
                        $8::timestamptz[], $9::uuid[], $10::text[], $12::text[])
                 AS next (parent, kind, payload, max_attempts, run_at, order_id, traceparent,
                          concurrency_key)
            JOIN completed ON completed.id = next.parent
            -- A data-modifying CTE always runs to completion, RETURNING and
            -- all; PostgreSQL folds the identical notifications (one per
            -- kind) into one.
            RETURNING pg_notify($11, kind)
        )
        SELECT completed.id AS "id!: TaskId" FROM completed
        "#,
        worker,
        &ids,
        &attempts,
        &follow_ups.parent,
        &follow_ups.kind,
        &follow_ups.payload,
        &follow_ups.max_attempts,
        &follow_ups.run_at as &[Option<DateTime<Utc>>],
        &follow_ups.order_id as &[Option<Uuid>],
        &follow_ups.traceparent as &[Option<String>],
        WAKEUP_CHANNEL,
        &follow_ups.concurrency_key as &[Option<String>],
    )
    // Planned for each batch's own size: see the queue module's docs.
    .persistent(false)
    .fetch_all(conn)
    .await?;
    Ok(completed)
}

/// The follow-up tasks of a batch as column arrays, for `unnest`.
#[derive(Default)]
struct FollowUps {
    parent: Vec<i64>,
    kind: Vec<String>,
    payload: Vec<serde_json::Value>,
    max_attempts: Vec<i32>,
    run_at: Vec<Option<DateTime<Utc>>>,
    order_id: Vec<Option<Uuid>>,
    traceparent: Vec<Option<String>>,
    concurrency_key: Vec<Option<String>>,
}

impl FollowUps {
    fn of(completions: &[Completion]) -> Self {
        let mut columns = Self::default();
        for completion in completions {
            for task in &completion.then {
                columns.parent.push(completion.lease.task.0);
                columns.kind.push(task.kind.clone());
                columns.payload.push(task.payload.clone());
                columns.max_attempts.push(task.max_attempts);
                columns.run_at.push(task.run_at);
                columns.order_id.push(task.order_id);
                columns
                    .traceparent
                    .push(task.traceparent.map(|t| t.to_string()));
                columns.concurrency_key.push(task.concurrency_key.clone());
            }
        }
        columns
    }
}
