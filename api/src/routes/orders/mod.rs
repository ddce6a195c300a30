//! `/v1/orders`: place (idempotently), read, list and cancel orders.
//!
//! Placing validates and prices the order from the catalog, then writes the
//! idempotency key, the order, its lines, its history and its first task in
//! one transaction (`shared::orders::place`), and answers 202: the saga runs
//! in the workers from there.

use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use shared::db::Session;
use shared::keys::Scope;
use shared::orders::{self, Cancellation, OrderRequest, Placement};
use shared::trace::TraceParent;
use uuid::Uuid;

use super::{ApiTags, pagination};
use crate::AppState;
use crate::http::auth::ApiKeyAuth;
use crate::http::error::{ApiError, ErrorResponse};
use crate::http::problem::ProblemType;
use crate::views::{OrderStatusView, OrderSummary, OrderView};

mod bodies;

pub use bodies::{
    CancelledOrder, FoundOrder, OrderItemInput, OrderList, OrderPage, PlaceOrder, PlacedOrder,
};
use shared::validation::Violations;

pub struct OrdersApi;

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
        let mut request = OrderRequest::from(body.0);
        let fingerprint = request.fingerprint();
        // After the fingerprint: a retry without it maps to the same order
        // whatever the deployment's default has become since.
        request
            .capture_method
            .get_or_insert(state.default_capture_method);
        // `place` prices the order from the catalog and writes it in one
        // statement, committed before anything is answered.
        let mut conn = Session::acquire(&state.pool).await?;
        let received = traceparent.0.as_deref().and_then(TraceParent::parse);
        // This request's span when traces are exported; otherwise a child of
        // the caller's context, or a new trace.
        let trace = shared::trace::outgoing(Some(received.unwrap_or_else(TraceParent::new_root)))
            .unwrap_or_else(TraceParent::new_root);
        let order = orders::check(request, trace)?;
        let placed = orders::place(
            &mut conn,
            &auth.0.idempotency_scope(),
            &key,
            &fingerprint,
            &order,
        )
        .await?;
        conn.finish().await?;
        if let Some(id) = placed.order_id() {
            record_order(id);
        }
        if matches!(placed, Placement::Created(_)) {
            state.wake_workers.request();
            // A test or chaos build can abort here: the order is committed,
            // the client gets no answer (see worker/src/crash.rs).
            fail::fail_point!("api.after_insert", |_| {
                eprintln!("crash point api.after_insert armed: aborting");
                std::process::abort()
            });
        }
        let (view, replayed) = match placed {
            Placement::Created(accepted) => {
                tracing::info!(order_id = %accepted.id, total_cents = accepted.order.total.get(), "order accepted");
                // What was just written, without reading it back.
                let (written, lines, history, tasks) = orders::as_placed(&accepted);
                (OrderView::new(written, lines, history, tasks), None)
            }
            Placement::Replayed(id) => {
                let view = load(&state, id)
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
        let mut conn = Session::acquire(&state.pool).await?;
        let rows = orders::list(&mut conn, status.0.map(Into::into), before, limit + 1).await?;
        let (rows, next_cursor) = pagination::page(rows, limit, |o| o.id.to_string());
        Ok(OrderList::Ok(Json(OrderPage {
            items: rows.into_iter().map(OrderSummary::from).collect(),
            next_cursor,
        })))
    }

    /// Cancel an order
    ///
    /// While the order is `pending` and its payment has not started, it is
    /// cancelled at once with its queued payment task: 200, `cancelled`.
    /// Once its payment was taken or held (`authorized`, `reserved`, `paid`,
    /// `confirmed`) and until its confirmation is sent, it goes to
    /// `cancelling`: 202, and the saga gives the money back (voids the hold
    /// or refunds the charge), puts back the stock and ends it `cancelled`
    /// (follow it on the order, its events or webhooks). Otherwise 409
    /// `order-not-cancellable`, saying why. Needs the `orders:write` scope.
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
    ) -> Result<CancelledOrder, ErrorResponse> {
        auth.0.require(Scope::OrdersWrite)?;
        let id = parse_id(&id.0)?;
        let mut tx = Session::begin(&state.pool).await?;
        let cancellation = orders::cancel(&mut tx, id).await?;
        let view = match cancellation {
            // The order as the cancel left it, read before the commit: once
            // committed, `cancel_payment` may move it on at once.
            Cancellation::Cancelled | Cancellation::Cancelling => {
                let view = load_on(&mut tx, id).await?;
                tx.finish().await?;
                view.ok_or_else(|| order_not_found(id))?
            }
            Cancellation::NotFound => return Err(order_not_found(id).into()),
            Cancellation::NotCancellable { status, why } => {
                return Err(ApiError::problem(
                    ProblemType::OrderNotCancellable,
                    format!("order {id} is {status} and {why}; it can no longer be cancelled"),
                )
                .into());
            }
        };
        Ok(if cancellation == Cancellation::Cancelled {
            tracing::info!(order_id = %id, "order cancelled");
            CancelledOrder::Cancelled(Json(view))
        } else {
            // Its `cancel_payment` woke the workers as it committed.
            tracing::info!(order_id = %id, "order cancelling: its payment is given back");
            CancelledOrder::Cancelling(Json(view))
        })
    }
}

pub(crate) fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    let id =
        Uuid::parse_str(id).map_err(|_| ApiError::not_found(format!("no order has id {id:?}")))?;
    record_order(id);
    Ok(id)
}

/// Puts the order on the request's log span.
fn record_order(id: Uuid) {
    tracing::Span::current().record("order_id", tracing::field::display(id));
}

pub(crate) fn order_not_found(id: Uuid) -> ApiError {
    ApiError::not_found(format!("no order has id {id}"))
}

async fn load(state: &AppState, id: Uuid) -> Result<Option<OrderView>, ApiError> {
    let mut conn = Session::acquire(&state.pool).await?;
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
