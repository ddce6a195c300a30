//! The order saga, one step per task kind:
//!
//! | kind | does | then |
//! | --- | --- | --- |
//! | `charge_payment` | charges the gateway (key `charge-<order>`) | `paid` + `reserve_inventory`, or `failed` |
//! | `authorize_payment` | holds the total on the card (key `authorize-<order>`) | `authorized` + `reserve_inventory`, or `failed` |
//! | `reserve_inventory` | takes every line's stock, all or none | automatic: `confirmed` + `send_confirmation`, or `refunding` + `refund_payment`; manual: `reserved` + `capture_payment`, or `voiding` + `void_authorization` |
//! | `capture_payment` | captures the hold (key `capture-<order>`) | `confirmed` + `send_confirmation`, or `voiding` + `void_authorization` when the hold is gone |
//! | `send_confirmation` | emails the customer | `completed` |
//! | `refund_payment` | refunds the charge (key `refund-<order>`) | `refunded` |
//! | `void_authorization` | releases the hold (key `void-<order>`), refunds a capture that happened after all, puts back any stock | `failed` |
//! | `cancel_payment` | for an order cancelled after its payment: refunds the charge or releases the hold, puts back any stock | `cancelled` |
//!
//! Each step reads as a decision: it takes its order ([`order_in`]: claimed
//! with the task, and checked to be where the step expects it), asks the
//! outside world (the gateway answers already classified: charged,
//! declined, nothing to refund, unavailable…), and then records what that
//! means — moves its order (with a history row) and names the next step —
//! in the one statement that completes its task, fenced on its lease
//! ([`StepContext::end_step`]; the next step is handed to this worker and
//! runs in the same slot). Calls to the gateway and the mail server happen
//! before that statement, never inside a transaction, and are safe to
//! repeat.

mod cancel_payment;
mod capture_payment;
mod refund_payment;
mod release;
mod reserve_inventory;
mod send_confirmation;
mod take_payment;
#[cfg(test)]
mod tests;
mod void_authorization;

use std::sync::Arc;

use serde_json::json;
use shared::db::Session;
use shared::orders::{self, CaptureMethod, Move, OrderSnapshot, OrderStatus, StepEnd, TaskKind};
use shared::queue::{ClaimedTask, NewTask};
use shared::trace::TraceParent;
use uuid::Uuid;

use crate::breaker::Breakers;
use crate::gateway::GatewayClient;
use crate::mailer::Mailer;
use crate::{Registry, StepContext, StepError};

/// What the steps talk to beyond the database.
#[derive(Debug, Clone)]
pub struct SagaDeps {
    pub gateway: GatewayClient,
    pub mailer: Mailer,
}

impl SagaDeps {
    /// The saga's downstreams, each with a circuit breaker in `breakers`
    /// over the steps that call it: the payment gateway's, and the mail
    /// server's.
    pub fn with_breakers(gateway: GatewayClient, mailer: Mailer, breakers: &mut Breakers) -> Self {
        use TaskKind::*;
        let payment_steps = [
            ChargePayment,
            AuthorizePayment,
            CapturePayment,
            RefundPayment,
            VoidAuthorization,
            CancelPayment,
        ]
        .map(TaskKind::as_str);
        let payments = breakers.downstream("payment_gateway", &payment_steps);
        let mail = breakers.downstream("mail_server", &[SendConfirmation.as_str()]);
        Self {
            gateway: gateway.with_health(payments),
            mailer: mailer.with_health(mail),
        }
    }
}

/// Registers every saga step.
pub fn register(registry: &mut Registry, deps: Arc<SagaDeps>) {
    registry
        .register(
            TaskKind::ChargePayment.as_str(),
            take_payment::TakePayment(Arc::clone(&deps), CaptureMethod::Automatic),
        )
        .register(
            TaskKind::AuthorizePayment.as_str(),
            take_payment::TakePayment(Arc::clone(&deps), CaptureMethod::Manual),
        )
        .register(
            TaskKind::CapturePayment.as_str(),
            capture_payment::CapturePayment(Arc::clone(&deps)),
        )
        .register(
            TaskKind::VoidAuthorization.as_str(),
            void_authorization::VoidAuthorization(Arc::clone(&deps)),
        )
        .register(
            TaskKind::CancelPayment.as_str(),
            cancel_payment::CancelPayment(Arc::clone(&deps)),
        )
        .register(
            TaskKind::ReserveInventory.as_str(),
            reserve_inventory::ReserveInventory,
        )
        .register(
            TaskKind::SendConfirmation.as_str(),
            send_confirmation::SendConfirmation(Arc::clone(&deps)),
        )
        .register(
            TaskKind::RefundPayment.as_str(),
            refund_payment::RefundPayment(deps),
        );
}

/// The order a task's payload names.
fn order_id(payload: &serde_json::Value) -> Result<Uuid, StepError> {
    payload
        .get("order_id")
        .and_then(|v| v.as_str())
        .and_then(|v| Uuid::parse_str(v).ok())
        .ok_or_else(|| StepError::permanent(format!("the task payload names no order: {payload}")))
}

/// Every step's prologue: the order `task` moves, with its lines, which
/// must be `expected` (any other status means the step has nothing to do,
/// for good: [`StepError::Moot`] when a cancel or the deadline moved it to
/// be compensated, which completes the task, a permanent error otherwise). The claim brought it along; a task
/// claimed without it reads it.
async fn order_in(
    ctx: &StepContext,
    task: &ClaimedTask,
    expected: OrderStatus,
) -> Result<OrderSnapshot, StepError> {
    let id = order_id(&task.payload)?;
    let snapshot = match &task.order {
        Some(snapshot) if snapshot.order.id == id => (**snapshot).clone(),
        _ => {
            let mut conn = Session::acquire(ctx.pool()).await?;
            orders::snapshot(&mut conn, id)
                .await?
                .ok_or_else(|| StepError::permanent(format!("order {id} does not exist")))?
        }
    };
    let status = snapshot.order.status;
    if status != expected && status.is_compensating() {
        return Err(StepError::Moot(format!(
            "order {id} was moved on ({status})"
        )));
    }
    if snapshot.order.status != expected {
        return Err(StepError::permanent(format!(
            "order {id} is {}, not {expected}",
            snapshot.order.status
        )));
    }
    Ok(snapshot)
}

/// Logs, as an alarm an operator is paged on, that the compensation of the
/// order `payload` names gave up; it stays to be retried by hand.
fn alarm_dead(payload: &serde_json::Value, error: &str, alarm: &'static str, what: &str) {
    let order = order_id(payload)
        .map(|id| id.to_string())
        .unwrap_or_default();
    tracing::error!(order_id = %order, error, alarm, "{what}; retry the task once the gateway is back");
}

/// The end of `task`'s step: its order moved from `from` as `to` says, the
/// next step continuing the task's trace.
fn end<'a>(task: &'a ClaimedTask, order: Uuid, from: OrderStatus, to: Move<'a>) -> StepEnd<'a> {
    StepEnd {
        traceparent: shared::trace::outgoing(task.traceparent),
        ..StepEnd::new(&task.lease, order, from, to)
    }
}

/// The gateway idempotency key of an order's charge.
pub fn charge_key(order: Uuid) -> String {
    format!("charge-{order}")
}

/// The gateway idempotency key of an order's authorization (its hold).
pub fn authorize_key(order: Uuid) -> String {
    format!("authorize-{order}")
}

/// The gateway idempotency key of the capture of an order's hold.
pub fn capture_key(order: Uuid) -> String {
    format!("capture-{order}")
}

/// The gateway idempotency key of the void of an order's hold.
pub fn void_key(order: Uuid) -> String {
    format!("void-{order}")
}

/// The gateway idempotency key of an order's refund.
pub fn refund_key(order: Uuid) -> String {
    format!("refund-{order}")
}

/// The task that runs `kind` for `order`, continuing the trace of the step
/// that enqueues it.
fn next(kind: TaskKind, order: Uuid, trace: Option<TraceParent>) -> NewTask {
    let mut task = NewTask::new(kind.as_str(), json!({ "order_id": order }))
        .max_attempts(kind.max_attempts())
        .for_order(order);
    task.traceparent = shared::trace::outgoing(trace);
    task
}
