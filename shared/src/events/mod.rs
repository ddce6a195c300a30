//! Order events: one per status an order takes, written by the database in
//! the transaction that moved the order (see the `order_events` migration),
//! numbered by that transaction's id as they are written (the
//! `events_numbered_at_insert` migration), read back in pages below the
//! horizon of transactions still in flight by [`read`], and pruned past
//! their retention by [`retention`].

pub mod read;
pub mod retention;
pub mod stream_tokens;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::orders::OrderStatus;

/// One event.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderEvent {
    /// Read below the horizon, where every event with a smaller id is
    /// already readable.
    pub id: i64,
    pub order_id: Uuid,
    /// `order.<status>`, e.g. `order.paid`.
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    /// The order as the API showed it when it took this status.
    pub order: serde_json::Value,
}

impl OrderEvent {
    /// The event's JSON, as the API and webhooks send it (after Stripe's
    /// Event object): `id`, `type`, `created`, `data.object`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "type": self.event_type,
            "created": self.created_at.to_rfc3339(),
            "data": { "object": self.order },
        })
    }
}

/// The type of the event an order writes when it takes `status`, e.g.
/// `order.paid` (the `order_history_event` trigger writes the same).
pub fn event_type(status: OrderStatus) -> String {
    format!("order.{}", status.as_str())
}

/// The status an event type stands for; `None` for no event type.
pub fn status_of(event_type: &str) -> Option<OrderStatus> {
    let status = event_type.strip_prefix("order.")?;
    OrderStatus::ALL.into_iter().find(|s| s.as_str() == status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_an_event_type_that_reads_back() {
        for status in OrderStatus::ALL {
            assert_eq!(status_of(&event_type(status)), Some(status));
        }
        assert_eq!(event_type(OrderStatus::Paid), "order.paid");
        assert_eq!(status_of("order.shipped"), None);
        assert_eq!(status_of("paid"), None);
    }
}
