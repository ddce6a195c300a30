//! Placing an order: the idempotency key, the order, its lines, its first
//! history row and its first task, all in the caller's one transaction.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{NewOrder, OrderError, TaskKind};
use crate::queue::{self, NewTask};

/// What [`place`] did with the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// A new order, with its `charge_payment` task.
    Created(Uuid),
    /// The key was used before with the same request: this is its order.
    Replayed(Uuid),
    /// The key was used before with a different request; nothing was written.
    KeyReused,
}

/// Places `order` under the idempotency key (`scope`, `key`), where `request`
/// is the normalised request the key must always come with.
///
/// The key is claimed first: a concurrent request with the same key waits on
/// that row until this transaction ends, then sees the order it made. So one
/// key never makes two orders, and an order never exists without its task.
pub async fn place(
    conn: &mut PgConnection,
    scope: &str,
    key: &str,
    request: &serde_json::Value,
    order: &NewOrder,
) -> Result<Placement, OrderError> {
    let claimed = sqlx::query_scalar!(
        r#"
        INSERT INTO idempotency_keys (scope, key, request, order_id)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (scope, key) DO NOTHING
        RETURNING order_id
        "#,
        scope,
        key,
        request,
        order.id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if claimed.is_none() {
        let earlier = sqlx::query!(
            r#"SELECT order_id, request = $3::jsonb AS "same_request!"
               FROM idempotency_keys WHERE scope = $1 AND key = $2"#,
            scope,
            key,
            request,
        )
        .fetch_one(&mut *conn)
        .await?;
        return Ok(if earlier.same_request {
            Placement::Replayed(earlier.order_id)
        } else {
            Placement::KeyReused
        });
    }

    sqlx::query!(
        r#"
        INSERT INTO orders (id, customer_email, currency, total_cents, payment_token, metadata)
        VALUES ($1, $2, $3, $4, $5, $6)
        "#,
        order.id,
        order.customer_email,
        order.currency.as_str(),
        order.total.get(),
        order.payment_token,
        order.metadata,
    )
    .execute(&mut *conn)
    .await?;

    let numbers: Vec<i32> = (1..).take(order.lines.len()).collect();
    let skus: Vec<String> = order.lines.iter().map(|l| l.sku.to_string()).collect();
    let quantities: Vec<i32> = order.lines.iter().map(|l| l.quantity).collect();
    let prices: Vec<i64> = order.lines.iter().map(|l| l.unit_price.get()).collect();
    sqlx::query!(
        r#"
        WITH lines AS (
            INSERT INTO order_items (order_id, line, sku, quantity, unit_price_cents)
            SELECT $1, * FROM unnest($2::integer[], $3::text[], $4::integer[], $5::bigint[])
        )
        INSERT INTO order_history (order_id, status, reason)
        VALUES ($1, 'pending', 'order accepted')
        "#,
        order.id,
        &numbers,
        &skus,
        &quantities,
        &prices,
    )
    .execute(&mut *conn)
    .await?;

    let charge = TaskKind::ChargePayment;
    let mut task = NewTask::new(charge.as_str(), json!({ "order_id": order.id }))
        .max_attempts(charge.max_attempts())
        .for_order(order.id);
    task.traceparent = order.traceparent;
    queue::enqueue(conn, &task).await?;
    Ok(Placement::Created(order.id))
}

/// Deletes up to `batch` idempotency keys first used more than `older_than`
/// ago; a later request with such a key places a new order. Returns how many
/// were deleted; fewer than `batch` means none are left.
pub async fn delete_expired_keys(
    conn: &mut PgConnection,
    older_than: std::time::Duration,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query!(
        r#"
        WITH expired AS MATERIALIZED (
            SELECT scope, key
            FROM idempotency_keys
            WHERE created_at < now() - make_interval(secs => $1)
            ORDER BY created_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        )
        DELETE FROM idempotency_keys AS k
        USING expired
        WHERE k.scope = expired.scope AND k.key = expired.key
        "#,
        older_than.as_secs_f64(),
        batch,
    )
    .execute(conn)
    .await?;
    Ok(deleted.rows_affected())
}
