//! `charge_payment` and `authorize_payment`: take the money, or hold it.
//!
//! An order paid automatically is charged; one paid manually is authorized
//! (a hold on the card, captured later by `capture_payment`). Either way the
//! idempotency key is derived from the order, so every attempt asks the
//! gateway for the same payment and gets the first answer back. A declined
//! card fails the order (nothing to undo). An unknown outcome is retried; on
//! the last attempt the payment is looked up by its key: found, the order
//! moves on; known absent, it fails; still unknown, it is compensated (a
//! refund or a void of a payment that never happened is a no-op).

use std::sync::Arc;

use async_trait::async_trait;
use shared::orders::{
    self, CaptureMethod, Failure, Move, Order, OrderStatus, StepEnd, TaskKind, Transition,
};
use shared::queue::{ClaimedTask, NewTask};
use shared::trace::TraceParent;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{SagaDeps, authorize_key, charge_key, end, next, order_id, order_in};
use crate::gateway::{ChargeError, Unavailable};
use crate::{StepContext, StepError, StepHandler};

/// The payment step of orders paid by its capture method:
/// `charge_payment` (automatic: the total charged at once) or
/// `authorize_payment` (manual: the total held on the card).
pub struct TakePayment(pub Arc<SagaDeps>, pub CaptureMethod);

#[async_trait]
impl StepHandler for TakePayment {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        take(&self.0, self.1, task, ctx).await
    }

    /// The payment's outcome could not be learned before the task died (its
    /// last attempt crashed, or kept failing): the charge is refunded, or
    /// the hold voided.
    async fn on_dead(
        &self,
        payload: &serde_json::Value,
        error: &str,
        conn: &mut PgConnection,
    ) -> Result<Option<NewTask>, StepError> {
        record_dead(self.1, payload, error, conn).await
    }
}

/// Takes (or holds) the payment of the pending order `task` moves, and
/// moves the order by what the gateway answered.
async fn take(
    deps: &SagaDeps,
    method: CaptureMethod,
    task: &ClaimedTask,
    ctx: &StepContext,
) -> Result<(), StepError> {
    let order = order_in(ctx, task, OrderStatus::Pending).await?.order;
    let decision = decide(deps, method, task, &order).await?;
    if matches!(decision, PaymentDecision::Taken(_)) {
        match method {
            CaptureMethod::Automatic => crate::crash::crash_point!("charge_payment.after_gateway"),
            CaptureMethod::Manual => crate::crash::crash_point!("authorize_payment.after_gateway"),
        }
    }
    let (to, payment_id) = decision.order_move(method);
    let (charge_id, authorization_id) = match method {
        CaptureMethod::Automatic => (payment_id, None),
        CaptureMethod::Manual => (None, payment_id),
    };
    ctx.end_step(StepEnd {
        charge_id,
        authorization_id,
        ..end(task, order.id, OrderStatus::Pending, to)
    })
    .await
}

/// Records, in the transaction that buries a dead payment task, that its
/// outcome is unknown: the order is compensated.
async fn record_dead(
    method: CaptureMethod,
    payload: &serde_json::Value,
    error: &str,
    conn: &mut PgConnection,
) -> Result<Option<NewTask>, StepError> {
    let Ok(id) = order_id(payload) else {
        return Ok(None);
    };
    let unknown = PaymentDecision::unknown(method, error);
    match unknown.record(method, conn, id, None).await {
        // The order moved on already (or is gone): nothing to record.
        Err(StepError::LeaseLost(_) | StepError::Permanent(_)) => Ok(None),
        recorded => recorded,
    }
}

/// Asks the gateway for the order's payment, and decides what its answer
/// means. `Err` only when the answer is unknown and attempts remain.
async fn decide(
    deps: &SagaDeps,
    method: CaptureMethod,
    task: &ClaimedTask,
    order: &Order,
) -> Result<PaymentDecision, StepError> {
    let gateway = &deps.gateway;
    let (key, taken) = match method {
        CaptureMethod::Automatic => {
            let key = charge_key(order.id);
            let charged = gateway
                .charge(
                    &key,
                    order.total_cents,
                    &order.currency,
                    &order.payment_token,
                    order.id,
                    task.traceparent,
                )
                .await;
            (key, charged.map(|charge| charge.id))
        }
        CaptureMethod::Manual => {
            let key = authorize_key(order.id);
            let held = gateway
                .authorize(
                    &key,
                    order.total_cents,
                    &order.currency,
                    &order.payment_token,
                    order.id,
                    task.traceparent,
                )
                .await;
            (key, held.map(|intent| intent.id))
        }
    };
    Ok(match taken {
        Ok(id) => PaymentDecision::Taken(id),
        Err(no @ ChargeError::Declined { .. }) => {
            PaymentDecision::Failed(Failure::new("payment_declined", no.to_string()))
        }
        Err(no @ ChargeError::Rejected { .. }) => {
            PaymentDecision::Failed(Failure::new("payment_rejected", no.to_string()))
        }
        Err(ChargeError::Unavailable(unknown)) if !task.is_last_attempt() => {
            return Err(StepError::retryable(unknown));
        }
        Err(ChargeError::Unavailable(Unavailable(reason))) => {
            let found = match method {
                CaptureMethod::Automatic => gateway
                    .find_charge(&key, task.traceparent)
                    .await
                    .map(|c| c.map(|c| c.id)),
                CaptureMethod::Manual => gateway
                    .find_authorization(&key, task.traceparent)
                    .await
                    .map(|i| i.map(|i| i.id)),
            };
            match found {
                Ok(Some(id)) => PaymentDecision::Taken(id),
                Ok(None) => PaymentDecision::Failed(Failure::new(
                    "payment_unavailable",
                    format!(
                        "the payment gateway could not be reached ({reason}); the card was not charged"
                    ),
                )),
                Err(lookup) => PaymentDecision::unknown(
                    method,
                    &format!("{reason}; looking the payment up failed too: {lookup}"),
                ),
            }
        }
    })
}

/// What the gateway's answer means for the order.
#[derive(Debug)]
enum PaymentDecision {
    /// Charged (or held), with this charge (or payment intent): reserve the
    /// stock next.
    Taken(String),
    /// Definitely not charged: the order fails.
    Failed(Failure),
    /// Maybe charged (or held): refund (or void) to be safe.
    Unknown(Failure),
}

impl PaymentDecision {
    /// The outcome could not be learned, for `reason`.
    fn unknown(method: CaptureMethod, reason: &str) -> Self {
        let undo = match method {
            CaptureMethod::Automatic => "any charge is refunded",
            CaptureMethod::Manual => "any hold is released",
        };
        Self::Unknown(Failure::new(
            "payment_unavailable",
            format!("the payment's outcome could not be learned ({reason}); {undo}"),
        ))
    }

    /// The order's move, and the payment to record on it.
    fn order_move(&self, method: CaptureMethod) -> (Move<'_>, Option<&str>) {
        match (self, method) {
            (Self::Taken(charge_id), CaptureMethod::Automatic) => (
                Move {
                    to: OrderStatus::Paid,
                    reason: "payment taken",
                    failure: None,
                    then: Some(TaskKind::ReserveInventory),
                },
                Some(charge_id),
            ),
            (Self::Taken(intent_id), CaptureMethod::Manual) => (
                Move {
                    to: OrderStatus::Authorized,
                    reason: "payment authorized",
                    failure: None,
                    then: Some(TaskKind::ReserveInventory),
                },
                Some(intent_id),
            ),
            (Self::Failed(failure), _) => (
                Move {
                    to: OrderStatus::Failed,
                    reason: &failure.message,
                    failure: Some(failure),
                    then: None,
                },
                None,
            ),
            (Self::Unknown(failure), CaptureMethod::Automatic) => (
                Move {
                    to: OrderStatus::Refunding,
                    reason: "payment outcome unknown",
                    failure: Some(failure),
                    then: Some(TaskKind::RefundPayment),
                },
                None,
            ),
            (Self::Unknown(failure), CaptureMethod::Manual) => (
                Move {
                    to: OrderStatus::Voiding,
                    reason: "authorization outcome unknown",
                    failure: Some(failure),
                    then: Some(TaskKind::VoidAuthorization),
                },
                None,
            ),
        }
    }

    /// Moves the order accordingly in `conn`, inside the transaction that
    /// buries a dead task; returns the step to run next.
    async fn record(
        self,
        method: CaptureMethod,
        conn: &mut PgConnection,
        id: Uuid,
        trace: Option<TraceParent>,
    ) -> Result<Option<NewTask>, StepError> {
        let (to, payment_id) = self.order_move(method);
        let mut transition = Transition::new(id, OrderStatus::Pending, to.to, to.reason);
        match method {
            CaptureMethod::Automatic => transition.charge_id = payment_id,
            CaptureMethod::Manual => transition.authorization_id = payment_id,
        }
        transition.failure = to.failure;
        orders::transition(conn, &transition).await?;
        Ok(to.then.map(|kind| next(kind, id, trace)))
    }
}
