//! The order events: `GET /v1/events` pages through them, oldest first, for
//! merchants who pull them and for catching up after an outage;
//! `GET /v1/orders/{id}/events` and `GET /v1/events/stream` send them live as
//! Server-Sent Events. Events are served only once every transaction that
//! could still write one with a smaller id has ended, so a reader that keeps
//! the last id it saw and asks for what follows never misses one and never
//! sees one twice.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::ParseFromJSON;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use shared::db::Session;
use shared::events::{self, OrderEvent, stream_tokens};
use shared::keys::Scope;
use shared::orders::OrderStatus;
use shared::validation::Violations;

use super::{ApiTags, pagination};
use crate::AppState;
use crate::events::sse::EventsResponse;
use crate::events::streams;
use crate::http::auth::{ApiKeyAuth, OrderFollower};
use crate::http::error::{ApiError, ErrorResponse};
use crate::views::OrderView;

pub struct EventsApi;

/// What happened to the order: it took the status the type names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "EventType")]
pub enum EventTypeView {
    /// Placed: the order is `pending`.
    #[oai(rename = "order.pending")]
    Pending,
    #[oai(rename = "order.paid")]
    Paid,
    /// The payment is held on the card (manual capture).
    #[oai(rename = "order.authorized")]
    Authorized,
    /// The stock is reserved; the payment is held, not yet captured.
    #[oai(rename = "order.reserved")]
    Reserved,
    #[oai(rename = "order.confirmed")]
    Confirmed,
    #[oai(rename = "order.completed")]
    Completed,
    #[oai(rename = "order.failed")]
    Failed,
    #[oai(rename = "order.cancelled")]
    Cancelled,
    #[oai(rename = "order.refunding")]
    Refunding,
    #[oai(rename = "order.refunded")]
    Refunded,
    /// The hold is being released and any stock put back.
    #[oai(rename = "order.voiding")]
    Voiding,
    /// Cancelled after its payment: the money is being given back.
    #[oai(rename = "order.cancelling")]
    Cancelling,
}

impl EventTypeView {
    /// The status the event stands for.
    pub fn status(self) -> OrderStatus {
        match self {
            Self::Pending => OrderStatus::Pending,
            Self::Paid => OrderStatus::Paid,
            Self::Authorized => OrderStatus::Authorized,
            Self::Reserved => OrderStatus::Reserved,
            Self::Confirmed => OrderStatus::Confirmed,
            Self::Completed => OrderStatus::Completed,
            Self::Failed => OrderStatus::Failed,
            Self::Cancelled => OrderStatus::Cancelled,
            Self::Refunding => OrderStatus::Refunding,
            Self::Refunded => OrderStatus::Refunded,
            Self::Voiding => OrderStatus::Voiding,
            Self::Cancelling => OrderStatus::Cancelling,
        }
    }
}

impl From<OrderStatus> for EventTypeView {
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

/// An order took a status (after Stripe's Event object).
#[derive(Debug, Object)]
#[oai(rename = "Event")]
pub struct EventView {
    /// Ids grow in the order events become readable: every event with a
    /// smaller id is already readable.
    pub id: i64,
    #[oai(rename = "type")]
    pub event_type: EventTypeView,
    /// When the order took the status.
    pub created: DateTime<Utc>,
    pub data: EventData,
}

#[derive(Debug, Object)]
pub struct EventData {
    /// The order as `GET /v1/orders/{id}` showed it when it took the status
    /// (its tasks as they stood at that moment).
    pub object: OrderView,
}

/// One page of events, oldest first.
#[derive(Debug, Object)]
pub struct EventPage {
    pub items: Vec<EventView>,
    /// The last id of this page, to pass as `after` next time; `null` when
    /// the page is empty (ask again with the same `after`).
    #[oai(nullable)]
    pub next_after: Option<i64>,
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum EventList {
    #[oai(status = 200)]
    Ok(Json<EventPage>),
}

impl TryFrom<OrderEvent> for EventView {
    type Error = ApiError;

    fn try_from(event: OrderEvent) -> Result<Self, ApiError> {
        let event_type = events::status_of(&event.event_type).ok_or_else(|| {
            ApiError::internal(format!(
                "event {} has the unknown type {:?}",
                event.id, event.event_type
            ))
        })?;
        let object = OrderView::parse_from_json(Some(event.order)).map_err(|e| {
            ApiError::internal(format!(
                "event {} holds an order this API cannot read: {}",
                event.id,
                e.into_message()
            ))
        })?;
        Ok(Self {
            id: event.id,
            event_type: event_type.into(),
            created: event.created_at,
            data: EventData { object },
        })
    }
}

/// How long a stream token lets a browser follow its order.
const STREAM_TOKEN_TTL: std::time::Duration = std::time::Duration::from_secs(3_600);

/// A token for a browser to follow one order.
#[derive(Debug, Object)]
#[oai(rename = "StreamToken")]
pub struct StreamTokenView {
    /// `st_…`: shown this once.
    pub token: String,
    pub order_id: uuid::Uuid,
    pub expires_at: DateTime<Utc>,
    /// The order's event stream with the token: give it to `EventSource`,
    /// after the API's base URL.
    pub events_url: String,
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum StreamTokenCreated {
    #[oai(status = 201)]
    Created(Json<StreamTokenView>),
}

/// The id a reconnecting `EventSource` sends back, checked.
fn resume_after(header: Option<&str>, violations: &mut Violations) -> Option<i64> {
    let id = header?.trim();
    match id.parse::<i64>() {
        Ok(id) if id >= 0 => Some(id),
        _ => {
            violations.add("Last-Event-ID", "must be the id of an event this API sent");
            None
        }
    }
}

/// The event types asked for, each a known one; `None` for all.
fn event_types(asked: Vec<String>, violations: &mut Violations) -> Option<Vec<String>> {
    let mut types = Vec::new();
    for name in asked.iter().flat_map(|v| v.split(',')).map(str::trim) {
        if name.is_empty() {
            continue;
        }
        match events::status_of(name) {
            Some(status) => types.push(events::event_type(status)),
            None => violations.add(
                "types",
                format!("{name:?} is not an event type (order.pending, order.paid, …)"),
            ),
        }
    }
    (!types.is_empty()).then_some(types)
}

#[OpenApi(tag = "ApiTags::Events")]
impl EventsApi {
    /// List events
    ///
    /// The order events after the id `after` (0, the default, is before the
    /// first), oldest first, `limit` (1–100, default 20) at a time, only of
    /// the `types` given (comma-separated; all by default). Keep the page's
    /// `next_after` and ask again with it: nothing is missed or repeated.
    /// Events are kept for `EVENT_RETENTION_DAYS` (30). Needs the
    /// `orders:read` scope.
    #[oai(path = "/v1/events", method = "get", operation_id = "listEvents")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Only events with a larger id.
        #[oai(validator(minimum(value = "0")))]
        after: Query<Option<i64>>,
        /// Only events of these types: `order.pending`, `order.paid`,
        /// `order.confirmed`, `order.completed`, `order.failed`,
        /// `order.cancelled`, `order.refunding`, `order.refunded`.
        /// Comma-separated (`types=order.completed,order.failed`), repeated,
        /// or both.
        types: Query<Option<Vec<String>>>,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<i64>>,
    ) -> Result<EventList, ErrorResponse> {
        auth.0.require(Scope::OrdersRead)?;
        let mut violations = Violations::default();
        let limit = pagination::limit(limit.0, &mut violations);
        let types = event_types(types.0.unwrap_or_default(), &mut violations);
        violations.finish()?;
        let mut conn = Session::acquire(&state.pool).await?;
        let rows =
            events::read::page(&mut conn, after.0.unwrap_or(0), types.as_deref(), limit).await?;
        let items = rows
            .into_iter()
            .map(EventView::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let next_after = items.last().map(|e| e.id);
        Ok(EventList::Ok(Json(EventPage { items, next_after })))
    }

    /// Follow an order
    ///
    /// The order's events as Server-Sent Events (`text/event-stream`): first
    /// those it already has, then each as it happens; `id:` is the event id,
    /// `event:` its type and `data:` the event. The stream ends after the
    /// order's terminal event (`order.completed`, `order.failed`,
    /// `order.cancelled`, `order.refunded`). A reconnecting client sends
    /// `Last-Event-ID` (an `EventSource` does it for you) and gets exactly
    /// what followed it. A comment line every 15 s keeps proxies from closing
    /// an idle stream. Needs the `orders:read` scope, or, from a browser, a
    /// stream token for this order as `?token=st_…` (see
    /// `createStreamToken`): never put an API key in a page.
    #[oai(
        path = "/v1/orders/:id/events",
        method = "get",
        operation_id = "followOrder"
    )]
    async fn follow_order(
        &self,
        state: Data<&AppState>,
        auth: OrderFollower,
        id: Path<String>,
        /// Resume after this event id.
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<String>>,
    ) -> Result<EventsResponse, ErrorResponse> {
        let order = super::orders::parse_id(&id.0)?;
        auth.require_order(order)?;
        let mut violations = Violations::default();
        let after = resume_after(last_event_id.0.as_deref(), &mut violations);
        violations.finish()?;
        let mut conn = Session::acquire(&state.pool).await?;
        if shared::orders::get(&mut conn, order).await?.is_none() {
            return Err(super::orders::order_not_found(order).into());
        }
        drop(conn);
        let events = streams::of_order(
            state.pool.clone(),
            std::sync::Arc::clone(&state.feed),
            order,
            after.unwrap_or(0),
        );
        Ok(EventsResponse(Box::pin(events)))
    }

    /// Mint a stream token for an order
    ///
    /// For a shopper's browser to follow this order with `EventSource`,
    /// which cannot send an Authorization header: your backend mints a
    /// token with its API key and hands the page `events_url`. The token
    /// reads this order's events and nothing else, for an hour (reconnects
    /// included), and stops working when the key that minted it is revoked.
    /// Needs the `orders:read` scope.
    #[oai(
        path = "/v1/orders/:id/stream-tokens",
        method = "post",
        operation_id = "createStreamToken"
    )]
    async fn mint_stream_token(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<StreamTokenCreated, ErrorResponse> {
        auth.0.require(Scope::OrdersRead)?;
        let order = super::orders::parse_id(&id.0)?;
        let mut conn = Session::acquire(&state.pool).await?;
        if shared::orders::get(&mut conn, order).await?.is_none() {
            return Err(super::orders::order_not_found(order).into());
        }
        let minted = stream_tokens::mint(&mut conn, order, auth.0.0.id, STREAM_TOKEN_TTL).await?;
        conn.finish().await?;
        let events_url = format!("/v1/orders/{order}/events?token={}", minted.token);
        Ok(StreamTokenCreated::Created(Json(StreamTokenView {
            token: minted.token,
            order_id: order,
            expires_at: minted.expires_at,
            events_url,
        })))
    }

    /// Follow every order
    ///
    /// Every order's events as Server-Sent Events, as they happen, only of
    /// the `types` given (all by default); it never ends. Without
    /// `Last-Event-ID` it starts with the next event; with it, it first sends
    /// every event after that one (within `EVENT_RETENTION_DAYS`). For
    /// dashboards and merchant backends. Needs the `orders:read` scope.
    #[oai(
        path = "/v1/events/stream",
        method = "get",
        operation_id = "followEvents"
    )]
    async fn follow_all(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Only events of these types (as for `listEvents`).
        types: Query<Option<Vec<String>>>,
        /// Resume after this event id.
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<String>>,
    ) -> Result<EventsResponse, ErrorResponse> {
        auth.0.require(Scope::OrdersRead)?;
        let mut violations = Violations::default();
        let types = event_types(types.0.unwrap_or_default(), &mut violations);
        let after = resume_after(last_event_id.0.as_deref(), &mut violations);
        violations.finish()?;
        let after = match after {
            Some(after) => after,
            None => {
                let mut conn = Session::acquire(&state.pool).await?;
                events::read::present(&mut conn).await?
            }
        };
        let events = streams::of_all(
            state.pool.clone(),
            std::sync::Arc::clone(&state.feed),
            types,
            after,
        );
        Ok(EventsResponse(Box::pin(events)))
    }
}
