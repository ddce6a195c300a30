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
use shared::orders::{self, Failure, OrderStatus, TaskKind, Transition};
use shared::queue::ClaimedTask;
use shared::trace::TraceParent;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{SagaDeps, enqueue_next, load, next, order_id, order_of};
use crate::gateway::GatewayError;
use crate::{StepContext, StepError, StepHandler};

pub struct ChargePayment(pub Arc<SagaDeps>);

/// The gateway idempotency key of an order's charge.
pub fn charge_key(order: Uuid) -> String {
    format!("charge-{order}")
}

#[async_trait]
impl StepHandler for ChargePayment {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        let id = order_of(task)?;
        let order = load(&mut *ctx.pool().acquire().await?, id).await?;
        if order.status != OrderStatus::Pending {
            return Err(StepError::permanent(format!(
                "order {id} is {}, not pending",
                order.status
            )));
        }
        let key = charge_key(id);
        let gateway = &self.0.gateway;
        let charged = gateway
            .charge(
                &key,
                order.total_cents,
                &order.currency,
                &order.payment_token,
                id,
                task.traceparent,
            )
            .await;
        let outcome = match charged {
            Ok(charge) => Outcome::Paid(charge.id),
            Err(GatewayError::Refused {
                status: 402,
                code,
                message,
            }) => Outcome::Failed(Failure::new(
                "payment_declined",
                format!("the card was declined ({code}): {message}"),
            )),
            Err(GatewayError::Refused { code, message, .. }) => Outcome::Failed(Failure::new(
                "payment_rejected",
                format!("the payment gateway rejected the payment ({code}): {message}"),
            )),
            Err(e @ GatewayError::Unavailable(_)) if !task.is_last_attempt() => {
                return Err(StepError::retryable(e));
            }
            Err(GatewayError::Unavailable(reason)) => {
                match gateway.find_charge(&key, task.traceparent).await {
                    Ok(Some(charge)) => Outcome::Paid(charge.id),
                    Ok(None) => Outcome::Failed(Failure::new(
                        "payment_unavailable",
                        format!(
                            "the payment gateway could not be reached ({reason}); the card was not charged"
                        ),
                    )),
                    Err(lookup) => Outcome::Unknown(format!(
                        "{reason}; looking the charge up failed too: {lookup}"
                    )),
                }
            }
        };
        if matches!(outcome, Outcome::Paid(_)) {
            crate::crash::crash_point!("charge_payment.after_gateway");
        }
        let failed = matches!(outcome, Outcome::Failed(_));
        let mut tx = ctx.pool().begin().await?;
        outcome
            .record(&mut tx, id, task.traceparent, Some(ctx))
            .await?;
        ctx.complete_with(tx).await?;
        if failed {
            OrderStatus::Failed.count_finished();
        }
        Ok(())
    }

    /// The charge's outcome could not be learned before the task died (its
    /// last attempt crashed, or kept failing): the order is refunded.
    async fn on_dead(
        &self,
        payload: &serde_json::Value,
        error: &str,
        conn: &mut PgConnection,
    ) -> Result<(), sqlx::Error> {
        let Ok(id) = order_id(payload) else {
            return Ok(());
        };
        let unknown = Outcome::Unknown(error.to_owned());
        match unknown.record(conn, id, None, None).await {
            Ok(()) => Ok(()),
            Err(StepError::LeaseLost(_)) | Err(StepError::Permanent(_)) => Ok(()),
            Err(StepError::Retryable(e)) => Err(sqlx::Error::Protocol(e.to_string())),
        }
    }
}

/// What the charge came to.
enum Outcome {
    Paid(String),
    Failed(Failure),
    /// Maybe charged: refund to be safe.
    Unknown(String),
}

impl Outcome {
    async fn record(
        self,
        conn: &mut PgConnection,
        id: Uuid,
        trace: Option<TraceParent>,
        step: Option<&StepContext>,
    ) -> Result<(), StepError> {
        match self {
            Outcome::Paid(charge_id) => {
                let mut paid =
                    Transition::new(id, OrderStatus::Pending, OrderStatus::Paid, "payment taken");
                paid.charge_id = Some(&charge_id);
                orders::transition(conn, &paid).await?;
                enqueue_next(conn, step, next(TaskKind::ReserveInventory, id, trace)).await?;
            }
            Outcome::Failed(failure) => {
                let mut failed = Transition::new(
                    id,
                    OrderStatus::Pending,
                    OrderStatus::Failed,
                    &failure.message,
                );
                failed.failure = Some(&failure);
                orders::transition(conn, &failed).await?;
            }
            Outcome::Unknown(reason) => {
                let failure = Failure::new(
                    "payment_unavailable",
                    format!(
                        "the payment's outcome could not be learned ({reason}); any charge is refunded"
                    ),
                );
                let mut refunding = Transition::new(
                    id,
                    OrderStatus::Pending,
                    OrderStatus::Refunding,
                    "payment outcome unknown",
                );
                refunding.failure = Some(&failure);
                orders::transition(conn, &refunding).await?;
                enqueue_next(conn, step, next(TaskKind::RefundPayment, id, trace)).await?;
            }
        }
        Ok(())
    }
}
