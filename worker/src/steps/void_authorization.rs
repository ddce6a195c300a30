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
use shared::orders::OrderStatus;
use shared::queue::{ClaimedTask, NewTask};
use sqlx::PgConnection;

use super::release::{self, Done};
use super::{SagaDeps, alarm_dead, order_in};
use crate::{StepContext, StepError, StepHandler};

pub struct VoidAuthorization(pub Arc<SagaDeps>);

#[async_trait]
impl StepHandler for VoidAuthorization {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        let order = order_in(ctx, task, OrderStatus::Voiding).await?.order;
        let released = release::release_hold(&self.0.gateway, &order, task.traceparent).await?;
        if released.done != Done::Nothing {
            crate::crash::crash_point!("void_authorization.after_gateway");
        }
        let failed = released.end(task, order.id, OrderStatus::Voiding, OrderStatus::Failed);
        ctx.end_step(failed).await
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
