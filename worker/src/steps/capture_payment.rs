//! `capture_payment`: take the money held, now that the stock is reserved.
//!
//! The capture has its own idempotency key, derived from the order, and
//! takes the order's whole total. Captured, the order is `confirmed` and its
//! confirmation goes out. When the hold is gone (it expired, or was voided),
//! nothing can be taken: the order goes to `voiding`, which puts its stock
//! back and ends it `failed`, never shipped without money. An unknown
//! outcome is retried for as long as a refund is (the hold lasts days); a
//! capture whose outcome stays unknown to the end is compensated the same
//! way, and the void refunds it should it have been taken after all.

use std::sync::Arc;

use async_trait::async_trait;
use shared::orders::{self, Failure, Move, OrderStatus, StepEnd, TaskKind, Transition};
use shared::queue::{ClaimedTask, NewTask};
use sqlx::PgConnection;

use super::{SagaDeps, authorize_key, capture_key, end, next, order_id, order_in};
use crate::gateway::{CaptureError, IntentStatus, PaymentIntent};
use crate::{StepContext, StepError, StepHandler};

pub struct CapturePayment(pub Arc<SagaDeps>);

#[async_trait]
impl StepHandler for CapturePayment {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        let order = order_in(ctx, task, OrderStatus::Reserved).await?.order;
        let gateway = &self.0.gateway;
        let intent = match order.authorization_id {
            Some(intent) => intent,
            None => {
                match gateway
                    .find_authorization(&authorize_key(order.id), task.traceparent)
                    .await
                    .map_err(StepError::retryable)?
                {
                    Some(intent) => intent.id,
                    None => {
                        let failure = Failure::new(
                            "authorization_missing",
                            "the gateway has no authorization for this order; nothing can be captured",
                        );
                        return ctx.end_step(void_instead(task, order.id, &failure)).await;
                    }
                }
            }
        };
        let captured = gateway
            .capture(
                &capture_key(order.id),
                &intent,
                order.total_cents,
                task.traceparent,
            )
            .await;
        let failure = match captured {
            Ok(captured) => return confirm(ctx, task, order.id, &captured).await,
            Err(CaptureError::Unavailable(unknown)) if !task.is_last_attempt() => {
                return Err(StepError::retryable(unknown));
            }
            // A refusal, or the last attempt's unknown outcome: what the
            // intent says now decides, so a capture that went through is
            // never taken for one that did not.
            Err(error) => {
                let now = gateway
                    .payment_intent(&intent, task.traceparent)
                    .await
                    .map_err(StepError::retryable)?;
                if now.status == IntentStatus::Succeeded {
                    return confirm(ctx, task, order.id, &now).await;
                }
                match error {
                    CaptureError::Lapsed { .. } => Failure::new(
                        "authorization_expired",
                        format!(
                            "the payment could not be captured: {error}; the stock is put back"
                        ),
                    ),
                    CaptureError::Rejected { .. } => Failure::new(
                        "capture_rejected",
                        format!(
                            "the payment could not be captured: {error}; the stock is put back"
                        ),
                    ),
                    CaptureError::Unavailable(_) => Failure::new(
                        "payment_unavailable",
                        format!(
                            "the capture's outcome could not be learned ({error}); the hold is released"
                        ),
                    ),
                }
            }
        };
        ctx.end_step(void_instead(task, order.id, &failure)).await
    }

    /// The capture kept failing until its attempts ran out: the hold is
    /// voided (or refunded, should it have been captured) and the stock put
    /// back, rather than an order left `reserved` for ever.
    async fn on_dead(
        &self,
        payload: &serde_json::Value,
        error: &str,
        conn: &mut PgConnection,
    ) -> Result<Option<NewTask>, StepError> {
        let Ok(id) = order_id(payload) else {
            return Ok(None);
        };
        let failure = Failure::new(
            "capture_failed",
            format!("the payment could not be captured ({error}); the hold is released"),
        );
        let mut transition = Transition::new(
            id,
            OrderStatus::Reserved,
            OrderStatus::Voiding,
            "capture gave up",
        );
        transition.failure = Some(&failure);
        match orders::transition(conn, &transition).await {
            Ok(()) => Ok(Some(next(TaskKind::VoidAuthorization, id, None))),
            // The order moved on already (or is gone): nothing to record.
            Err(orders::OrderError::NotInExpectedState { .. }) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }
}

/// The end of a capture that took the money: `confirmed`, with the charge.
async fn confirm(
    ctx: &StepContext,
    task: &ClaimedTask,
    order: uuid::Uuid,
    captured: &PaymentIntent,
) -> Result<(), StepError> {
    crate::crash::crash_point!("capture_payment.after_gateway");
    let confirmed = Move {
        to: OrderStatus::Confirmed,
        reason: "payment captured",
        failure: None,
        then: Some(TaskKind::SendConfirmation),
    };
    ctx.end_step(StepEnd {
        charge_id: captured.latest_charge.as_deref(),
        ..end(task, order, OrderStatus::Reserved, confirmed)
    })
    .await
}

/// The end of a capture that cannot take the money: `voiding`, for `failure`.
fn void_instead<'a>(task: &'a ClaimedTask, order: uuid::Uuid, failure: &'a Failure) -> StepEnd<'a> {
    let voiding = Move {
        to: OrderStatus::Voiding,
        reason: &failure.message,
        failure: Some(failure),
        then: Some(TaskKind::VoidAuthorization),
    };
    end(task, order, OrderStatus::Reserved, voiding)
}
