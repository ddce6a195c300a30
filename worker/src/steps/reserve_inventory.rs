//! `reserve_inventory`: take the stock of every line, all or none. It touches
//! only the database, so the stock change, the order's move, the next task
//! and the task's completion are one transaction: exactly once.

use async_trait::async_trait;
use shared::catalog::{self, Reservation};
use shared::orders::{self, Failure, OrderStatus, TaskKind, Transition};
use shared::queue::ClaimedTask;

use super::{next, order_in};
use crate::{StepContext, StepError, StepHandler};

pub struct ReserveInventory;

#[async_trait]
impl StepHandler for ReserveInventory {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        let mut tx = ctx.pool().begin().await?;
        let id = order_in(&mut tx, task, OrderStatus::Paid).await?.id;
        let lines: Vec<(String, i32)> = orders::lines(&mut tx, id)
            .await?
            .into_iter()
            .map(|l| (l.sku, l.quantity))
            .collect();
        let next = match catalog::reserve(&mut tx, &lines).await? {
            Reservation::Reserved => {
                let confirmed = Transition::new(
                    id,
                    OrderStatus::Paid,
                    OrderStatus::Confirmed,
                    "stock reserved",
                );
                orders::transition(&mut tx, &confirmed).await?;
                next(TaskKind::SendConfirmation, id, task.traceparent)
            }
            Reservation::Short {
                sku,
                wanted,
                available,
            } => {
                let failure = Failure::new(
                    "out_of_stock",
                    format!("{sku} is out of stock: the order wants {wanted}, {available} left"),
                );
                let mut refunding = Transition::new(
                    id,
                    OrderStatus::Paid,
                    OrderStatus::Refunding,
                    "out of stock after payment",
                );
                refunding.failure = Some(&failure);
                orders::transition(&mut tx, &refunding).await?;
                next(TaskKind::RefundPayment, id, task.traceparent)
            }
        };
        ctx.enqueue_next(next);
        ctx.complete_with(tx).await
    }
}
