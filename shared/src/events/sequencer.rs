//! Numbering events in commit order.
//!
//! Events are inserted without a public id. [`sequence`] numbers the ones
//! it can see, that is the committed ones, in insert order, above the last
//! number handed out, under a transaction-scoped advisory lock: one round at
//! a time, and each round's numbers visible before the next round starts.
//! An event that commits later is numbered by a later round, above every
//! number handed out before. So once id N is readable, no event will ever
//! appear below it, and a reader that resumes after N misses nothing.
//!
//! A round is one call of the SQL function `sequence_order_events` (see its
//! migration): one round trip that returns at once when nothing waits, and
//! otherwise numbers, notifies [`SEQUENCED_CHANNEL`] and returns what it
//! numbered.

use sqlx::PgPool;

use super::OrderEvent;
#[cfg(doc)]
use super::SEQUENCED_CHANNEL;
use crate::db::Session;

/// Events numbered per round at most; a longer backlog takes more rounds.
const ROUND: i32 = 10_000;

/// Numbers every event that can be numbered now; returns them, oldest
/// first (empty when there was nothing to number). Waits for a sequencer
/// that is running elsewhere rather than skipping: that one may have taken
/// its snapshot before the events this call was woken for committed.
pub async fn sequence(pool: &PgPool) -> Result<Vec<OrderEvent>, sqlx::Error> {
    let mut all = Vec::new();
    loop {
        let mut session = Session::acquire(pool).await?;
        let numbered = sqlx::query_as!(
            OrderEvent,
            r#"
            SELECT id AS "id!", order_id AS "order_id!", type AS "event_type!",
                   created_at AS "created_at!", data AS "order!"
            FROM sequence_order_events($1)
            "#,
            ROUND,
        )
        .fetch_all(&mut *session)
        .await?;
        // Ends the round's transaction, and with it its lock.
        session.finish().await?;
        let full = numbered.len() >= ROUND as usize;
        all.extend(numbered);
        if !full {
            return Ok(all);
        }
    }
}
