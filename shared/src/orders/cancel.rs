//! Cancelling an order: at once while its payment has not started; after
//! it, until its confirmation is sent, by giving the money back.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{CaptureMethod, OrderError, OrderStatus, TaskKind, Transition, transition};
use crate::queue::{self, NewTask};

/// What [`cancel`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancellation {
    /// Cancelled at once: its payment had not started.
    Cancelled,
    /// Its payment was taken or held: the order is `cancelling`, and
    /// `cancel_payment` voids the hold or refunds the charge, puts back the
    /// stock and ends it `cancelled`.
    Cancelling,
    /// The order is past the point of cancelling, for the reason given.
    NotCancellable {
        status: OrderStatus,
        why: &'static str,
    },
    NotFound,
}

/// Cancels the order `id` in the caller's transaction: everything below
/// happens, or nothing.
///
/// - `pending`: its unstarted payment task (`charge_payment` or
///   `authorize_payment`) is withdrawn and the order is `cancelled`. Once
///   that task has run, the payment's outcome may still land at the gateway,
///   so the order can no longer be cancelled until it has moved on.
/// - `authorized`, `reserved`, `paid`, `confirmed`: its waiting tasks are
///   withdrawn, it goes to `cancelling` and `cancel_payment` is queued. A
///   step running meanwhile (a reservation, a capture) finds the order moved
///   on and records nothing; what it did at the gateway, `cancel_payment`
///   reads there and undoes. Once the confirmation has been tried (it is
///   being sent, or an attempt failed after the mail may have left), the
///   cancel is refused: the shopper would be told both.
///
/// The order's row is locked first, as every step's end locks it, so a
/// cancel and a step's end never both move the order: exactly one wins.
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
    let refused = |why| Ok(Cancellation::NotCancellable { status, why });
    match status {
        OrderStatus::Pending => {
            let payment = TaskKind::first_step(order.capture_method);
            let withdrawn = queue::cancel_unstarted(&mut *conn, id, payment.as_str()).await?;
            if withdrawn == 0 {
                return refused("its payment has started");
            }
            let cancelled = Transition::new(
                id,
                OrderStatus::Pending,
                OrderStatus::Cancelled,
                "cancelled by the client",
            );
            transition(conn, &cancelled).await?;
            Ok(Cancellation::Cancelled)
        }
        OrderStatus::Authorized
        | OrderStatus::Reserved
        | OrderStatus::Paid
        | OrderStatus::Confirmed => {
            if !queue::withdraw_waiting(&mut *conn, id, TaskKind::SendConfirmation.as_str()).await?
            {
                return refused("its confirmation has been sent or is being sent");
            }
            let cancelling = Transition::new(
                id,
                status,
                OrderStatus::Cancelling,
                "cancelled by the client; its payment is given back",
            );
            transition(&mut *conn, &cancelling).await?;
            let kind = TaskKind::CancelPayment;
            let task = NewTask::new(kind.as_str(), json!({ "order_id": id }))
                .max_attempts(kind.max_attempts())
                .for_order(id);
            queue::enqueue(conn, &task).await?;
            Ok(Cancellation::Cancelling)
        }
        OrderStatus::Completed => refused("its confirmation was sent"),
        OrderStatus::Refunding | OrderStatus::Voiding | OrderStatus::Cancelling => {
            refused("its payment is already being given back")
        }
        OrderStatus::Failed | OrderStatus::Cancelled | OrderStatus::Refunded => {
            refused("it has ended")
        }
    }
}
