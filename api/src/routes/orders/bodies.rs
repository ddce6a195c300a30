//! What `/v1/orders` takes and answers: the order to place, and the
//! documented responses of each operation.

use std::collections::HashMap;

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};
use shared::orders::{OrderRequest, RequestedItem};

use crate::http::strict_string::StrictString;
use crate::views::{CaptureMethodView, OrderSummary, OrderView};

/// An order to place. Prices come from the catalog, never from the client.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct PlaceOrder {
    /// Where the confirmation goes.
    pub customer_email: StrictString,
    /// 1–100 lines, each sku at most once, all priced in one currency.
    pub items: Vec<OrderItemInput>,
    /// The payment method token (`tok_visa`, `tok_chargeDeclined`, …).
    pub payment_token: StrictString,
    /// Up to 20 string keys (1–40 characters) with string values (up to 500).
    #[oai(nullable)]
    pub metadata: Option<HashMap<String, StrictString>>,
    /// How the payment is taken; absent or `null`, the deployment's
    /// `CAPTURE_METHOD`.
    #[oai(nullable)]
    pub capture_method: Option<CaptureMethodView>,
}

impl poem_openapi::types::Example for PlaceOrder {
    fn example() -> Self {
        Self {
            customer_email: "ada@example.com".into(),
            items: vec![OrderItemInput {
                sku: "TSHIRT-M".into(),
                quantity: 2,
            }],
            payment_token: "tok_visa".into(),
            metadata: Some(HashMap::from([("cart_id".to_owned(), "c_123".into())])),
            capture_method: None,
        }
    }
}

/// One line of an order to place.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct OrderItemInput {
    pub sku: StrictString,
    /// 1–1000.
    pub quantity: i64,
}

impl From<PlaceOrder> for OrderRequest {
    fn from(order: PlaceOrder) -> Self {
        Self {
            customer_email: order.customer_email.into(),
            items: order
                .items
                .into_iter()
                .map(|item| RequestedItem {
                    sku: item.sku.into(),
                    quantity: item.quantity,
                })
                .collect(),
            payment_token: order.payment_token.into(),
            metadata: order
                .metadata
                .unwrap_or_default()
                .into_iter()
                .map(|(key, value)| (key, value.into()))
                .collect(),
            capture_method: order.capture_method.map(Into::into),
        }
    }
}

/// One page of orders, newest first.
#[derive(Debug, Object)]
pub struct OrderPage {
    pub items: Vec<OrderSummary>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum PlacedOrder {
    /// Accepted: the order is `pending` and its saga has been queued. A replay
    /// of an earlier request with the same key answers the same order, as it
    /// is now, with `Idempotent-Replayed: true`.
    #[oai(status = 202)]
    Accepted(
        Json<OrderView>,
        #[oai(header = "Location")] String,
        #[oai(header = "Idempotent-Replayed")] Option<String>,
    ),
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum FoundOrder {
    #[oai(status = 200)]
    Ok(Json<OrderView>),
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum CancelledOrder {
    /// Cancelled at once: its payment had not started.
    #[oai(status = 200)]
    Cancelled(Json<OrderView>),
    /// `cancelling`: its payment is being given back and its stock put
    /// back; it ends `cancelled`.
    #[oai(status = 202)]
    Cancelling(Json<OrderView>),
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum OrderList {
    #[oai(status = 200)]
    Ok(Json<OrderPage>),
}
