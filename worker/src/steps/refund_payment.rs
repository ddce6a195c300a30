//! `refund_payment`: give the money back. The refund has its own idempotency
//! key, derived from the order. When the order never learned its charge id
//! (the charge's outcome was unknown), the charge is looked up by its key
//! first; no charge means nothing to refund, and the order is refunded. It
//! keeps trying for a long time: a dead refund is an operator alarm.

use std::sync::Arc;

use async_trait::async_trait;
use shared::orders::{Move, OrderStatus, StepEnd};
use shared::queue::{ClaimedTask, NewTask};
use sqlx::PgConnection;

use super::{SagaDeps, alarm_dead, charge_key, end, order_in, refund_key};
use crate::gateway::RefundError;
use crate::{StepContext, StepError, StepHandler};

pub struct RefundPayment(pub Arc<SagaDeps>);

#[async_trait]
impl StepHandler for RefundPayment {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        let order = order_in(ctx, task, OrderStatus::Refunding).await?.order;
        let id = order.id;
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
                .refund(&refund_key(id), charge, task.traceparent)
                .await
            {
                Ok(refund) => Some(refund.id),
                Err(RefundError::NothingToRefund(_)) => None,
                Err(no @ RefundError::Rejected { .. }) => return Err(StepError::permanent(no)),
                Err(unknown @ RefundError::Unavailable(_)) => {
                    return Err(StepError::retryable(unknown));
                }
            },
        };
        let reason = match refund_id {
            Some(_) => {
                crate::crash::crash_point!("refund_payment.after_gateway");
                "refund made"
            }
            None => "nothing was charged; nothing to refund",
        };
        let refunded = Move {
            to: OrderStatus::Refunded,
            reason,
            failure: None,
            then: None,
        };
        ctx.end_step(StepEnd {
            charge_id: charge_id.as_deref(),
            refund_id: refund_id.as_deref(),
            ..end(task, id, OrderStatus::Refunding, refunded)
        })
        .await
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
            "refund_dead",
            "a refund has given up: money is owed to a customer",
        );
        Ok(None)
    }
}
