//! Reading numbered events back, oldest first.

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
        WHERE id > $1
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
        WHERE order_id = $1 AND id > $2
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

/// The last id handed out so far (0 before the first event).
pub async fn last_id(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!("SELECT last_id FROM order_event_sequence")
        .fetch_one(conn)
        .await
}
