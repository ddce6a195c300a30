//! `reserve_inventory`: take the stock of every line, all or none. It touches
//! only the database, so the stock change, the order's move, the next step
//! and the task's completion are one statement: exactly once.

use async_trait::async_trait;
use shared::orders::{Move, OrderStatus, ShortOfStock, StepEnd, TaskKind};
use shared::queue::ClaimedTask;

use super::{end, order_id};
use crate::{StepContext, StepError, StepHandler};

pub struct ReserveInventory;

#[async_trait]
impl StepHandler for ReserveInventory {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        // No prologue: the statement itself finds the order paid, or writes
        // nothing and says where it is.
        let id = order_id(&task.payload)?;
        let confirmed = Move {
            to: OrderStatus::Confirmed,
            reason: "stock reserved",
            failure: None,
            then: Some(TaskKind::SendConfirmation),
        };
        ctx.end_step(StepEnd {
            short_of_stock: Some(ShortOfStock {
                to: OrderStatus::Refunding,
                reason: "out of stock after payment",
                failure_code: "out_of_stock",
                then: Some(TaskKind::RefundPayment),
            }),
            ..end(task, id, OrderStatus::Paid, confirmed)
        })
        .await
    }
}
