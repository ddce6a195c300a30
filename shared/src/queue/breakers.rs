//! Circuit breakers: one row per downstream in `circuit_breakers`, shared by
//! every worker (see its migration). A worker opens a breaker when its calls
//! to the downstream fail with unavailability at a high rate, and closes it
//! when a call gets through. While a breaker is open no task of its kinds is
//! claimed ([`super::claim_batch`] skips the kinds of `queue_held_kinds`),
//! except one probe per cool-down ([`super::claim_probe`]): the tasks wait
//! without spending an attempt.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::WAKEUP_CHANNEL;

/// A breaker as the database has it.
#[derive(Debug, Clone, PartialEq)]
pub struct Breaker {
    pub downstream: String,
    /// Whether it is open: its kinds are held.
    pub open: bool,
    pub kinds: Vec<String>,
    pub opened_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// While open: when the next probe may be claimed.
    pub probe_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub times_opened: i64,
    /// Probes claimed since the table was made.
    pub probes: i64,
}

/// Opens `downstream`'s breaker, holding `kinds`, for `reason`; its first
/// probe may go after `cool_down`. Returns whether this call opened it (it
/// was closed, or had never opened).
pub async fn open(
    conn: &mut PgConnection,
    downstream: &str,
    kinds: &[String],
    cool_down: Duration,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let opened = sqlx::query_scalar!(
        r#"
        INSERT INTO circuit_breakers AS b
               (downstream, state, kinds, opened_at, probe_at, reason, times_opened)
        VALUES ($1, 'open', $2, now(), now() + make_interval(secs => $3), $4, 1)
        ON CONFLICT (downstream) DO UPDATE
        SET state = 'open', kinds = excluded.kinds, opened_at = excluded.opened_at,
            probe_at = excluded.probe_at, reason = excluded.reason,
            times_opened = b.times_opened + 1
        WHERE b.state = 'closed'
        RETURNING downstream
        "#,
        downstream,
        kinds,
        cool_down.as_secs_f64(),
        reason,
    )
    .fetch_optional(conn)
    .await?;
    Ok(opened.is_some())
}

/// Closes `downstream`'s breaker and wakes idle workers for the tasks it
/// held. Returns whether this call closed it.
pub async fn close(conn: &mut PgConnection, downstream: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        WITH closed AS (
            UPDATE circuit_breakers
            SET state = 'closed', closed_at = now(), probe_at = NULL
            WHERE downstream = $1 AND state = 'open'
            RETURNING downstream
        )
        SELECT count(*) > 0 AS "closed!"
        FROM closed
        LEFT JOIN LATERAL pg_notify($2, '') ON true
        "#,
        downstream,
        WAKEUP_CHANNEL,
    )
    .fetch_one(conn)
    .await
}

/// Every breaker that ever opened, by downstream.
pub async fn list(conn: &mut PgConnection) -> Result<Vec<Breaker>, sqlx::Error> {
    sqlx::query_as!(
        Breaker,
        r#"
        SELECT downstream, state = 'open' AS "open!", kinds, opened_at, closed_at, probe_at,
               reason, times_opened, probes
        FROM circuit_breakers
        ORDER BY downstream
        "#
    )
    .fetch_all(conn)
    .await
}
