//! `charge_payment`: take the money.
//!
//! The idempotency key is derived from the order, so every attempt asks the
//! gateway for the same charge and gets the first answer back. A declined
//! card fails the order (nothing to undo). An unknown outcome is retried;
//! on the last attempt the charge is looked up by its key: found, the order
//! is paid; known absent, it fails; still unknown, it is refunded (a refund
//! of a charge that never happened is a no-op).

use std::sync::Arc;

use async_trait::async_trait;
use shared::orders::{self, Failure, Move, Order, OrderStatus, StepEnd, TaskKind, Transition};
use shared::queue::{ClaimedTask, NewTask};
use shared::trace::TraceParent;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{SagaDeps, charge_key, end, next, order_id, order_in};
use crate::gateway::{ChargeError, Unavailable};
use crate::{StepContext, StepError, StepHandler};

pub struct ChargePayment(pub Arc<SagaDeps>);

#[async_trait]
impl StepHandler for ChargePayment {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        let order = order_in(ctx, task, OrderStatus::Pending).await?.order;
        let decision = self.decide(task, &order).await?;
        if matches!(decision, PaymentDecision::Paid(_)) {
            crate::crash::crash_point!("charge_payment.after_gateway");
        }
        let (to, charge_id) = decision.order_move();
        ctx.end_step(StepEnd {
            charge_id,
            ..end(task, order.id, OrderStatus::Pending, to)
        })
        .await
    }

    /// The charge's outcome could not be learned before the task died (its
    /// last attempt crashed, or kept failing): the order is refunded.
    async fn on_dead(
        &self,
        payload: &serde_json::Value,
        error: &str,
        conn: &mut PgConnection,
    ) -> Result<Option<NewTask>, StepError> {
        let Ok(id) = order_id(payload) else {
            return Ok(None);
        };
        let unknown = PaymentDecision::unknown(error);
        match unknown.record(conn, id, None).await {
            // The order moved on already (or is gone): nothing to record.
            Err(StepError::LeaseLost(_) | StepError::Permanent(_)) => Ok(None),
            recorded => recorded,
        }
    }
}

impl ChargePayment {
    /// Asks the gateway for the order's charge, and decides what its answer
    /// means. `Err` only when the answer is unknown and attempts remain.
    async fn decide(
        &self,
        task: &ClaimedTask,
        order: &Order,
    ) -> Result<PaymentDecision, StepError> {
        let key = charge_key(order.id);
        let gateway = &self.0.gateway;
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
        Ok(match charged {
            Ok(charge) => PaymentDecision::Paid(charge.id),
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
                match gateway.find_charge(&key, task.traceparent).await {
                    Ok(Some(charge)) => PaymentDecision::Paid(charge.id),
                    Ok(None) => PaymentDecision::Failed(Failure::new(
                        "payment_unavailable",
                        format!(
                            "the payment gateway could not be reached ({reason}); the card was not charged"
                        ),
                    )),
                    Err(lookup) => PaymentDecision::unknown(&format!(
                        "{reason}; looking the charge up failed too: {lookup}"
                    )),
                }
            }
        })
    }
}

/// What the gateway's answer means for the order.
#[derive(Debug)]
enum PaymentDecision {
    /// Charged, with this charge id: reserve the stock next.
    Paid(String),
    /// Definitely not charged: the order fails.
    Failed(Failure),
    /// Maybe charged: refund to be safe.
    Unknown(Failure),
}

impl PaymentDecision {
    /// The outcome could not be learned, for `reason`.
    fn unknown(reason: &str) -> Self {
        Self::Unknown(Failure::new(
            "payment_unavailable",
            format!(
                "the payment's outcome could not be learned ({reason}); any charge is refunded"
            ),
        ))
    }

    /// The order's move, and the charge to record on it.
    fn order_move(&self) -> (Move<'_>, Option<&str>) {
        match self {
            Self::Paid(charge_id) => (
                Move {
                    to: OrderStatus::Paid,
                    reason: "payment taken",
                    failure: None,
                    then: Some(TaskKind::ReserveInventory),
                },
                Some(charge_id),
            ),
            Self::Failed(failure) => (
                Move {
                    to: OrderStatus::Failed,
                    reason: &failure.message,
                    failure: Some(failure),
                    then: None,
                },
                None,
            ),
            Self::Unknown(failure) => (
                Move {
                    to: OrderStatus::Refunding,
                    reason: "payment outcome unknown",
                    failure: Some(failure),
                    then: Some(TaskKind::RefundPayment),
                },
                None,
            ),
        }
    }

    /// Moves the order accordingly in `conn`, inside the transaction that
    /// buries a dead task; returns the step to run next.
    async fn record(
        self,
        conn: &mut PgConnection,
        id: Uuid,
        trace: Option<TraceParent>,
    ) -> Result<Option<NewTask>, StepError> {
        let (to, charge_id) = self.order_move();
        let mut transition = Transition::new(id, OrderStatus::Pending, to.to, to.reason);
        transition.charge_id = charge_id;
        transition.failure = to.failure;
        orders::transition(conn, &transition).await?;
        Ok(to.then.map(|kind| next(kind, id, trace)))
    }
}
