//! `/v1/orders`: place (idempotently), read, list and cancel orders.
//!
//! Placing validates and prices the order from the catalog, then writes the
//! idempotency key, the order, its lines, its history and its first task in
//! one transaction (`shared::orders::place`), and answers 202: the saga runs
//! in the workers from there.

use std::collections::HashMap;

use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::json;
use shared::catalog::{self, Sku};
use shared::keys::Scope;
use shared::money::{Cents, Currency};
use shared::orders::{self, Cancellation, NewLine, NewOrder, Placement};
use shared::trace::TraceParent;
use uuid::Uuid;

use super::{ApiTags, pagination};
use crate::AppState;
use crate::http::auth::ApiKeyAuth;
use crate::http::error::{ApiError, ErrorResponse};
use crate::http::problem::ProblemType;
use crate::http::strict_string::StrictString;
use crate::views::{OrderStatusView, OrderSummary, OrderView};
use shared::validation::{Violations, char_len, is_email};

pub struct OrdersApi;

const MAX_LINES: usize = 100;
const MAX_QUANTITY: i64 = 1000;
const MAX_METADATA_ENTRIES: usize = 20;
const MAX_METADATA_KEY_CHARS: usize = 40;
const MAX_METADATA_VALUE_CHARS: usize = 500;

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
pub enum OrderList {
    #[oai(status = 200)]
    Ok(Json<OrderPage>),
}

#[OpenApi(tag = "ApiTags::Orders")]
impl OrdersApi {
    /// Place an order
    ///
    /// Validates the order, prices it from the catalog and accepts it (202).
    /// The `Idempotency-Key` header is required: the same key with the same
    /// body answers the same order (`Idempotent-Replayed: true`); with a
    /// different body, 422 `idempotency-key-reused`. Keys are scoped to the
    /// API key that used them. Needs the `orders:write` scope.
    #[oai(path = "/v1/orders", method = "post", operation_id = "placeOrder")]
    async fn place(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// 1–255 printable ASCII characters, unique per order you mean to place.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<String>,
        /// W3C trace context; the order's saga continues this trace (a new one
        /// is started when it is absent or malformed).
        #[oai(name = "traceparent")]
        traceparent: Header<Option<String>>,
        body: Json<PlaceOrder>,
    ) -> Result<PlacedOrder, ErrorResponse> {
        auth.0.require(Scope::OrdersWrite)?;
        if let Some(admission) = &state.admission {
            admission.check(&state.pool).await?;
        }
        let key = idempotency_key.0;
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(ApiError::field(
                "Idempotency-Key",
                "must be 1 to 255 printable ASCII characters",
            )
            .into());
        }
        let request = body.0;
        let fingerprint = normalised(&request);
        // No transaction around pricing and placing: `place` is one statement
        // (its own commit), and a price read just before it is the price the
        // customer saw.
        let mut conn = state.pool.acquire().await?;
        let received = traceparent.0.as_deref().and_then(TraceParent::parse);
        // This request's span when traces are exported; otherwise a child of
        // the caller's context, or a new trace.
        let trace = shared::trace::outgoing(Some(received.unwrap_or_else(TraceParent::new_root)))
            .unwrap_or_else(TraceParent::new_root);
        let order = price(&mut conn, request, trace).await?;
        let placed = orders::place(
            &mut conn,
            &auth.0.idempotency_scope(),
            &key,
            &fingerprint,
            &order,
        )
        .await?;
        if let Some(id) = placed.order_id() {
            record_order(id);
        }
        if matches!(placed, Placement::Created(_)) {
            // A test or chaos build can abort here: the order is committed,
            // the client gets no answer (see worker/src/crash.rs).
            fail::fail_point!("api.after_insert", |_| {
                eprintln!("crash point api.after_insert armed: aborting");
                std::process::abort()
            });
        }
        let (view, replayed) = match placed {
            Placement::Created(accepted) => {
                tracing::info!(order_id = %accepted.id, total_cents = order.total.get(), "order accepted");
                // What was just written, without reading it back.
                let (written, lines, history, tasks) = orders::as_placed(&order, &accepted);
                (OrderView::new(written, lines, history, tasks), None)
            }
            Placement::Replayed(id) => {
                let view = load_on(&mut conn, id)
                    .await?
                    .ok_or_else(|| ApiError::internal("the replayed order vanished"))?;
                (view, Some("true".to_owned()))
            }
            Placement::KeyReused => {
                return Err(ApiError::problem(
                    ProblemType::IdempotencyKeyReused,
                    "this Idempotency-Key was first used with a different request; use a new key \
                     for a new order",
                )
                .into());
            }
        };
        let location = format!("/v1/orders/{}", view.id);
        Ok(PlacedOrder::Accepted(Json(view), location, replayed))
    }

    /// Get an order
    ///
    /// The order with its lines, payment, failure, status history and tasks.
    /// Needs the `orders:read` scope.
    #[oai(path = "/v1/orders/:id", method = "get", operation_id = "getOrder")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<FoundOrder, ErrorResponse> {
        auth.0.require(Scope::OrdersRead)?;
        let id = parse_id(&id.0)?;
        let view = load(&state, id).await?.ok_or_else(|| order_not_found(id))?;
        Ok(FoundOrder::Ok(Json(view)))
    }

    /// List orders
    ///
    /// Newest first, optionally only those in one `status`, `limit` (1–100,
    /// default 20) at a time; pass a page's `next_cursor` as `cursor`.
    /// Needs the `orders:read` scope.
    #[oai(path = "/v1/orders", method = "get", operation_id = "listOrders")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Only orders in this status.
        status: Query<Option<OrderStatusView>>,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<OrderList, ErrorResponse> {
        auth.0.require(Scope::OrdersRead)?;
        let mut violations = Violations::default();
        let limit = pagination::limit(limit.0, &mut violations);
        let before: Option<Uuid> = pagination::cursor(cursor.0.as_deref(), &mut violations);
        violations.finish()?;
        let mut conn = state.pool.acquire().await?;
        let rows = orders::list(&mut conn, status.0.map(Into::into), before, limit + 1).await?;
        let (rows, next_cursor) = pagination::page(rows, limit, |o| o.id.to_string());
        Ok(OrderList::Ok(Json(OrderPage {
            items: rows.into_iter().map(OrderSummary::from).collect(),
            next_cursor,
        })))
    }

    /// Cancel an order
    ///
    /// Cancels an order that is `pending` and whose payment has not started,
    /// together with its queued payment task. Otherwise 409
    /// `order-not-cancellable`. Needs the `orders:write` scope.
    #[oai(
        path = "/v1/orders/:id/cancel",
        method = "post",
        operation_id = "cancelOrder"
    )]
    async fn cancel(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<FoundOrder, ErrorResponse> {
        auth.0.require(Scope::OrdersWrite)?;
        let id = parse_id(&id.0)?;
        let mut tx = state.pool.begin().await?;
        match orders::cancel(&mut tx, id).await? {
            Cancellation::Cancelled => tx.commit().await?,
            Cancellation::NotFound => return Err(order_not_found(id).into()),
            Cancellation::NotCancellable(status) => {
                return Err(ApiError::problem(
                    ProblemType::OrderNotCancellable,
                    format!("order {id} is {status} and its payment has started; it can no longer be cancelled"),
                )
                .into());
            }
        }
        tracing::info!(order_id = %id, "order cancelled");
        shared::orders::OrderStatus::Cancelled.count_finished();
        let view = load(&state, id).await?.ok_or_else(|| order_not_found(id))?;
        Ok(FoundOrder::Ok(Json(view)))
    }
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    let id =
        Uuid::parse_str(id).map_err(|_| ApiError::not_found(format!("no order has id {id:?}")))?;
    record_order(id);
    Ok(id)
}

/// Puts the order on the request's log span.
fn record_order(id: Uuid) {
    tracing::Span::current().record("order_id", tracing::field::display(id));
}

fn order_not_found(id: Uuid) -> ApiError {
    ApiError::not_found(format!("no order has id {id}"))
}

async fn load(state: &AppState, id: Uuid) -> Result<Option<OrderView>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    load_on(&mut conn, id).await
}

async fn load_on(conn: &mut sqlx::PgConnection, id: Uuid) -> Result<Option<OrderView>, ApiError> {
    let Some(order) = orders::get(&mut *conn, id).await? else {
        return Ok(None);
    };
    let lines = orders::lines(&mut *conn, id).await?;
    let history = orders::history(&mut *conn, id).await?;
    let tasks = orders::tasks(&mut *conn, id).await?;
    Ok(Some(OrderView::new(order, lines, history, tasks)))
}

/// The request as the idempotency key remembers it: parsed, so formatting
/// and key order don't matter, but every value does.
fn normalised(request: &PlaceOrder) -> serde_json::Value {
    json!({
        "customer_email": request.customer_email,
        "items": request.items.iter().map(|i| json!({ "sku": i.sku, "quantity": i.quantity })).collect::<Vec<_>>(),
        "payment_token": request.payment_token,
        "metadata": request.metadata.clone().unwrap_or_default(),
    })
}

/// Validates every field, then prices the lines from the catalog.
async fn price(
    conn: &mut sqlx::PgConnection,
    request: PlaceOrder,
    traceparent: TraceParent,
) -> Result<NewOrder, ApiError> {
    let mut violations = Violations::default();
    violations.check(
        is_email(&request.customer_email),
        "customer_email",
        "must be an email address such as ada@example.com",
    );
    violations.check(
        (1..=255).contains(&char_len(&request.payment_token)),
        "payment_token",
        "must be 1 to 255 characters",
    );
    violations.check(
        (1..=MAX_LINES).contains(&request.items.len()),
        "items",
        format!("must have 1 to {MAX_LINES} lines"),
    );
    let metadata = request.metadata.unwrap_or_default();
    violations.check(
        metadata.len() <= MAX_METADATA_ENTRIES,
        "metadata",
        format!("must have at most {MAX_METADATA_ENTRIES} keys"),
    );
    let mut keys: Vec<&String> = metadata.keys().collect();
    keys.sort();
    for key in keys {
        violations.check(
            (1..=MAX_METADATA_KEY_CHARS).contains(&char_len(key)),
            format!("metadata.{key}"),
            format!("keys must be 1 to {MAX_METADATA_KEY_CHARS} characters"),
        );
        violations.check(
            char_len(&metadata[key]) <= MAX_METADATA_VALUE_CHARS,
            format!("metadata.{key}"),
            format!("values must be at most {MAX_METADATA_VALUE_CHARS} characters"),
        );
    }
    let mut lines: Vec<(Sku, i32)> = Vec::with_capacity(request.items.len());
    for (i, item) in request.items.iter().enumerate() {
        let sku = Sku::parse(&item.sku)
            .map_err(|e| violations.add(format!("items[{i}].sku"), e.to_string()));
        let quantity = i32::try_from(item.quantity)
            .ok()
            .filter(|q| (1..=MAX_QUANTITY).contains(&i64::from(*q)));
        violations.check(
            quantity.is_some(),
            format!("items[{i}].quantity"),
            format!("must be between 1 and {MAX_QUANTITY}"),
        );
        if let Ok(sku) = &sku {
            if let Some(first) = lines.iter().position(|(seen, _)| seen == sku) {
                violations.add(
                    format!("items[{i}].sku"),
                    format!("repeats items[{first}]; put the whole quantity on one line"),
                );
            }
        }
        if let (Ok(sku), Some(quantity)) = (sku, quantity) {
            lines.push((sku, quantity));
        }
    }
    violations.finish()?;

    let skus: Vec<String> = lines.iter().map(|(sku, _)| sku.to_string()).collect();
    let prices = catalog::price_list(conn, &skus).await?;
    let mut currency: Option<(usize, String)> = None;
    let mut total = Cents::ZERO;
    let mut priced = Vec::with_capacity(lines.len());
    for (i, (sku, quantity)) in lines.into_iter().enumerate() {
        let Some((_, unit, line_currency)) = prices.iter().find(|(s, _, _)| s == sku.as_str())
        else {
            violations.add(
                format!("items[{i}].sku"),
                format!("no product has sku {sku:?}"),
            );
            continue;
        };
        match &currency {
            None => currency = Some((i, line_currency.clone())),
            Some((first, c)) if c != line_currency => violations.add(
                format!("items[{i}].sku"),
                format!("is priced in {line_currency}, but items[{first}] is in {c}; one order, one currency"),
            ),
            Some(_) => {}
        }
        let unit = Cents::new(*unit).unwrap_or(Cents::ZERO);
        match unit
            .checked_mul(quantity.unsigned_abs())
            .and_then(|line| total.checked_add(line))
        {
            Some(sum) => total = sum,
            None => violations.add("items", "the order total is too large"),
        }
        priced.push(NewLine {
            sku,
            quantity,
            unit_price: unit,
        });
    }
    violations.finish()?;
    let currency = currency
        .and_then(|(_, c)| c.parse::<Currency>().ok())
        .ok_or_else(|| ApiError::internal("a priced order has no valid currency"))?;
    Ok(NewOrder {
        id: Uuid::now_v7(),
        customer_email: request.customer_email.into(),
        currency,
        lines: priced,
        total,
        payment_token: request.payment_token.into(),
        metadata: serde_json::to_value(metadata).map_err(ApiError::internal)?,
        traceparent: Some(traceparent),
    })
}
