//! The order saga, one step per task kind:
//!
//! | kind | does | then |
//! | --- | --- | --- |
//! | `charge_payment` | charges the gateway (key `charge-<order>`) | `paid` + `reserve_inventory`, or `failed` |
//! | `reserve_inventory` | takes every line's stock, all or none | `confirmed` + `send_confirmation`, or `refunding` + `refund_payment` |
//! | `send_confirmation` | emails the customer | `completed` |
//! | `refund_payment` | refunds the charge (key `refund-<order>`) | `refunded` |
//!
//! Each step records its outcome, moves its order (with a history row) and
//! enqueues the next step in the one transaction that completes its task,
//! fenced on its lease. Calls to the gateway and the mail server happen
//! before that transaction, never inside it, and are safe to repeat.

mod charge_payment;
mod refund_payment;
mod reserve_inventory;
mod send_confirmation;

use std::sync::Arc;

use serde_json::json;
use shared::orders::{self, Order, OrderError, TaskKind};
use shared::queue::{ClaimedTask, NewTask};
use shared::trace::TraceParent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::gateway::GatewayClient;
use crate::mailer::Mailer;
use crate::{Registry, StepContext, StepError};

/// What the steps talk to beyond the database.
#[derive(Debug, Clone)]
pub struct SagaDeps {
    pub gateway: GatewayClient,
    pub mailer: Mailer,
}

/// Registers every saga step.
pub fn register(registry: &mut Registry, deps: Arc<SagaDeps>) {
    registry
        .register(
            TaskKind::ChargePayment.as_str(),
            charge_payment::ChargePayment(Arc::clone(&deps)),
        )
        .register(
            TaskKind::ReserveInventory.as_str(),
            reserve_inventory::ReserveInventory,
        )
        .register(
            TaskKind::SendConfirmation.as_str(),
            send_confirmation::SendConfirmation(Arc::clone(&deps)),
        )
        .register(
            TaskKind::RefundPayment.as_str(),
            refund_payment::RefundPayment(deps),
        );
}

/// The order a task's payload names.
fn order_id(payload: &serde_json::Value) -> Result<Uuid, StepError> {
    payload
        .get("order_id")
        .and_then(|v| v.as_str())
        .and_then(|v| Uuid::parse_str(v).ok())
        .ok_or_else(|| StepError::permanent(format!("the task payload names no order: {payload}")))
}

async fn load(conn: &mut PgConnection, id: Uuid) -> Result<Order, StepError> {
    orders::get(conn, id)
        .await?
        .ok_or_else(|| StepError::permanent(format!("order {id} does not exist")))
}

/// The task that runs `kind` for `order`, continuing the trace of the step
/// that enqueues it.
fn next(kind: TaskKind, order: Uuid, trace: Option<TraceParent>) -> NewTask {
    let mut task = NewTask::new(kind.as_str(), json!({ "order_id": order }))
        .max_attempts(kind.max_attempts())
        .for_order(order);
    task.traceparent = shared::trace::outgoing(trace);
    task
}

/// Enqueues the next step through the running step, which may hand it to
/// its own worker, or plainly when there is no running step (`on_dead`).
async fn enqueue_next(
    conn: &mut PgConnection,
    step: Option<&StepContext>,
    task: NewTask,
) -> Result<(), StepError> {
    match step {
        Some(ctx) => ctx.enqueue_next(conn, task).await,
        None => {
            shared::queue::enqueue(conn, &task).await?;
            Ok(())
        }
    }
}

fn order_of(task: &ClaimedTask) -> Result<Uuid, StepError> {
    order_id(&task.payload)
}

impl From<OrderError> for StepError {
    fn from(error: OrderError) -> Self {
        match error {
            OrderError::Queue(e) => e.into(),
            OrderError::Database(e) => e.into(),
            e @ (OrderError::Illegal(_) | OrderError::NotInExpectedState { .. }) => {
                StepError::permanent(e)
            }
        }
    }
}
