//! `void_authorization`: undo a manual payment, and put the stock back.
//!
//! The hold is found on the order, or by the authorization's key when its
//! outcome was never learned; no hold means nothing to release. What the
//! gateway says of it now decides: still held, it is voided (its own
//! idempotency key); captured after all (a capture whose answer was lost),
//! the capture is refunded; already released (voided, or expired), nothing
//! is left to do. Then, in the statement that ends the order `failed`, any
//! stock it holds goes back. It keeps trying for a long time: a dead void is
//! money held on a customer's card, and pages.

use std::sync::Arc;

use async_trait::async_trait;
use shared::orders::{Move, OrderStatus, StepEnd};
use shared::queue::{ClaimedTask, NewTask};
use sqlx::PgConnection;

use super::{SagaDeps, alarm_dead, authorize_key, end, order_in, refund_key, void_key};
use crate::gateway::{IntentStatus, RefundError, VoidError};
use crate::{StepContext, StepError, StepHandler};

pub struct VoidAuthorization(pub Arc<SagaDeps>);

#[async_trait]
impl StepHandler for VoidAuthorization {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        let order = order_in(ctx, task, OrderStatus::Voiding).await?.order;
        let id = order.id;
        let gateway = &self.0.gateway;
        let trace = task.traceparent;
        // The hold as far as it is known: on the order, or found by the
        // authorization's key when its outcome was never learned.
        let (intent, status) = match order.authorization_id {
            Some(intent) => (intent, IntentStatus::RequiresCapture),
            None => match gateway
                .find_authorization(&authorize_key(id), trace)
                .await
                .map_err(StepError::retryable)?
            {
                Some(found) => (found.id, found.status),
                None => {
                    let nothing = "no payment was authorized; nothing to release";
                    return ctx.end_step(failed(task, id, nothing, None, None)).await;
                }
            },
        };
        let status = match status {
            IntentStatus::RequiresCapture => {
                match gateway.void(&void_key(id), &intent, trace).await {
                    Ok(_) => {
                        crate::crash::crash_point!("void_authorization.after_gateway");
                        let voided = "authorization voided; nothing was charged";
                        return ctx.end_step(failed(task, id, voided, None, None)).await;
                    }
                    // Captured or released since: what it is now decides.
                    Err(VoidError::NotHeld { .. }) => {
                        gateway
                            .payment_intent(&intent, trace)
                            .await
                            .map_err(StepError::retryable)?
                            .status
                    }
                    Err(no @ VoidError::Rejected { .. }) => return Err(StepError::permanent(no)),
                    Err(unknown @ VoidError::Unavailable(_)) => {
                        return Err(StepError::retryable(unknown));
                    }
                }
            }
            other => other,
        };
        match status {
            IntentStatus::Canceled => {
                let released = "the authorization was already released";
                ctx.end_step(failed(task, id, released, None, None)).await
            }
            IntentStatus::Succeeded => {
                let captured = gateway
                    .payment_intent(&intent, trace)
                    .await
                    .map_err(StepError::retryable)?;
                let Some(charge) = captured.latest_charge else {
                    return Err(StepError::retryable(format!(
                        "payment intent {intent} is captured but names no charge to refund"
                    )));
                };
                let refund_id = match gateway.refund(&refund_key(id), &charge, trace).await {
                    Ok(refund) => Some(refund.id),
                    Err(RefundError::NothingToRefund(_)) => None,
                    Err(no @ RefundError::Rejected { .. }) => {
                        return Err(StepError::permanent(no));
                    }
                    Err(unknown @ RefundError::Unavailable(_)) => {
                        return Err(StepError::retryable(unknown));
                    }
                };
                let refunded = "the payment was captured after all; the capture was refunded";
                ctx.end_step(failed(
                    task,
                    id,
                    refunded,
                    Some(&charge),
                    refund_id.as_deref(),
                ))
                .await
            }
            IntentStatus::RequiresCapture | IntentStatus::Other => {
                Err(StepError::retryable(format!(
                    "payment intent {intent} is still held after its void was refused; trying again"
                )))
            }
        }
    }

    async fn on_dead(
        &self,
        payload: &serde_json::Value,
        error: &str,
        _conn: &mut PgConnection,
    ) -> Result<Option<NewTask>, StepError> {
        alarm_dead(
            payload,
            error,
            "void_dead",
            "a void has given up: money may be held on a customer's card, and stock with it",
        );
        Ok(None)
    }
}

/// The end of the compensation: the order `failed` (its failure was
/// recorded when it went to `voiding`), any stock it holds put back.
fn failed<'a>(
    task: &'a ClaimedTask,
    order: uuid::Uuid,
    reason: &'a str,
    charge_id: Option<&'a str>,
    refund_id: Option<&'a str>,
) -> StepEnd<'a> {
    let failed = Move {
        to: OrderStatus::Failed,
        reason,
        failure: None,
        then: None,
    };
    StepEnd {
        charge_id,
        refund_id,
        release_stock: true,
        ..end(task, order, OrderStatus::Voiding, failed)
    }
}
