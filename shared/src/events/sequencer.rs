//! Numbering events in commit order.
//!
//! Events are inserted without a public id. [`sequence`] numbers the ones
//! it can see, that is the committed ones, in insert order, above the last
//! number handed out, under a transaction-scoped advisory lock: one round at
//! a time, and each round's numbers visible before the next round starts.
//! An event that commits later is numbered by a later round, above every
//! number handed out before. So once id N is readable, no event will ever
//! appear below it, and a reader that resumes after N misses nothing.

use sqlx::PgPool;

use super::SEQUENCED_CHANNEL;

/// The advisory lock key of the sequencer ("ORDEREVT" in ASCII).
const SEQUENCER_LOCK: i64 = 0x4f52_4445_5245_5654;

/// Events numbered per round at most; a longer backlog takes more rounds.
const ROUND: i64 = 10_000;

/// Numbers every event that can be numbered now; returns the last id handed
/// out, or `None` when there was nothing to number. Waits for a sequencer
/// that is running elsewhere rather than skipping: that one may have taken
/// its snapshot before the events this call was woken for committed.
pub async fn sequence(pool: &PgPool) -> Result<Option<i64>, sqlx::Error> {
    let mut last = None;
    loop {
        let mut tx = pool.begin().await?;
        sqlx::query!("SELECT pg_advisory_xact_lock($1)", SEQUENCER_LOCK)
            .execute(&mut *tx)
            .await?;
        let numbered = sqlx::query!(
            r#"
            WITH pending AS MATERIALIZED (
                SELECT seq
                FROM order_events
                WHERE id IS NULL
                ORDER BY seq
                LIMIT $1
            ),
            counter AS (
                UPDATE order_event_sequence
                SET last_id = last_id + (SELECT count(*) FROM pending)
                WHERE EXISTS (SELECT 1 FROM pending)
                RETURNING last_id - (SELECT count(*) FROM pending) AS base
            ),
            numbered AS (
                UPDATE order_events e
                SET id = counter.base + p.n
                -- An array, not a join with `pending`: the statement is
                -- prepared, and a generic plan made while the table was
                -- small scans all of it for every event numbered (rounds
                -- then took seconds at a few hundred events a second).
                FROM counter,
                     unnest(ARRAY(SELECT seq FROM pending ORDER BY seq)) WITH ORDINALITY AS p (seq, n)
                WHERE e.seq = p.seq
                RETURNING e.id
            )
            SELECT count(*) AS "count!", max(id) AS last FROM numbered
            "#,
            ROUND,
        )
        .fetch_one(&mut *tx)
        .await?;
        if let Some(id) = numbered.last {
            sqlx::query!(
                "SELECT pg_notify($1, $2)",
                SEQUENCED_CHANNEL,
                id.to_string()
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        if numbered.last.is_some() {
            last = numbered.last;
        }
        if numbered.count < ROUND {
            return Ok(last);
        }
    }
}

/// Whether any committed event waits for its number: one probe of the
/// partial index on unnumbered events, cheap enough to ask every few
/// milliseconds.
pub async fn any_pending(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM order_events WHERE id IS NULL) AS "pending!""#
    )
    .fetch_one(pool)
    .await
}
