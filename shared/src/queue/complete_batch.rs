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

/// The statement that completes a batch (`complete_batch.sql`), for the
/// lab's ceiling.
pub const COMPLETE_BATCH_SQL: &str = include_str!("complete_batch.sql");

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
    let completed = sqlx::query_file_scalar!(
        "src/queue/complete_batch.sql",
        worker,    // $1: the worker whose leases they are
        &ids,      // $2: the tasks
        &attempts, // $3: and their attempts, in the same order
        // $4 to $10 and $12: the follow-ups as columns, each with its parent.
        &follow_ups.parent,
        &follow_ups.kind,
        &follow_ups.payload,
        &follow_ups.max_attempts,
        &follow_ups.run_at as &[Option<DateTime<Utc>>],
        &follow_ups.order_id as &[Option<Uuid>],
        &follow_ups.traceparent as &[Option<String>],
        WAKEUP_CHANNEL, // $11: the channel that wakes the workers
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
