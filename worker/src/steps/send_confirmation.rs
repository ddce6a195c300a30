//! `send_confirmation`: email the customer, then complete the order. The
//! message's `Message-ID` is derived from the order, so a message sent twice
//! (a crash between sending and recording) is recognisably the same one. A
//! dead confirmation leaves the order `confirmed`: it never refunds.

use std::sync::Arc;

use async_trait::async_trait;
use lettre::Message;
use lettre::message::header::ContentType;
use shared::orders::{Move, Order, OrderLine, OrderSnapshot, OrderStatus};
use shared::queue::ClaimedTask;

use super::{SagaDeps, end, order_in};
use crate::{StepContext, StepError, StepHandler};

pub struct SendConfirmation(pub Arc<SagaDeps>);

#[async_trait]
impl StepHandler for SendConfirmation {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        let OrderSnapshot { order, lines } = order_in(ctx, task, OrderStatus::Confirmed).await?;
        let id = order.id;
        let to = order.customer_email.parse().map_err(|e| {
            StepError::permanent(format!("cannot mail {:?}: {e}", order.customer_email))
        })?;
        let message = Message::builder()
            .from(self.0.mailer.from.clone())
            .to(to)
            .subject(format!("Your order {id} is confirmed"))
            .message_id(Some(format!("<order-{id}@asynccheckout>")))
            .header(ContentType::TEXT_PLAIN)
            .body(body(&order, &lines))
            .map_err(StepError::permanent)?;
        self.0
            .mailer
            .send(message)
            .await
            .map_err(StepError::retryable)?;
        crate::crash::crash_point!("send_confirmation.after_send");

        let completed = Move {
            to: OrderStatus::Completed,
            reason: "confirmation sent",
            failure: None,
            then: None,
        };
        ctx.end_step(end(task, id, OrderStatus::Confirmed, completed))
            .await
    }
}

fn body(order: &Order, lines: &[OrderLine]) -> String {
    let mut text = format!("Thank you for your order.\n\nOrder: {}\n\n", order.id);
    for line in lines {
        text.push_str(&format!(
            "  {} x {} at {} {}\n",
            line.quantity,
            line.sku,
            money(line.unit_price_cents),
            order.currency
        ));
    }
    text.push_str(&format!(
        "\nTotal: {} {}\n",
        money(order.total_cents),
        order.currency
    ));
    text
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}
