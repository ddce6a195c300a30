//! Reading events back, oldest first, below the horizon.
//!
//! An event's id is its transaction's id times 2^20 plus its ordinal there
//! (see the `events_numbered_at_insert` migration), so ids do not follow
//! commit order. Every read therefore stops at the horizon,
//! `order_events_horizon()`: the ids of transactions that have all ended, in
//! the read's own snapshot. No event can appear later below an id that was
//! read, and a reader that resumes after it misses nothing.

use sqlx::PgConnection;
use uuid::Uuid;

use super::OrderEvent;

/// Up to `limit` events after the id `after`, of the `types` given (all
/// when `None`), oldest first.
pub async fn page(
    conn: &mut PgConnection,
    after: i64,
    types: Option<&[String]>,
    limit: i64,
) -> Result<Vec<OrderEvent>, sqlx::Error> {
    sqlx::query_as!(
        OrderEvent,
        r#"
        SELECT id AS "id!", order_id, type AS event_type, created_at, data AS order
        FROM order_events
        WHERE id > $1 AND id < order_events_horizon()
          AND ($2::text[] IS NULL OR type = ANY ($2))
        ORDER BY id
        LIMIT $3
        "#,
        after,
        types,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// Up to `limit` events of the order `order` after the id `after`, oldest first.
pub async fn of_order(
    conn: &mut PgConnection,
    order: Uuid,
    after: i64,
    limit: i64,
) -> Result<Vec<OrderEvent>, sqlx::Error> {
    sqlx::query_as!(
        OrderEvent,
        r#"
        SELECT id AS "id!", order_id, type AS event_type, created_at, data AS order
        FROM order_events
        WHERE order_id = $1 AND id > $2 AND id < order_events_horizon()
        ORDER BY id
        LIMIT $3
        "#,
        order,
        after,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// Where a reader that wants only what comes next starts: every event
/// readable now has an id at or below it, every event readable later one
/// above it.
pub async fn present(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT order_events_horizon() - 1 AS "present!""#)
        .fetch_one(conn)
        .await
}

/// How long, in seconds, the transaction that holds the horizon back (the
/// one with the oldest id still writing, on any database of the server)
/// has been open: events written since it began are readable only once it
/// ends. Milliseconds normally. Other roles' sessions count only when this
/// role may see their activity (`pg_read_all_stats`); prepared (two-phase)
/// transactions, which hold the horizon too, are not counted.
pub async fn horizon_held_seconds(conn: &mut PgConnection) -> Result<f64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        SELECT coalesce((
            SELECT extract(epoch FROM clock_timestamp() - xact_start)::float8
            FROM pg_stat_activity
            WHERE backend_xid IS NOT NULL AND xact_start IS NOT NULL
            ORDER BY age(backend_xid) DESC
            LIMIT 1
        ), 0) AS "held!"
        "#
    )
    .fetch_one(conn)
    .await
}
