//! The workers' registry: who runs, with how many slots and steps in flight.
//!
//! A worker [`register`]s when it starts, [`heartbeat`]s every
//! [`HEARTBEAT_EVERY`], and marks itself [`stopped`] after a clean drain.
//! One that misses [`VANISHED_AFTER`] of heartbeats without stopping has
//! vanished: killed, evicted or cut off (its leases are rescued as usual).
//! All times are the database's.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// How often a worker says it is alive.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// Silence after which a worker that did not stop counts as vanished:
/// three heartbeats.
pub const VANISHED_AFTER: Duration = Duration::from_secs(15);

/// What a worker says of itself when it starts.
#[derive(Debug, Clone)]
pub struct Presence {
    pub id: String,
    pub host: String,
    pub pid: i32,
    pub kinds: Vec<String>,
    pub slots: i32,
    pub version: String,
}

/// Where a worker is, as the registry sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Liveness {
    /// Heartbeating.
    Alive,
    /// Stopped cleanly.
    Stopped,
    /// Silent for longer than [`VANISHED_AFTER`] without stopping.
    Vanished,
}

/// One worker in the registry.
#[derive(Debug, Clone)]
pub struct WorkerRecord {
    pub id: String,
    pub host: String,
    pub pid: i32,
    pub kinds: Vec<String>,
    pub slots: i32,
    pub in_flight: i32,
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub liveness: Liveness,
}

/// Registers (or re-registers, after a restart with the same id) a worker
/// as just started.
pub async fn register(conn: &mut PgConnection, worker: &Presence) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        INSERT INTO queue_workers (id, host, pid, kinds, slots, version)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (id) DO UPDATE
        SET host = excluded.host, pid = excluded.pid, kinds = excluded.kinds,
            slots = excluded.slots, version = excluded.version, in_flight = 0,
            started_at = now(), last_seen_at = now(), stopped_at = NULL
        "#,
        worker.id,
        worker.host,
        worker.pid,
        &worker.kinds,
        worker.slots,
        worker.version,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that worker `id` is alive with `in_flight` steps; false when it
/// is not registered (its row was pruned): register again.
pub async fn heartbeat(
    conn: &mut PgConnection,
    id: &str,
    in_flight: i32,
) -> Result<bool, sqlx::Error> {
    let seen = sqlx::query!(
        r#"
        UPDATE queue_workers
        SET last_seen_at = now(), in_flight = $2, stopped_at = NULL
        WHERE id = $1
        "#,
        id,
        in_flight,
    )
    .execute(conn)
    .await?;
    Ok(seen.rows_affected() == 1)
}

/// Records that worker `id` stopped cleanly.
pub async fn stopped(conn: &mut PgConnection, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        UPDATE queue_workers
        SET stopped_at = now(), last_seen_at = now(), in_flight = 0
        WHERE id = $1
        "#,
        id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Every worker in the registry, the alive first, then by id.
pub async fn list(conn: &mut PgConnection) -> Result<Vec<WorkerRecord>, sqlx::Error> {
    sqlx::query_as!(
        WorkerRecord,
        r#"
        SELECT id, host, pid, kinds, slots, in_flight, version,
               started_at, last_seen_at, stopped_at,
               CASE
                   WHEN stopped_at IS NOT NULL THEN 'stopped'
                   WHEN last_seen_at < now() - make_interval(secs => $1) THEN 'vanished'
                   ELSE 'alive'
               END AS "liveness!: Liveness"
        FROM queue_workers
        ORDER BY stopped_at IS NOT NULL,
                 last_seen_at < now() - make_interval(secs => $1),
                 id
        "#,
        VANISHED_AFTER.as_secs_f64(),
    )
    .fetch_all(conn)
    .await
}

/// The workers to wake for `kind`: those that claim it, have not stopped,
/// and heartbeat within the last two beats, by id. A worker killed since is
/// left out after at most two beats; until then a wake-up sent to it is
/// lost, and its task waits for another worker's poll.
pub async fn wakeable(conn: &mut PgConnection, kind: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        SELECT id
        FROM queue_workers
        WHERE stopped_at IS NULL
          AND last_seen_at >= now() - make_interval(secs => $2)
          AND $1 = ANY (kinds)
        ORDER BY id
        "#,
        kind,
        (2 * HEARTBEAT_EVERY).as_secs_f64(),
    )
    .fetch_all(conn)
    .await
}

/// Deletes the workers silent for longer than `older_than`; returns how many.
pub async fn delete_gone(
    conn: &mut PgConnection,
    older_than: Duration,
) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM queue_workers WHERE last_seen_at < now() - make_interval(secs => $1)",
        older_than.as_secs_f64(),
    )
    .execute(conn)
    .await?;
    Ok(deleted.rows_affected())
}
