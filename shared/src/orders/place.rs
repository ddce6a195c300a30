//! Placing an order: its prices read from the catalog, the idempotency key,
//! the order, its lines, its first history row and its first task, all in
//! one statement (`place.sql`).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::pricing::{CheckedOrder, ListPrice, price_lines};
use super::{
    HistoryEntry, NewOrder, Order, OrderLine, OrderStatus, OrderTask, PricingError, TaskKind,
};
use crate::queue::{TaskId, TaskState};

/// A new order as it was written: its id, the time of the transaction that
/// wrote it, its first task, and the order as priced.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub first_task: TaskId,
    pub order: NewOrder,
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
    accepted: &Accepted,
) -> (Order, Vec<OrderLine>, Vec<HistoryEntry>, Vec<OrderTask>) {
    let order = &accepted.order;
    let first = TaskKind::first_step(order.capture_method);
    let written = Order {
        id: accepted.id,
        status: OrderStatus::Pending,
        customer_email: order.customer_email.clone(),
        currency: order.currency.as_str().to_owned(),
        total_cents: order.total.get(),
        payment_token: order.payment_token.clone(),
        metadata: order.metadata.clone(),
        capture_method: order.capture_method,
        authorization_id: None,
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
        kind: first.as_str().to_owned(),
        state: TaskState::Available,
        attempts: 0,
        max_attempts: first.max_attempts(),
        last_error: None,
        run_at: accepted.at,
        created_at: accepted.at,
    }];
    (written, lines, history, tasks)
}

/// The reason on every order's first history row.
const ACCEPTED_REASON: &str = "order accepted";

/// What [`place`] did with the request.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// A new order, with its first step's task (`charge_payment` or
    /// `authorize_payment`).
    Created(Box<Accepted>),
    /// The key was used before with the same request: this is its order.
    Replayed(Uuid),
    /// The key was used before with a different request; nothing was written.
    KeyReused,
}

/// The statement [`place`] sends, for tools that run it themselves (the
/// lab's ceiling): `$1`…`$15` in the order `place` binds them.
pub const PLACE_SQL: &str = include_str!("place.sql");

/// Prices `order` from the catalog and places it under the idempotency key
/// (`scope`, `key`), where `request` is the normalised request the key must
/// always come with.
///
/// One statement, so one round trip and, on a connection outside a
/// transaction, one commit. The key is claimed first among the writes: a
/// concurrent request with the same key waits on that row until this one
/// commits, then sees the order it made. So one key never makes two orders,
/// and an order never exists without its task. Nothing is notified: a NOTIFY
/// would make every order's commit wait its turn for one database-wide lock.
/// The caller wakes the workers after the commit (the API:
/// `api::wake_workers`), or they find the task when they poll.
pub async fn place(
    conn: &mut PgConnection,
    scope: &str,
    key: &str,
    request: &serde_json::Value,
    order: &CheckedOrder,
) -> Result<Placement, PricingError> {
    let numbers: Vec<i32> = (1..).take(order.lines.len()).collect();
    let skus: Vec<String> = order.lines.iter().map(|(sku, _)| sku.to_string()).collect();
    let quantities: Vec<i32> = order.lines.iter().map(|(_, quantity)| *quantity).collect();
    let first = TaskKind::first_step(order.capture_method);
    let written = sqlx::query_file!(
        "src/orders/place.sql",
        scope,
        key,
        request,
        order.id,
        order.customer_email,
        order.payment_token,
        order.metadata,
        &numbers,
        &skus,
        &quantities,
        first.as_str(),
        first.max_attempts(),
        order.traceparent.map(|t| t.to_string()),
        ACCEPTED_REASON,
        order.capture_method.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    let catalog: Vec<ListPrice> = written
        .skus
        .into_iter()
        .zip(written.prices)
        .zip(written.currencies)
        .map(|((sku, price_cents), currency)| ListPrice {
            sku,
            price_cents,
            currency,
        })
        .collect();
    // The statement and `price_lines` apply the same rules: both price the
    // order or neither does, and then `price_lines` names what is wrong.
    let (lines, currency, total) = match (written.priced, price_lines(order, &catalog)) {
        (true, Ok(priced)) => priced,
        (false, Err(unpriced)) => return Err(unpriced),
        (_, _) => return Err(PricingError::RulesDisagree),
    };
    if let Some(first_task) = written.task {
        let priced = NewOrder {
            id: order.id,
            customer_email: order.customer_email.clone(),
            currency,
            lines,
            total,
            payment_token: order.payment_token.clone(),
            metadata: order.metadata.clone(),
            capture_method: order.capture_method,
            traceparent: order.traceparent,
        };
        return Ok(Placement::Created(Box::new(Accepted {
            id: order.id,
            at: written.at,
            first_task,
            order: priced,
        })));
    }
    let earlier = sqlx::query!(
        r#"SELECT order_id, request = $3::jsonb AS "same_request!"
           FROM idempotency_keys WHERE scope = $1 AND key = $2"#,
        scope,
        key,
        request,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(if earlier.same_request {
        Placement::Replayed(earlier.order_id)
    } else {
        Placement::KeyReused
    })
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
