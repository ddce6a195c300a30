//! `cancel_payment`: give back the money of an order cancelled after its
//! payment was taken or held, put back its stock, and end it `cancelled`.
//!
//! Paid automatically, its charge is refunded; paid manually, its hold is
//! voided (or, captured already, refunded). What the gateway says now
//! decides, so a capture that was in flight when the cancel landed is found
//! and refunded. The stock goes back in the statement that ends the order,
//! once. It keeps trying for a long time: a dead one pages.

use std::sync::Arc;

use async_trait::async_trait;
use shared::orders::{CaptureMethod, OrderStatus};
use shared::queue::{ClaimedTask, NewTask};
use sqlx::PgConnection;

use super::release::{self, Done};
use super::{SagaDeps, alarm_dead, order_in};
use crate::{StepContext, StepError, StepHandler};

pub struct CancelPayment(pub Arc<SagaDeps>);

#[async_trait]
impl StepHandler for CancelPayment {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        let order = order_in(ctx, task, OrderStatus::Cancelling).await?.order;
        let gateway = &self.0.gateway;
        let released = match order.capture_method {
            CaptureMethod::Manual => {
                release::release_hold(gateway, &order, task.traceparent).await?
            }
            CaptureMethod::Automatic => {
                release::refund_charge(gateway, &order, task.traceparent).await?
            }
        };
        if released.done != Done::Nothing {
            crate::crash::crash_point!("cancel_payment.after_gateway");
        }
        let cancelled = released.end(
            task,
            order.id,
            OrderStatus::Cancelling,
            OrderStatus::Cancelled,
        );
        ctx.end_step(cancelled).await
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
            "cancel_dead",
            "a cancelled order's payment could not be given back: money may be taken or held, and stock with it",
        );
        Ok(None)
    }
}
