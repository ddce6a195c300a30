//! `reserve_inventory`: take the stock of every line, all or none. It touches
//! only the database, so the stock change, the order's move, the next step
//! and the task's completion are one statement: exactly once.
//!
//! An order paid automatically is `paid` here: reserved, it is `confirmed`;
//! short, its charge is refunded. One paid manually is `authorized`:
//! reserved, its hold is captured next; short, the hold is voided and
//! nothing is ever charged.

use async_trait::async_trait;
use shared::db::Session;
use shared::orders::{self, CaptureMethod, Move, OrderStatus, ShortOfStock, StepEnd, TaskKind};
use shared::queue::ClaimedTask;

use super::{end, order_id};
use crate::{StepContext, StepError, StepHandler};

pub struct ReserveInventory;

#[async_trait]
impl StepHandler for ReserveInventory {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        // No prologue beyond the capture method: the statement itself finds
        // the order where it should be, or writes nothing and says where it is.
        let id = order_id(&task.payload)?;
        let method = match &task.order {
            Some(snapshot) if snapshot.order.id == id => snapshot.order.capture_method,
            _ => {
                let mut conn = Session::acquire(ctx.pool()).await?;
                orders::get(&mut conn, id)
                    .await?
                    .ok_or_else(|| StepError::permanent(format!("order {id} does not exist")))?
                    .capture_method
            }
        };
        let (from, reserved, short) = match method {
            CaptureMethod::Automatic => (
                OrderStatus::Paid,
                Move {
                    to: OrderStatus::Confirmed,
                    reason: "stock reserved",
                    failure: None,
                    then: Some(TaskKind::SendConfirmation),
                },
                ShortOfStock {
                    to: OrderStatus::Refunding,
                    reason: "out of stock after payment",
                    failure_code: "out_of_stock",
                    then: Some(TaskKind::RefundPayment),
                },
            ),
            CaptureMethod::Manual => (
                OrderStatus::Authorized,
                Move {
                    to: OrderStatus::Reserved,
                    reason: "stock reserved",
                    failure: None,
                    then: Some(TaskKind::CapturePayment),
                },
                ShortOfStock {
                    to: OrderStatus::Voiding,
                    reason: "out of stock; the payment was only authorized",
                    failure_code: "out_of_stock",
                    then: Some(TaskKind::VoidAuthorization),
                },
            ),
        };
        ctx.end_step(StepEnd {
            short_of_stock: Some(short),
            ..end(task, id, from, reserved)
        })
        .await
    }
}
