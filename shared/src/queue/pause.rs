//! Pausing and resuming a kind of task.
//!
//! A paused kind is a row in `queue_paused_kinds`. Both claims skip its
//! tasks, and [`enqueue_claimed`](super::enqueue_claimed) will not hand one
//! on already claimed (the successor is then enqueued to wait). What runs
//! when the pause lands runs to its end: nothing is interrupted. The pause
//! outlives restarts, and every worker sees it at its next claim; a resume
//! notifies [`WAKEUP_CHANNEL`] so that idle workers look at once.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::WAKEUP_CHANNEL;

/// A kind whose tasks are not being claimed.
#[derive(Debug, Clone, PartialEq)]
pub struct PausedKind {
    pub kind: String,
    pub paused_at: DateTime<Utc>,
    /// The name of the API key that paused it.
    pub paused_by: String,
}

/// Pauses `kind`; pausing a paused kind keeps its first pause. Returns the
/// pause in force.
pub async fn pause(
    conn: &mut PgConnection,
    kind: &str,
    paused_by: &str,
) -> Result<PausedKind, sqlx::Error> {
    sqlx::query_as!(
        PausedKind,
        r#"
        INSERT INTO queue_paused_kinds (kind, paused_by)
        VALUES ($1, $2)
        -- A no-op update, so that the pause already in force is returned
        -- (and its time and author kept).
        ON CONFLICT (kind) DO UPDATE SET kind = excluded.kind
        RETURNING kind, paused_at, paused_by
        "#,
        kind,
        paused_by,
    )
    .fetch_one(conn)
    .await
}

/// Resumes `kind` and wakes idle workers; returns whether it was paused.
pub async fn resume(conn: &mut PgConnection, kind: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        WITH resumed AS (
            DELETE FROM queue_paused_kinds WHERE kind = $1 RETURNING kind
        )
        SELECT count(*) > 0 AS "resumed!"
        FROM resumed, pg_notify($2, '')
        "#,
        kind,
        WAKEUP_CHANNEL,
    )
    .fetch_one(conn)
    .await
}

/// Every paused kind, by name.
pub async fn paused(conn: &mut PgConnection) -> Result<Vec<PausedKind>, sqlx::Error> {
    sqlx::query_as!(
        PausedKind,
        "SELECT kind, paused_at, paused_by FROM queue_paused_kinds ORDER BY kind"
    )
    .fetch_all(conn)
    .await
}
