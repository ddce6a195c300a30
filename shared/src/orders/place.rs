//! Placing an order: the idempotency key, the order, its lines, its first
//! history row and its first task, all in one statement.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    HistoryEntry, NewOrder, Order, OrderError, OrderLine, OrderStatus, OrderTask, TaskKind,
};
use crate::queue::{TaskId, TaskState};

/// A new order as it was written: its id, the time of the transaction that
/// wrote it, and its first task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub first_task: TaskId,
}

impl Placement {
    /// The order the request maps to, new or earlier.
    pub fn order_id(&self) -> Option<Uuid> {
        match self {
            Placement::Created(accepted) => Some(accepted.id),
            Placement::Replayed(id) => Some(*id),
            Placement::KeyReused => None,
        }
    }
}

/// The order, its lines, history and tasks exactly as reading them back
/// right after [`place`] returns them, without reading them back.
pub fn as_placed(
    order: &NewOrder,
    accepted: &Accepted,
) -> (Order, Vec<OrderLine>, Vec<HistoryEntry>, Vec<OrderTask>) {
    let charge = TaskKind::ChargePayment;
    let written = Order {
        id: accepted.id,
        status: OrderStatus::Pending,
        customer_email: order.customer_email.clone(),
        currency: order.currency.as_str().to_owned(),
        total_cents: order.total.get(),
        payment_token: order.payment_token.clone(),
        metadata: order.metadata.clone(),
        charge_id: None,
        refund_id: None,
        failure_code: None,
        failure_message: None,
        created_at: accepted.at,
        updated_at: accepted.at,
    };
    let lines = order
        .lines
        .iter()
        .map(|l| OrderLine {
            sku: l.sku.to_string(),
            quantity: l.quantity,
            unit_price_cents: l.unit_price.get(),
        })
        .collect();
    let history = vec![HistoryEntry {
        status: OrderStatus::Pending,
        reason: Some(ACCEPTED_REASON.to_owned()),
        at: accepted.at,
    }];
    let tasks = vec![OrderTask {
        id: accepted.first_task,
        kind: charge.as_str().to_owned(),
        state: TaskState::Available,
        attempts: 0,
        max_attempts: charge.max_attempts(),
        last_error: None,
        run_at: accepted.at,
        created_at: accepted.at,
    }];
    (written, lines, history, tasks)
}

/// The reason on every order's first history row.
const ACCEPTED_REASON: &str = "order accepted";

/// What [`place`] did with the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// A new order, with its `charge_payment` task.
    Created(Accepted),
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
    let numbers: Vec<i32> = (1..).take(order.lines.len()).collect();
    let skus: Vec<String> = order.lines.iter().map(|l| l.sku.to_string()).collect();
    let quantities: Vec<i32> = order.lines.iter().map(|l| l.quantity).collect();
    let prices: Vec<i64> = order.lines.iter().map(|l| l.unit_price.get()).collect();
    let charge = TaskKind::ChargePayment;
    // One statement, so one round trip (and, on a connection outside a
    // transaction, one commit). Each insert after the key's takes its rows
    // from the one before, so when the key was already claimed nothing else
    // is written. Nothing is notified: a NOTIFY would make every order's
    // commit wait its turn for one database-wide lock. The caller wakes the
    // workers after the commit (the API: `api::wake_workers`), or they find
    // the task when they poll.
    let written = sqlx::query!(
        r#"
        WITH claimed AS (
            INSERT INTO idempotency_keys (scope, key, request, order_id)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (scope, key) DO NOTHING
            RETURNING order_id
        ),
        placed AS (
            INSERT INTO orders (id, customer_email, currency, total_cents, payment_token, metadata)
            SELECT order_id, $5, $6, $7, $8, $9 FROM claimed
            RETURNING id
        ),
        lines AS (
            INSERT INTO order_items (order_id, line, sku, quantity, unit_price_cents)
            SELECT placed.id, line.*
            FROM placed, unnest($10::integer[], $11::text[], $12::integer[], $13::bigint[]) AS line
        ),
        history AS (
            INSERT INTO order_history (order_id, status, reason)
            SELECT id, 'pending', $17 FROM placed
        ),
        first_task AS (
            INSERT INTO tasks (kind, payload, max_attempts, order_id, traceparent)
            SELECT $14, jsonb_build_object('order_id', id), $15, id, $16 FROM placed
            RETURNING id
        )
        SELECT first_task.id AS "task!: TaskId", now() AS "at!"
        FROM first_task
        "#,
        scope,
        key,
        request,
        order.id,
        order.customer_email,
        order.currency.as_str(),
        order.total.get(),
        order.payment_token,
        order.metadata,
        &numbers,
        &skus,
        &quantities,
        &prices,
        charge.as_str(),
        charge.max_attempts(),
        order.traceparent.map(|t| t.to_string()),
        ACCEPTED_REASON,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(written) = written else {
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
    };
    Ok(Placement::Created(Accepted {
        id: order.id,
        at: written.at,
        first_task: written.task,
    }))
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
