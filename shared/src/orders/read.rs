//! Reading orders back: one order with its lines, history and tasks, or a
//! page of orders, newest first.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{CaptureMethod, HistoryEntry, Order, OrderLine, OrderSnapshot, OrderStatus, OrderTask};
use crate::queue::{TaskId, TaskState};

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Order>, sqlx::Error> {
    sqlx::query_as!(
        Order,
        r#"
        SELECT id, status AS "status: OrderStatus", customer_email, currency, total_cents,
               payment_token, metadata, capture_method AS "capture_method: CaptureMethod",
               authorization_id, charge_id, refund_id, failure_code, failure_message,
               created_at, updated_at
        FROM orders WHERE id = $1
        "#,
        id,
    )
    .fetch_optional(conn)
    .await
}

/// The order with its lines, as a step needs it, in one statement; for a
/// task claimed without it (see [`crate::queue::ClaimedTask::order`]).
pub async fn snapshot(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<OrderSnapshot>, sqlx::Error> {
    let json = sqlx::query_scalar!("SELECT order_snapshot($1)", id)
        .fetch_one(conn)
        .await?;
    Ok(OrderSnapshot::from_json(json))
}

/// Up to `limit` orders, newest first, older than the order `before` when
/// given, and only in `status` when given; planned for the filters set
/// ([`crate::db::custom_plans`]).
pub async fn list(
    conn: &mut PgConnection,
    status: Option<OrderStatus>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Order>, sqlx::Error> {
    let mut tx = crate::db::custom_plans(conn).await?;
    let orders = sqlx::query_as!(
        Order,
        r#"
        SELECT id, status AS "status: OrderStatus", customer_email, currency, total_cents,
               payment_token, metadata, capture_method AS "capture_method: CaptureMethod",
               authorization_id, charge_id, refund_id, failure_code, failure_message,
               created_at, updated_at
        FROM orders
        WHERE ($1::order_status IS NULL OR status = $1)
          AND ($2::uuid IS NULL OR id < $2)
        ORDER BY id DESC
        LIMIT $3
        "#,
        status as Option<OrderStatus>,
        before,
        limit,
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(orders)
}

/// Up to `limit` orders of the customer `email` (any case), newest first,
/// older than the order `before` when given.
pub async fn by_email(
    conn: &mut PgConnection,
    email: &str,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Order>, sqlx::Error> {
    sqlx::query_as!(
        Order,
        r#"
        SELECT id, status AS "status: OrderStatus", customer_email, currency, total_cents,
               payment_token, metadata, capture_method AS "capture_method: CaptureMethod",
               authorization_id, charge_id, refund_id, failure_code, failure_message,
               created_at, updated_at
        FROM orders
        WHERE lower(customer_email) = lower($1)
          AND ($2::uuid IS NULL OR id < $2)
        ORDER BY lower(customer_email), id DESC
        LIMIT $3
        "#,
        email,
        before,
        limit,
    )
    .fetch_all(conn)
    .await
}

pub async fn lines(conn: &mut PgConnection, id: Uuid) -> Result<Vec<OrderLine>, sqlx::Error> {
    sqlx::query_as!(
        OrderLine,
        "SELECT sku, quantity, unit_price_cents FROM order_items WHERE order_id = $1 ORDER BY line",
        id,
    )
    .fetch_all(conn)
    .await
}

pub async fn history(conn: &mut PgConnection, id: Uuid) -> Result<Vec<HistoryEntry>, sqlx::Error> {
    sqlx::query_as!(
        HistoryEntry,
        r#"SELECT status AS "status: OrderStatus", reason, at
           FROM order_history WHERE order_id = $1 ORDER BY id"#,
        id,
    )
    .fetch_all(conn)
    .await
}

pub async fn tasks(conn: &mut PgConnection, id: Uuid) -> Result<Vec<OrderTask>, sqlx::Error> {
    sqlx::query_as!(
        OrderTask,
        r#"
        SELECT id AS "id: TaskId", kind, state AS "state: TaskState", attempts, max_attempts,
               last_error, run_at, created_at
        FROM tasks WHERE order_id = $1 ORDER BY id
        "#,
        id,
    )
    .fetch_all(conn)
    .await
}

/// How many orders are in one status; `estimated` when read from the
/// planner's statistics rather than counted.
#[derive(Debug, Clone)]
pub struct StatusCount {
    pub status: OrderStatus,
    pub count: i64,
    pub estimated: bool,
}

/// Orders per status: counted while the table holds fewer than
/// `exact_below` rows; past that the planner's estimates (a status is
/// one of a few values, so its statistics know each one's share well; the
/// planner never expects fewer than one row, so an estimate of 1 may be
/// none).
pub async fn count_by_status(
    conn: &mut PgConnection,
    exact_below: i64,
) -> Result<Vec<StatusCount>, sqlx::Error> {
    sqlx::query_as!(
        StatusCount,
        r#"
        WITH size AS (
            SELECT reltuples::int8 AS rows FROM pg_class WHERE oid = 'orders'::regclass
        )
        SELECT status AS "status!: OrderStatus", count(*) AS "count!", false AS "estimated!"
        FROM orders
        WHERE (SELECT rows FROM size) < $1
        GROUP BY status
        UNION ALL
        SELECT status, count_estimate(format('SELECT 1 FROM orders WHERE status = %L', status)), true
        FROM unnest(enum_range(NULL::order_status)) AS statuses (status)
        WHERE (SELECT rows FROM size) >= $1
        ORDER BY 1
        "#,
        exact_below,
    )
    .fetch_all(conn)
    .await
}
