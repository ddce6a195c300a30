//! `refund_payment`: give the money back. The refund has its own idempotency
//! key, derived from the order. When the order never learned its charge id
//! (the charge's outcome was unknown), the charge is looked up by its key
//! first; no charge means nothing to refund, and the order is refunded. It
//! keeps trying for a long time: a dead refund is an operator alarm.

use std::sync::Arc;

use async_trait::async_trait;
use shared::orders::OrderStatus;
use shared::queue::{ClaimedTask, NewTask};
use sqlx::PgConnection;

use super::release::{self, Done};
use super::{SagaDeps, alarm_dead, order_in};
use crate::{StepContext, StepError, StepHandler};

pub struct RefundPayment(pub Arc<SagaDeps>);

#[async_trait]
impl StepHandler for RefundPayment {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        let order = order_in(ctx, task, OrderStatus::Refunding).await?.order;
        let released = release::refund_charge(&self.0.gateway, &order, task.traceparent).await?;
        if released.done == Done::Refunded {
            crate::crash::crash_point!("refund_payment.after_gateway");
        }
        // A refunding order holds no stock: nothing goes back.
        let refunded = released.end(
            task,
            order.id,
            OrderStatus::Refunding,
            OrderStatus::Refunded,
        );
        ctx.end_step(refunded).await
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
