//! Cancelling an order before its payment starts.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{OrderError, OrderStatus, TaskKind, Transition, transition};
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

/// Cancels the order and withdraws its unstarted `charge_payment` task, in
/// the caller's transaction: both happen, or neither.
pub async fn cancel(conn: &mut PgConnection, id: Uuid) -> Result<Cancellation, OrderError> {
    let status = sqlx::query_scalar!(
        r#"SELECT status AS "status: OrderStatus" FROM orders WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(status) = status else {
        return Ok(Cancellation::NotFound);
    };
    if status != OrderStatus::Pending {
        return Ok(Cancellation::NotCancellable(status));
    }
    let withdrawn =
        queue::cancel_unstarted(&mut *conn, id, TaskKind::ChargePayment.as_str()).await?;
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
