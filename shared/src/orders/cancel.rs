//! Cancelling an order before its payment starts.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{CaptureMethod, OrderError, OrderStatus, TaskKind, Transition, transition};
use crate::queue;

/// What [`cancel`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancellation {
    Cancelled,
    /// The order is past the point of cancelling: not pending, or its payment
    /// has started (the charge task ran at least once or is running).
    NotCancellable(OrderStatus),
    NotFound,
}

/// Cancels the order and withdraws its unstarted payment task
/// (`charge_payment` or `authorize_payment`), in the caller's transaction:
/// both happen, or neither.
pub async fn cancel(conn: &mut PgConnection, id: Uuid) -> Result<Cancellation, OrderError> {
    let order = sqlx::query!(
        r#"SELECT status AS "status: OrderStatus",
                  capture_method AS "capture_method: CaptureMethod"
           FROM orders WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(order) = order else {
        return Ok(Cancellation::NotFound);
    };
    let status = order.status;
    if status != OrderStatus::Pending {
        return Ok(Cancellation::NotCancellable(status));
    }
    let payment = TaskKind::first_step(order.capture_method);
    let withdrawn = queue::cancel_unstarted(&mut *conn, id, payment.as_str()).await?;
    if withdrawn == 0 {
        return Ok(Cancellation::NotCancellable(status));
    }
    transition(
        conn,
        &Transition::new(
            id,
            OrderStatus::Pending,
            OrderStatus::Cancelled,
            "cancelled by the client",
        ),
    )
    .await?;
    Ok(Cancellation::Cancelled)
}
