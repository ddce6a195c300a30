//! What an order is made of, as stored and as placed.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{CaptureMethod, OrderStatus};
use crate::catalog::Sku;
use crate::money::{Cents, Currency};
use crate::queue::{TaskId, TaskState};

/// An order row.
#[derive(Debug, Clone, Deserialize)]
pub struct Order {
    pub id: Uuid,
    pub status: OrderStatus,
    pub customer_email: String,
    pub currency: String,
    pub total_cents: i64,
    pub payment_token: String,
    pub metadata: serde_json::Value,
    pub capture_method: CaptureMethod,
    /// The gateway's hold on the card (manual capture), once authorized.
    pub authorization_id: Option<String>,
    pub charge_id: Option<String>,
    pub refund_id: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One line of an order, priced when it was placed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderLine {
    pub sku: String,
    pub quantity: i32,
    pub unit_price_cents: i64,
}

/// An order with its lines as a step finds it: read with the step's task
/// when it was claimed, or written by the step before it (the database's
/// `order_snapshot` function, as JSON). Lines never change once placed; the
/// order's status is checked again by every write that moves it.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderSnapshot {
    #[serde(flatten)]
    pub order: Order,
    pub lines: Vec<OrderLine>,
}

impl OrderSnapshot {
    /// Reads the JSON of `order_snapshot`; `None` when there is none or it
    /// does not parse (the step then reads the order itself).
    pub fn from_json(value: Option<serde_json::Value>) -> Option<Self> {
        let value = value?;
        serde_json::from_value(value)
            .inspect_err(|e| tracing::warn!(error = %e, "an order snapshot did not parse; reading the order instead"))
            .ok()
    }
}

/// A status the order had, and why.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub status: OrderStatus,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// A task that moves (or moved) the order.
#[derive(Debug, Clone)]
pub struct OrderTask {
    pub id: TaskId,
    pub kind: String,
    pub state: TaskState,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// Why an order failed or was refunded: a stable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: &'static str,
    pub message: String,
}

impl Failure {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// An order as placed: validated and priced from the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    pub id: Uuid,
    pub customer_email: String,
    pub currency: Currency,
    pub lines: Vec<NewLine>,
    pub total: Cents,
    pub payment_token: String,
    pub metadata: serde_json::Value,
    pub capture_method: CaptureMethod,
    /// The trace of the request that placed it; its saga continues it.
    pub traceparent: Option<crate::trace::TraceParent>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    pub sku: Sku,
    pub quantity: i32,
    pub unit_price: Cents,
}
