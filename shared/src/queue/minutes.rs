//! The queue's recent history by the minute, for the console's charts: per
//! minute and kind, the attempts that succeeded, were retried and died, and
//! the tasks whose first attempt started with their wait since enqueue.
//! Workers [`add`] what they saw every few seconds, into the database's
//! current minute; [`last_hour`] reads it back summed over kinds. Counts
//! kept in a worker that crashes before it adds them are lost: it is a
//! chart, and no step waits on it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// What one worker saw of one kind since it last added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindTally {
    pub succeeded: i64,
    pub retried: i64,
    pub dead: i64,
    /// Tasks whose first attempt started.
    pub started: i64,
    /// Their waits from enqueue to start, summed, and the longest.
    pub wait_ms_total: i64,
    pub wait_ms_max: i64,
}

impl KindTally {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Adds `other`'s counts to these, as [`add`] does in the database.
    pub fn absorb(&mut self, other: &KindTally) {
        self.succeeded += other.succeeded;
        self.retried += other.retried;
        self.dead += other.dead;
        self.started += other.started;
        self.wait_ms_total = self.wait_ms_total.saturating_add(other.wait_ms_total);
        self.wait_ms_max = self.wait_ms_max.max(other.wait_ms_max);
    }
}

/// Adds `tallies` (kind, counts) to the database's current minute.
pub async fn add(
    conn: &mut PgConnection,
    tallies: &[(String, KindTally)],
) -> Result<(), sqlx::Error> {
    let column = |f: fn(&KindTally) -> i64| tallies.iter().map(|(_, t)| f(t)).collect::<Vec<_>>();
    let kinds: Vec<String> = tallies.iter().map(|(kind, _)| kind.clone()).collect();
    sqlx::query!(
        r#"
        INSERT INTO queue_minutes AS m
            (minute, kind, succeeded, retried, dead, started, wait_ms_total, wait_ms_max)
        SELECT date_trunc('minute', now()), t.*
        FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int8[])
            AS t (kind, succeeded, retried, dead, started, wait_ms_total, wait_ms_max)
        -- Every worker locks the minute's rows in the same order: no deadlock.
        ORDER BY t.kind
        ON CONFLICT (minute, kind) DO UPDATE
        SET succeeded = m.succeeded + excluded.succeeded,
            retried = m.retried + excluded.retried,
            dead = m.dead + excluded.dead,
            started = m.started + excluded.started,
            wait_ms_total = m.wait_ms_total + excluded.wait_ms_total,
            wait_ms_max = greatest(m.wait_ms_max, excluded.wait_ms_max)
        "#,
        &kinds,
        &column(|t| t.succeeded),
        &column(|t| t.retried),
        &column(|t| t.dead),
        &column(|t| t.started),
        &column(|t| t.wait_ms_total),
        &column(|t| t.wait_ms_max),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// One minute of the last hour, all kinds together.
#[derive(Debug, Clone, PartialEq)]
pub struct Minute {
    pub minute: DateTime<Utc>,
    pub succeeded: i64,
    pub retried: i64,
    pub dead: i64,
    pub started: i64,
    /// The mean and the longest wait from enqueue to start, when any started.
    pub wait_ms_mean: Option<f64>,
    pub wait_ms_max: Option<i64>,
}

/// Every minute of the last hour, oldest first, this one included (so 61),
/// with zeros for the minutes nothing was added to.
pub async fn last_hour(conn: &mut PgConnection) -> Result<Vec<Minute>, sqlx::Error> {
    sqlx::query_as!(
        Minute,
        r#"
        SELECT slots.minute AS "minute!",
               coalesce(sum(m.succeeded), 0)::int8 AS "succeeded!",
               coalesce(sum(m.retried), 0)::int8 AS "retried!",
               coalesce(sum(m.dead), 0)::int8 AS "dead!",
               coalesce(sum(m.started), 0)::int8 AS "started!",
               (sum(m.wait_ms_total)::float8 / nullif(sum(m.started), 0)) AS wait_ms_mean,
               max(m.wait_ms_max) FILTER (WHERE m.started > 0) AS wait_ms_max
        FROM generate_series(
                 date_trunc('minute', now()) - interval '60 minutes',
                 date_trunc('minute', now()),
                 interval '1 minute'
             ) AS slots (minute)
        LEFT JOIN queue_minutes AS m ON m.minute = slots.minute
        GROUP BY slots.minute
        ORDER BY slots.minute
        "#
    )
    .fetch_all(conn)
    .await
}

/// Deletes the minutes older than `kept`; returns how many rows went.
pub async fn delete_older_than(
    conn: &mut PgConnection,
    kept: Duration,
) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM queue_minutes WHERE minute < now() - make_interval(secs => $1)",
        kept.as_secs_f64(),
    )
    .execute(conn)
    .await?;
    Ok(deleted.rows_affected())
}
