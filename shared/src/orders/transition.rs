//! Moving an order: fenced on the status the caller expects, legal by the
//! chart, and recorded in the order's history in the same statement.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{Failure, OrderError, OrderStatus};

/// One move of one order, with what it learned on the way.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    pub order: Uuid,
    pub from: OrderStatus,
    pub to: OrderStatus,
    /// Why, in the history row.
    pub reason: &'a str,
    pub authorization_id: Option<&'a str>,
    pub charge_id: Option<&'a str>,
    pub refund_id: Option<&'a str>,
    pub failure: Option<&'a Failure>,
}

impl<'a> Transition<'a> {
    pub fn new(order: Uuid, from: OrderStatus, to: OrderStatus, reason: &'a str) -> Self {
        Self {
            order,
            from,
            to,
            reason,
            authorization_id: None,
            charge_id: None,
            refund_id: None,
            failure: None,
        }
    }
}

/// Applies `t` if the order is still in `t.from`. A move to a terminal
/// status is counted in `asynccheckout_orders_finished_total` here, the one
/// place orders finish.
pub async fn transition(conn: &mut PgConnection, t: &Transition<'_>) -> Result<(), OrderError> {
    t.from.transition_to(t.to)?;
    let moved = sqlx::query_scalar!(
        r#"
        WITH moved AS (
            UPDATE orders
            SET status = $3,
                authorization_id = coalesce($9, authorization_id),
                charge_id = coalesce($4, charge_id),
                refund_id = coalesce($5, refund_id),
                failure_code = coalesce($6, failure_code),
                failure_message = coalesce($7, failure_message),
                updated_at = now()
            WHERE id = $1 AND status = $2
            RETURNING id, status
        )
        INSERT INTO order_history (order_id, status, reason)
        SELECT id, status, $8 FROM moved
        RETURNING order_id
        "#,
        t.order,
        t.from as OrderStatus,
        t.to as OrderStatus,
        t.charge_id,
        t.refund_id,
        t.failure.map(|f| f.code),
        t.failure.map(|f| f.message.as_str()),
        t.reason,
        t.authorization_id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if moved.is_some() {
        count_finished(t.to);
        return Ok(());
    }
    let actual = sqlx::query_scalar!(
        r#"SELECT status AS "status: OrderStatus" FROM orders WHERE id = $1"#,
        t.order
    )
    .fetch_optional(conn)
    .await?;
    Err(OrderError::NotInExpectedState {
        order: t.order,
        expected: t.from,
        actual,
    })
}

/// Counts an order that reached `status`, when it is terminal. Counted when
/// the move is written: a move whose transaction then rolls back (its lease
/// was lost, or the commit failed) is counted again when it is redone.
pub(super) fn count_finished(status: OrderStatus) {
    if status.is_terminal() {
        metrics::counter!("asynccheckout_orders_finished_total", "status" => status.as_str())
            .increment(1);
    }
}
