//! How orders look on the wire. Mirrors of the domain enums live here so the
//! domain stays free of HTTP concerns.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use shared::orders::{CaptureMethod, HistoryEntry, Order, OrderLine, OrderStatus, OrderTask};
use shared::queue::TaskState;
use uuid::Uuid;

/// Where an order is in its saga. Paid automatically: `pending` → `paid` →
/// `confirmed` → `completed`, or `refunding` → `refunded`. Paid manually:
/// `pending` → `authorized` → `reserved` → `confirmed` → `completed`, or
/// `voiding` → `failed`. Cancelled after its payment (until the
/// confirmation is sent): `cancelling` → `cancelled`. Terminal: `completed`,
/// `failed`, `cancelled`, `refunded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "OrderStatus", rename_all = "snake_case")]
pub enum OrderStatusView {
    Pending,
    Paid,
    Authorized,
    Reserved,
    Confirmed,
    Completed,
    Failed,
    Cancelled,
    Refunding,
    Refunded,
    Voiding,
    Cancelling,
}

impl From<OrderStatus> for OrderStatusView {
    fn from(status: OrderStatus) -> Self {
        match status {
            OrderStatus::Pending => Self::Pending,
            OrderStatus::Paid => Self::Paid,
            OrderStatus::Authorized => Self::Authorized,
            OrderStatus::Reserved => Self::Reserved,
            OrderStatus::Confirmed => Self::Confirmed,
            OrderStatus::Completed => Self::Completed,
            OrderStatus::Failed => Self::Failed,
            OrderStatus::Cancelled => Self::Cancelled,
            OrderStatus::Refunding => Self::Refunding,
            OrderStatus::Refunded => Self::Refunded,
            OrderStatus::Voiding => Self::Voiding,
            OrderStatus::Cancelling => Self::Cancelling,
        }
    }
}

impl From<OrderStatusView> for OrderStatus {
    fn from(status: OrderStatusView) -> Self {
        match status {
            OrderStatusView::Pending => Self::Pending,
            OrderStatusView::Paid => Self::Paid,
            OrderStatusView::Authorized => Self::Authorized,
            OrderStatusView::Reserved => Self::Reserved,
            OrderStatusView::Confirmed => Self::Confirmed,
            OrderStatusView::Completed => Self::Completed,
            OrderStatusView::Failed => Self::Failed,
            OrderStatusView::Cancelled => Self::Cancelled,
            OrderStatusView::Refunding => Self::Refunding,
            OrderStatusView::Refunded => Self::Refunded,
            OrderStatusView::Voiding => Self::Voiding,
            OrderStatusView::Cancelling => Self::Cancelling,
        }
    }
}

/// How the order's payment is taken: `automatic` charges the card at once
/// (a shortfall of stock is refunded); `manual` authorizes it, reserves the
/// stock and only then captures (a shortfall voids the hold: nothing is
/// charged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "CaptureMethod", rename_all = "snake_case")]
pub enum CaptureMethodView {
    Automatic,
    Manual,
}

impl From<CaptureMethod> for CaptureMethodView {
    fn from(method: CaptureMethod) -> Self {
        match method {
            CaptureMethod::Automatic => Self::Automatic,
            CaptureMethod::Manual => Self::Manual,
        }
    }
}

impl From<CaptureMethodView> for CaptureMethod {
    fn from(method: CaptureMethodView) -> Self {
        match method {
            CaptureMethodView::Automatic => Self::Automatic,
            CaptureMethodView::Manual => Self::Manual,
        }
    }
}

/// A task's state in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "TaskState", rename_all = "snake_case")]
pub enum TaskStateView {
    Available,
    Running,
    Completed,
    Dead,
    Cancelled,
}

impl From<TaskState> for TaskStateView {
    fn from(state: TaskState) -> Self {
        match state {
            TaskState::Available => Self::Available,
            TaskState::Running => Self::Running,
            TaskState::Completed => Self::Completed,
            TaskState::Dead => Self::Dead,
            TaskState::Cancelled => Self::Cancelled,
        }
    }
}

/// An order with everything known about it.
#[derive(Debug, Object)]
#[oai(rename = "Order", example)]
pub struct OrderView {
    pub id: Uuid,
    pub status: OrderStatusView,
    pub customer_email: String,
    /// ISO 4217 code of every line.
    pub currency: String,
    /// Sum of quantity × unit price over the lines, in minor units.
    pub total_cents: i64,
    pub items: Vec<OrderItemView>,
    pub payment: PaymentView,
    /// Why the order failed or was refunded; `null` otherwise.
    #[oai(nullable)]
    pub failure: Option<FailureView>,
    pub metadata: HashMap<String, String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every status the order has had, oldest first.
    pub history: Vec<HistoryView>,
    /// The saga's tasks for this order, oldest first.
    pub tasks: Vec<TaskView>,
}

/// An order without its lines, history and tasks, as listed.
#[derive(Debug, Object)]
pub struct OrderSummary {
    pub id: Uuid,
    pub status: OrderStatusView,
    pub customer_email: String,
    pub currency: String,
    pub total_cents: i64,
    #[oai(nullable)]
    pub failure: Option<FailureView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One line, at the price it was placed at.
#[derive(Debug, Object)]
#[oai(rename = "OrderItem")]
pub struct OrderItemView {
    pub sku: String,
    pub quantity: i32,
    pub unit_price_cents: i64,
}

/// The gateway's references for the order's money.
#[derive(Debug, Object)]
#[oai(rename = "Payment")]
pub struct PaymentView {
    pub capture_method: CaptureMethodView,
    /// The hold on the card (manual capture), once authorized.
    #[oai(nullable)]
    pub authorization_id: Option<String>,
    /// The charge, once taken (captured, for manual capture).
    #[oai(nullable)]
    pub charge_id: Option<String>,
    /// The refund, once made.
    #[oai(nullable)]
    pub refund_id: Option<String>,
}

/// A stable code (`payment_declined`, `out_of_stock`, `payment_unavailable`,
/// …) and a message for people.
#[derive(Debug, Object)]
#[oai(rename = "Failure")]
pub struct FailureView {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Object)]
#[oai(rename = "HistoryEntry")]
pub struct HistoryView {
    pub status: OrderStatusView,
    pub at: DateTime<Utc>,
    /// Why the order moved.
    #[oai(nullable)]
    pub reason: Option<String>,
}

#[derive(Debug, Object)]
#[oai(rename = "OrderTask")]
pub struct TaskView {
    pub id: i64,
    /// `charge_payment` or `authorize_payment`, `reserve_inventory`,
    /// `capture_payment`, `send_confirmation`, `refund_payment`,
    /// `void_authorization` or `cancel_payment`.
    pub kind: String,
    pub state: TaskStateView,
    pub attempts: i32,
    pub max_attempts: i32,
    #[oai(nullable)]
    pub last_error: Option<String>,
    /// When it runs (next), or ran last.
    pub run_at: DateTime<Utc>,
}

/// The timestamp the documentation's examples use.
pub fn example_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T12:00:00.000Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// The example is what a 202 answers: an order just placed, its payment
/// waiting to be taken.
impl poem_openapi::types::Example for OrderView {
    fn example() -> Self {
        let at = example_time();
        Self {
            id: Uuid::from_u128(0x01a2_1436_b906_7687_8cd3_6050_832a_b317),
            status: OrderStatusView::Pending,
            customer_email: "ada@example.com".to_owned(),
            currency: "USD".to_owned(),
            total_cents: 3998,
            items: vec![OrderItemView {
                sku: "TSHIRT-M".to_owned(),
                quantity: 2,
                unit_price_cents: 1999,
            }],
            payment: PaymentView {
                capture_method: CaptureMethodView::Automatic,
                authorization_id: None,
                charge_id: None,
                refund_id: None,
            },
            failure: None,
            metadata: HashMap::from([("cart_id".to_owned(), "c_123".to_owned())]),
            created_at: at,
            updated_at: at,
            history: vec![HistoryView {
                status: OrderStatusView::Pending,
                at,
                reason: None,
            }],
            tasks: vec![TaskView {
                id: 1,
                kind: "charge_payment".to_owned(),
                state: TaskStateView::Available,
                attempts: 0,
                max_attempts: 8,
                last_error: None,
                run_at: at,
            }],
        }
    }
}

fn failure(order: &Order) -> Option<FailureView> {
    match (&order.failure_code, &order.failure_message) {
        (Some(code), Some(message)) => Some(FailureView {
            code: code.clone(),
            message: message.clone(),
        }),
        _ => None,
    }
}

fn metadata(order: &Order) -> HashMap<String, String> {
    order
        .metadata
        .as_object()
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

impl OrderView {
    pub fn new(
        order: Order,
        lines: Vec<OrderLine>,
        history: Vec<HistoryEntry>,
        tasks: Vec<OrderTask>,
    ) -> Self {
        Self {
            failure: failure(&order),
            metadata: metadata(&order),
            id: order.id,
            status: order.status.into(),
            customer_email: order.customer_email,
            currency: order.currency,
            total_cents: order.total_cents,
            items: lines
                .into_iter()
                .map(|l| OrderItemView {
                    sku: l.sku,
                    quantity: l.quantity,
                    unit_price_cents: l.unit_price_cents,
                })
                .collect(),
            payment: PaymentView {
                capture_method: order.capture_method.into(),
                authorization_id: order.authorization_id,
                charge_id: order.charge_id,
                refund_id: order.refund_id,
            },
            created_at: order.created_at,
            updated_at: order.updated_at,
            history: history
                .into_iter()
                .map(|h| HistoryView {
                    status: h.status.into(),
                    at: h.at,
                    reason: h.reason,
                })
                .collect(),
            tasks: tasks
                .into_iter()
                .map(|t| TaskView {
                    id: t.id.0,
                    kind: t.kind,
                    state: t.state.into(),
                    attempts: t.attempts,
                    max_attempts: t.max_attempts,
                    last_error: t.last_error,
                    run_at: t.run_at,
                })
                .collect(),
        }
    }
}

impl From<Order> for OrderSummary {
    fn from(order: Order) -> Self {
        Self {
            failure: failure(&order),
            id: order.id,
            status: order.status.into(),
            customer_email: order.customer_email,
            currency: order.currency,
            total_cents: order.total_cents,
            created_at: order.created_at,
            updated_at: order.updated_at,
        }
    }
}
