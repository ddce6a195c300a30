//! Claiming tasks, keeping their leases alive, and handing back claims that
//! were never started.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgConnection;

use super::{ClaimedTask, Lease, QueueError, TaskId};
use crate::trace::TraceParent;

/// The statement that claims due tasks (`claim.sql`), for the lab's ceiling.
pub const CLAIM_SQL: &str = include_str!("claim.sql");

/// Leases up to `limit` due tasks of the given `kinds` (less the paused
/// ones, see [`super::pause`]) to `worker` for `lease`, oldest `run_at` first. Rows another claimer has locked are
/// skipped, never waited for, so any number of workers claim concurrently and
/// no task is handed to two of them.
pub async fn claim_batch(
    conn: &mut PgConnection,
    worker: &Arc<str>,
    kinds: &[String],
    limit: i64,
    lease: Duration,
) -> Result<Vec<ClaimedTask>, QueueError> {
    let rows = sqlx::query_file_as!(
        ClaimedRow,
        "src/queue/claim.sql",
        &**worker,           // $1: the worker the leases go to
        kinds,               // $2: the kinds it claims (less the held ones)
        limit,               // $3: at most this many
        lease.as_secs_f64(), // $4: the lease, in seconds
    )
    .fetch_all(conn)
    .await?;
    Ok(claimed(rows, worker))
}

/// [`claim_batch`] for kinds whose tasks carry concurrency keys: takes a
/// key's oldest due tasks only while fewer than `per_key` of that key's
/// tasks run, so a key with a long backlog (a busy webhook endpoint) gets
/// its share and no more, and the keys behind it are not kept waiting.
/// Tasks without a key are taken as `claim_batch` takes them. Two workers
/// claiming at the same moment each count what was running before either
/// committed, so a key can briefly run up to `per_key` per claimer.
pub async fn claim_batch_keyed(
    conn: &mut PgConnection,
    worker: &Arc<str>,
    kinds: &[String],
    limit: i64,
    lease: Duration,
    per_key: i64,
) -> Result<Vec<ClaimedTask>, QueueError> {
    // Planned for this call's kinds: a generic plan cannot know them, and
    // read every available task for their keys (0.7 s a claim behind a
    // backlog of 200,000 tasks of another kind, against 0.5 ms).
    let mut tx = crate::db::custom_plans(conn).await?;
    let rows = sqlx::query_as!(
        ClaimedRow,
        r#"
        WITH keys AS (
            SELECT DISTINCT concurrency_key AS key
            FROM tasks
            -- `kind = ANY ($2)` for the planner, which knows $2 in this
            -- statement's custom plan (below) and takes the lane's index;
            -- the array less the paused kinds for the rule.
            WHERE state = 'available' AND run_at <= now() AND kind = ANY ($2)
              AND kind = ANY (ARRAY(SELECT unnest($2::text[])
                                    EXCEPT SELECT kind FROM queue_held_kinds))
        ),
        room AS (
            SELECT keys.key,
                   CASE WHEN keys.key IS NULL THEN $3
                        ELSE greatest(0, $5 - (SELECT count(*) FROM tasks r
                                               WHERE r.state = 'running'
                                                 AND r.concurrency_key = keys.key))
                   END AS free
            FROM keys
        ),
        candidates AS (
            SELECT due.id
            FROM room,
            LATERAL (
                SELECT t.id
                FROM tasks t
                WHERE t.state = 'available' AND t.run_at <= now() AND t.kind = ANY ($2)
                  AND t.kind = ANY (ARRAY(SELECT unnest($2::text[])
                                          EXCEPT SELECT kind FROM queue_held_kinds))
                  AND t.concurrency_key IS NOT DISTINCT FROM room.key
                ORDER BY t.run_at, t.id
                LIMIT room.free
            ) AS due
        ),
        claimable AS MATERIALIZED (
            SELECT id
            FROM tasks
            WHERE id IN (SELECT id FROM candidates) AND state = 'available'
            ORDER BY run_at, id
            LIMIT $3
            FOR UPDATE SKIP LOCKED
        )
        UPDATE tasks AS t
        SET state = 'running',
            attempts = t.attempts + 1,
            locked_by = $1,
            locked_until = now() + make_interval(secs => $4),
            attempted_at = now()
        WHERE t.id = ANY (ARRAY(SELECT id FROM claimable))
        RETURNING t.id AS "id: TaskId", t.kind, t.payload, t.attempts, t.max_attempts, t.order_id,
                  t.traceparent, t.created_at, NULL::jsonb AS order_snapshot
        "#,
        &**worker,
        kinds,
        limit,
        lease.as_secs_f64(),
        per_key,
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(claimed(rows, worker))
}

/// Claims one due task of `kinds` that `downstream`'s open breaker holds,
/// as its probe, when the breaker's probe is due; the next probe is then due
/// after `cool_down`. One probe per breaker per cool-down across all workers:
/// the breaker's row is the turnstile. Returns nothing when the breaker is
/// closed, its probe not yet due, or no task of its kinds is due (then the
/// probe's turn is not spent).
pub async fn claim_probe(
    conn: &mut PgConnection,
    worker: &Arc<str>,
    downstream: &str,
    kinds: &[String],
    lease: Duration,
    cool_down: Duration,
) -> Result<Vec<ClaimedTask>, QueueError> {
    let rows = sqlx::query_as!(
        ClaimedRow,
        r#"
        WITH candidate AS MATERIALIZED (
            SELECT id
            FROM tasks
            WHERE state = 'available' AND run_at <= now()
              AND kind = ANY (ARRAY(SELECT unnest($2::text[])
                                    EXCEPT SELECT kind FROM queue_paused_kinds))
            ORDER BY run_at, id
            LIMIT 1
            FOR UPDATE SKIP LOCKED
        ),
        turn AS (
            UPDATE circuit_breakers
            SET probe_at = now() + make_interval(secs => $5), probes = probes + 1
            WHERE downstream = $3 AND state = 'open' AND probe_at <= now()
              AND EXISTS (SELECT 1 FROM candidate)
            RETURNING downstream
        )
        UPDATE tasks AS t
        SET state = 'running',
            attempts = t.attempts + 1,
            locked_by = $1,
            locked_until = now() + make_interval(secs => $4),
            attempted_at = now()
        WHERE t.id = ANY (ARRAY(SELECT id FROM candidate))
          AND EXISTS (SELECT 1 FROM turn)
        RETURNING t.id AS "id: TaskId", t.kind, t.payload, t.attempts, t.max_attempts, t.order_id,
                  t.traceparent, t.created_at,
                  CASE WHEN t.order_id IS NOT NULL THEN order_snapshot(t.order_id) END
                      AS order_snapshot
        "#,
        &**worker,
        kinds,
        downstream,
        lease.as_secs_f64(),
        cool_down.as_secs_f64(),
    )
    .fetch_all(conn)
    .await?;
    Ok(claimed(rows, worker))
}

/// A claimed row, as every claim returns it.
struct ClaimedRow {
    id: TaskId,
    kind: String,
    payload: serde_json::Value,
    attempts: i32,
    max_attempts: i32,
    order_id: Option<uuid::Uuid>,
    traceparent: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    order_snapshot: Option<serde_json::Value>,
}

/// The claimed rows as tasks leased to `worker`.
fn claimed(rows: Vec<ClaimedRow>, worker: &Arc<str>) -> Vec<ClaimedTask> {
    rows.into_iter()
        .map(|row| ClaimedTask {
            id: row.id,
            kind: row.kind,
            payload: row.payload,
            attempt: row.attempts,
            max_attempts: row.max_attempts,
            order_id: row.order_id,
            traceparent: row.traceparent.as_deref().and_then(TraceParent::parse),
            created_at: row.created_at,
            lease: Lease {
                task: row.id,
                worker: Arc::clone(worker),
                attempt: row.attempts,
            },
            order: crate::orders::OrderSnapshot::from_json(row.order_snapshot).map(Box::new),
        })
        .collect()
}

/// Pushes the expiry of `leases` (all held by one worker) to now + `lease`.
/// Returns the tasks whose leases were renewed; a lease missing from the
/// answer was lost (rescued after it expired), and its step should stop.
pub async fn extend_leases(
    conn: &mut PgConnection,
    worker: &str,
    leases: &[Lease],
    lease: Duration,
) -> Result<Vec<TaskId>, QueueError> {
    let (ids, attempts) = split(leases);
    let renewed = sqlx::query_scalar!(
        r#"
        WITH locked AS MATERIALIZED (
            -- In id order, as the completer locks them: no deadlock between the two.
            SELECT id FROM tasks WHERE id = ANY ($2) ORDER BY id FOR UPDATE
        )
        UPDATE tasks AS t
        SET locked_until = now() + make_interval(secs => $4)
        FROM unnest($2::bigint[], $3::integer[]) AS held (id, attempt)
        WHERE t.id = held.id
          AND t.id IN (SELECT id FROM locked)
          AND t.attempts = held.attempt
          AND t.state = 'running'
          AND t.locked_by = $1
        RETURNING t.id AS "id: TaskId"
        "#,
        worker,
        &ids,
        &attempts,
        lease.as_secs_f64(),
    )
    .persistent(false)
    .fetch_all(conn)
    .await?;
    Ok(renewed)
}

/// Hands claims that never started back to `available` at once, as if they
/// had not been claimed (the attempt is not counted). Used on shutdown.
pub async fn return_unstarted(
    conn: &mut PgConnection,
    worker: &str,
    leases: &[Lease],
) -> Result<u64, QueueError> {
    let (ids, attempts) = split(leases);
    let returned = sqlx::query!(
        r#"
        UPDATE tasks AS t
        SET state = 'available',
            attempts = t.attempts - 1,
            locked_by = NULL,
            locked_until = NULL,
            attempted_at = NULL
        FROM unnest($2::bigint[], $3::integer[]) AS held (id, attempt)
        WHERE t.id = held.id
          AND t.attempts = held.attempt
          AND t.state = 'running'
          AND t.locked_by = $1
        "#,
        worker,
        &ids,
        &attempts,
    )
    .persistent(false)
    .execute(conn)
    .await?;
    Ok(returned.rows_affected())
}

fn split(leases: &[Lease]) -> (Vec<i64>, Vec<i32>) {
    leases.iter().map(|l| (l.task.0, l.attempt)).unzip()
}
