//! `refund_payment`: give the money back. The refund has its own idempotency
//! key, derived from the order. When the order never learned its charge id
//! (the charge's outcome was unknown), the charge is looked up by its key
//! first; no charge means nothing to refund, and the order is refunded. It
//! keeps trying for a long time: a dead refund is an operator alarm.

use std::sync::Arc;

use async_trait::async_trait;
use shared::orders::{self, OrderStatus, Transition};
use shared::queue::ClaimedTask;
use sqlx::PgConnection;

use super::charge_payment::charge_key;
use super::{SagaDeps, load, order_id, order_of};
use crate::gateway::GatewayError;
use crate::{StepContext, StepError, StepHandler};

pub struct RefundPayment(pub Arc<SagaDeps>);

#[async_trait]
impl StepHandler for RefundPayment {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        let id = order_of(task)?;
        let order = load(&mut *ctx.pool().acquire().await?, id).await?;
        if order.status != OrderStatus::Refunding {
            return Err(StepError::permanent(format!(
                "order {id} is {}, not refunding",
                order.status
            )));
        }
        let gateway = &self.0.gateway;
        let charge_id = match order.charge_id {
            Some(charge) => Some(charge),
            None => gateway
                .find_charge(&charge_key(id), task.traceparent)
                .await
                .map_err(StepError::retryable)?
                .map(|c| c.id),
        };
        let refund_id = match &charge_id {
            None => None,
            Some(charge) => match gateway
                .refund(&format!("refund-{id}"), charge, task.traceparent)
                .await
            {
                Ok(refund) => Some(refund.id),
                // Nothing to give back: the charge does not exist, or is refunded already.
                Err(GatewayError::Refused { status: 404, .. }) => None,
                Err(GatewayError::Refused { code, .. }) if code == "charge_already_refunded" => {
                    None
                }
                Err(e @ GatewayError::Refused { .. }) => return Err(StepError::permanent(e)),
                Err(e @ GatewayError::Unavailable(_)) => return Err(StepError::retryable(e)),
            },
        };
        if refund_id.is_some() {
            crate::crash::crash_point!("refund_payment.after_gateway");
        }
        let reason = if refund_id.is_some() {
            "refund made"
        } else {
            "nothing was charged; nothing to refund"
        };
        let mut refunded =
            Transition::new(id, OrderStatus::Refunding, OrderStatus::Refunded, reason);
        refunded.charge_id = charge_id.as_deref();
        refunded.refund_id = refund_id.as_deref();
        let mut tx = ctx.pool().begin().await?;
        orders::transition(&mut tx, &refunded).await?;
        ctx.complete_with(tx).await?;
        OrderStatus::Refunded.count_finished();
        Ok(())
    }

    async fn on_dead(
        &self,
        payload: &serde_json::Value,
        error: &str,
        _conn: &mut PgConnection,
    ) -> Result<(), sqlx::Error> {
        let order = order_id(payload)
            .map(|id| id.to_string())
            .unwrap_or_default();
        tracing::error!(
            order_id = %order,
            error,
            alarm = "refund_dead",
            "a refund has given up: money is owed to a customer; retry the task once the gateway is back"
        );
        Ok(())
    }
}
