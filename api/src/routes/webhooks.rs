//! `/v1/webhook-endpoints`: the endpoints order events are POSTed to, their
//! signing secrets, and their deliveries with every attempt. Each delivery
//! is signed as the Standard Webhooks specification says, so receivers can
//! verify it with any Standard Webhooks library.

use std::time::Duration;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use shared::db::Session;
use shared::events;
use shared::keys::Scope;
use shared::validation::{Violations, char_len};
use shared::webhooks::deliveries::{self, Delivery, DeliveryAttempt, DeliveryState};
use shared::webhooks::endpoints::{self, EndpointChange, NewEndpoint, WebhookEndpoint};
use uuid::Uuid;

use super::events::EventTypeView;
use super::{ApiTags, pagination};
use crate::AppState;
use crate::http::auth::ApiKeyAuth;
use crate::http::error::{ApiError, ErrorResponse};
use crate::http::strict_string::StrictString;

pub struct WebhooksApi;

/// How long a rotated-out secret keeps signing beside the new one.
const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3_600);

const MAX_URL_LEN: usize = 2_048;
const MAX_DESCRIPTION_LEN: usize = 500;

/// Where order events are POSTed.
#[derive(Debug, Object)]
#[oai(rename = "WebhookEndpoint")]
pub struct EndpointView {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// The event types sent; empty is every type.
    pub event_types: Vec<EventTypeView>,
    /// Disabled endpoints are sent nothing.
    pub enabled: bool,
    /// Why it is disabled: over the API, a 410 answer, or failing for too long.
    #[oai(nullable)]
    pub disabled_reason: Option<String>,
    /// The signing secret, `whsec_…`: only in the answers to create and
    /// rotate-secret. Keep it; it is never shown again.
    #[oai(skip_serializing_if_is_none)]
    pub secret: Option<String>,
    /// Until when the secret before the last rotation signs too (each
    /// delivery then carries both signatures).
    #[oai(nullable)]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Since when every delivery has failed; `null` after a success.
    #[oai(nullable)]
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EndpointView {
    fn new(endpoint: WebhookEndpoint, secret: Option<String>) -> Self {
        Self {
            id: endpoint.id,
            url: endpoint.url,
            description: endpoint.description,
            event_types: endpoint
                .event_types
                .iter()
                .filter_map(|t| events::status_of(t).map(EventTypeView::from))
                .collect(),
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason,
            secret,
            previous_secret_expires_at: endpoint.previous_secret_expires_at,
            failing_since: endpoint.failing_since,
            created_at: endpoint.created_at,
            updated_at: endpoint.updated_at,
        }
    }
}

/// An endpoint to create.
#[derive(Debug, Object)]
#[oai(rename = "CreateWebhookEndpoint", deny_unknown_fields)]
pub struct CreateEndpoint {
    /// `https://…` (plain http only where WEBHOOK_ALLOW_HTTP allows it); its
    /// host must resolve to public addresses (unless
    /// WEBHOOK_ALLOW_PRIVATE_URLS). At most 2,048 characters.
    pub url: StrictString,
    /// The event types to send; absent or empty: every type.
    pub event_types: Option<Vec<EventTypeView>>,
    /// For people: what the endpoint is (at most 500 characters).
    pub description: Option<StrictString>,
}

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Object)]
#[oai(rename = "UpdateWebhookEndpoint", deny_unknown_fields)]
pub struct PatchEndpoint {
    pub url: Option<StrictString>,
    /// Empty: every type.
    pub event_types: Option<Vec<EventTypeView>>,
    pub description: Option<StrictString>,
    /// Enabling clears the reason it was disabled; deliveries that failed
    /// meanwhile can be re-sent by hand.
    pub enabled: Option<bool>,
}

/// One page of endpoints, oldest first.
#[derive(Debug, Object)]
#[oai(rename = "WebhookEndpointPage")]
pub struct EndpointPage {
    pub items: Vec<EndpointView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename = "WebhookDeliveryState", rename_all = "snake_case")]
pub enum DeliveryStateView {
    /// Being tried.
    Pending,
    /// Answered with a 2xx.
    Succeeded,
    /// Given up; can be re-sent.
    Failed,
}

impl From<DeliveryState> for DeliveryStateView {
    fn from(state: DeliveryState) -> Self {
        match state {
            DeliveryState::Pending => Self::Pending,
            DeliveryState::Succeeded => Self::Succeeded,
            DeliveryState::Failed => Self::Failed,
        }
    }
}

/// One request made for a delivery.
#[derive(Debug, Object)]
#[oai(rename = "WebhookDeliveryAttempt")]
pub struct AttemptView {
    pub at: DateTime<Utc>,
    /// The answer's status; `null` when none came (refused, timed out).
    #[oai(nullable)]
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    /// Why no answer came.
    #[oai(nullable)]
    pub error: Option<String>,
    /// The start of the answer's body (1 KiB at most).
    #[oai(nullable)]
    pub response_body: Option<String>,
}

impl From<DeliveryAttempt> for AttemptView {
    fn from(a: DeliveryAttempt) -> Self {
        Self {
            at: a.at,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error,
            response_body: a.response_body,
        }
    }
}

/// One event sent to one endpoint, with every request made for it.
#[derive(Debug, Object)]
#[oai(rename = "WebhookDelivery")]
pub struct DeliveryView {
    pub id: i64,
    pub endpoint_id: Uuid,
    /// The event's id, sent as `webhook-id` (the same on every attempt).
    pub event_id: i64,
    pub event_type: String,
    pub order_id: Uuid,
    pub state: DeliveryStateView,
    pub created_at: DateTime<Utc>,
    #[oai(nullable)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Oldest first.
    pub attempts: Vec<AttemptView>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            endpoint_id: d.endpoint_id,
            event_id: d.event_id,
            event_type: d.event_type,
            order_id: d.order_id,
            state: d.state.into(),
            created_at: d.created_at,
            finished_at: d.finished_at,
            attempts: d.attempts.into_iter().map(Into::into).collect(),
        }
    }
}

/// One page of deliveries, newest first.
#[derive(Debug, Object)]
#[oai(rename = "WebhookDeliveryPage")]
pub struct DeliveryPage {
    pub items: Vec<DeliveryView>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum EndpointResponse {
    /// Created; `secret` is shown this once.
    #[oai(status = 201)]
    Created(Json<EndpointView>, #[oai(header = "Location")] String),
    #[oai(status = 200)]
    Ok(Json<EndpointView>),
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum EndpointList {
    #[oai(status = 200)]
    Ok(Json<EndpointPage>),
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum EndpointDeleted {
    /// Deleted, with its deliveries; queued deliveries are not sent.
    #[oai(status = 204)]
    Deleted,
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum DeliveryList {
    #[oai(status = 200)]
    Ok(Json<DeliveryPage>),
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum DeliveryQueued {
    /// Queued to be sent again now, with the same `webhook-id`.
    #[oai(status = 202)]
    Accepted(Json<DeliveryView>),
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::not_found(format!("no webhook endpoint has id {id}"))
}

fn event_type_names(types: Option<Vec<EventTypeView>>) -> Option<Vec<String>> {
    types.map(|types| {
        let mut names: Vec<String> = types
            .into_iter()
            .map(|t| events::event_type(t.status()))
            .collect();
        names.sort();
        names.dedup();
        names
    })
}

fn check_description(description: &str, violations: &mut Violations) {
    violations.check(
        char_len(description) <= MAX_DESCRIPTION_LEN,
        "description",
        format!("must be at most {MAX_DESCRIPTION_LEN} characters"),
    );
}

/// The URL checked against the deployment's URL policy, DNS included.
async fn checked_url(state: &AppState, url: &str) -> Result<String, ApiError> {
    if url.len() > MAX_URL_LEN {
        return Err(ApiError::field(
            "url",
            format!("must be at most {MAX_URL_LEN} characters"),
        ));
    }
    let checked = state
        .webhook_urls
        .check(url)
        .await
        .map_err(|refused| ApiError::field("url", refused.to_string()))?;
    Ok(checked.to_string())
}

#[OpenApi(tag = "ApiTags::Webhooks")]
impl WebhooksApi {
    /// Create a webhook endpoint
    ///
    /// Every order event of the `event_types` asked for (all by default) is
    /// POSTed to `url` as JSON — the same object `GET /v1/events` shows —
    /// with the Standard Webhooks headers: `webhook-id` (the event id, the
    /// same on every retry), `webhook-timestamp` (Unix seconds) and
    /// `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
    /// `{webhook-id}.{webhook-timestamp}.{body}` keyed with the secret's
    /// bytes). Any 2xx answer is success; anything else, or no answer in
    /// 10 s, is retried over about three days (5 s, 5 min, 30 min, 2 h, 5 h,
    /// 10 h, 14 h, 20 h, 24 h), sooner never than a `Retry-After` on a 429 or
    /// 503 asks. A 410 disables the endpoint at once; so does failing for 5
    /// days. The answer holds the signing `secret`, shown this once. Needs
    /// the `webhooks:write` (or `admin`) scope.
    #[oai(
        path = "/v1/webhook-endpoints",
        method = "post",
        operation_id = "createWebhookEndpoint"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        body: Json<CreateEndpoint>,
    ) -> Result<EndpointResponse, ErrorResponse> {
        auth.0.require(Scope::WebhooksWrite)?;
        let body = body.0;
        let description: String = body.description.map(Into::into).unwrap_or_default();
        let mut violations = Violations::default();
        check_description(&description, &mut violations);
        violations.finish()?;
        let url = checked_url(&state, &body.url).await?;
        let new = NewEndpoint {
            url,
            description,
            event_types: event_type_names(body.event_types).unwrap_or_default(),
        };
        let mut conn = Session::acquire(&state.pool).await?;
        let (endpoint, secret) = endpoints::create(&mut conn, &new).await?;
        conn.finish().await?;
        let location = format!("/v1/webhook-endpoints/{}", endpoint.id);
        Ok(EndpointResponse::Created(
            Json(EndpointView::new(endpoint, Some(secret))),
            location,
        ))
    }

    /// List webhook endpoints
    ///
    /// Oldest first, `limit` (1–100, default 20) at a time; pass a page's
    /// `next_cursor` as `cursor` for the next. Secrets are never listed.
    /// Needs the `webhooks:write` (or `admin`) scope.
    #[oai(
        path = "/v1/webhook-endpoints",
        method = "get",
        operation_id = "listWebhookEndpoints"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<EndpointList, ErrorResponse> {
        auth.0.require(Scope::WebhooksWrite)?;
        let mut violations = Violations::default();
        let limit = pagination::limit(limit.0, &mut violations);
        let after = pagination::cursor::<Uuid>(cursor.0.as_deref(), &mut violations);
        violations.finish()?;
        let mut conn = Session::acquire(&state.pool).await?;
        let rows = endpoints::list(&mut conn, after, limit + 1).await?;
        let (rows, next_cursor) = pagination::page(rows, limit, |e| e.id.to_string());
        Ok(EndpointList::Ok(Json(EndpointPage {
            items: rows
                .into_iter()
                .map(|e| EndpointView::new(e, None))
                .collect(),
            next_cursor,
        })))
    }

    /// Get a webhook endpoint
    ///
    /// Its settings and whether it is failing; never its secret. Needs the
    /// `webhooks:write` (or `admin`) scope.
    #[oai(
        path = "/v1/webhook-endpoints/:id",
        method = "get",
        operation_id = "getWebhookEndpoint"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<Uuid>,
    ) -> Result<EndpointResponse, ErrorResponse> {
        auth.0.require(Scope::WebhooksWrite)?;
        let mut conn = Session::acquire(&state.pool).await?;
        let endpoint = endpoints::get(&mut conn, id.0).await?;
        let endpoint = endpoint.ok_or_else(|| not_found(id.0))?;
        Ok(EndpointResponse::Ok(Json(EndpointView::new(
            endpoint, None,
        ))))
    }

    /// Change a webhook endpoint
    ///
    /// Its URL (checked as on create), event types, description, or whether
    /// it is enabled. Events written while an endpoint is disabled are not
    /// sent to it; `GET /v1/events` has them all. Needs the `webhooks:write`
    /// (or `admin`) scope.
    #[oai(
        path = "/v1/webhook-endpoints/:id",
        method = "patch",
        operation_id = "updateWebhookEndpoint"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<Uuid>,
        body: Json<PatchEndpoint>,
    ) -> Result<EndpointResponse, ErrorResponse> {
        auth.0.require(Scope::WebhooksWrite)?;
        let body = body.0;
        let mut violations = Violations::default();
        if let Some(description) = &body.description {
            check_description(description, &mut violations);
        }
        violations.finish()?;
        let url = match &body.url {
            Some(url) => Some(checked_url(&state, url).await?),
            None => None,
        };
        let change = EndpointChange {
            url,
            description: body.description.map(Into::into),
            event_types: event_type_names(body.event_types),
            enabled: body.enabled,
        };
        let mut conn = Session::acquire(&state.pool).await?;
        let endpoint = endpoints::update(&mut conn, id.0, &change).await?;
        let endpoint = endpoint.ok_or_else(|| not_found(id.0))?;
        conn.finish().await?;
        Ok(EndpointResponse::Ok(Json(EndpointView::new(
            endpoint, None,
        ))))
    }

    /// Delete a webhook endpoint
    ///
    /// With its deliveries; nothing more is sent to it. Needs the
    /// `webhooks:write` (or `admin`) scope.
    #[oai(
        path = "/v1/webhook-endpoints/:id",
        method = "delete",
        operation_id = "deleteWebhookEndpoint"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<Uuid>,
    ) -> Result<EndpointDeleted, ErrorResponse> {
        auth.0.require(Scope::WebhooksWrite)?;
        let mut conn = Session::acquire(&state.pool).await?;
        if !endpoints::delete(&mut conn, id.0).await? {
            return Err(not_found(id.0).into());
        }
        conn.finish().await?;
        Ok(EndpointDeleted::Deleted)
    }

    /// Rotate a webhook endpoint's secret
    ///
    /// A new secret, shown in this answer only. For 24 hours the old one
    /// signs too: each delivery carries both signatures
    /// (`v1,<new> v1,<old>`), so a receiver can switch when it likes within
    /// that time without failing a delivery. Needs the `webhooks:write` (or
    /// `admin`) scope.
    #[oai(
        path = "/v1/webhook-endpoints/:id/rotate-secret",
        method = "post",
        operation_id = "rotateWebhookSecret"
    )]
    async fn rotate_secret(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<Uuid>,
    ) -> Result<EndpointResponse, ErrorResponse> {
        auth.0.require(Scope::WebhooksWrite)?;
        let mut conn = Session::acquire(&state.pool).await?;
        let rotated = endpoints::rotate_secret(&mut conn, id.0, ROTATION_OVERLAP).await?;
        let (endpoint, secret) = rotated.ok_or_else(|| not_found(id.0))?;
        conn.finish().await?;
        Ok(EndpointResponse::Ok(Json(EndpointView::new(
            endpoint,
            Some(secret),
        ))))
    }

    /// List a webhook endpoint's deliveries
    ///
    /// Newest first, `limit` (1–100, default 20) at a time, each with every
    /// request made for it: the status code, the latency, the error when no
    /// answer came, and the start of the answer's body. Deliveries go with
    /// their events after `EVENT_RETENTION_DAYS`. Needs the `webhooks:write`
    /// (or `admin`) scope.
    #[oai(
        path = "/v1/webhook-endpoints/:id/deliveries",
        method = "get",
        operation_id = "listWebhookDeliveries"
    )]
    async fn deliveries(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<Uuid>,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<DeliveryList, ErrorResponse> {
        auth.0.require(Scope::WebhooksWrite)?;
        let mut violations = Violations::default();
        let limit = pagination::limit(limit.0, &mut violations);
        let before = pagination::cursor::<i64>(cursor.0.as_deref(), &mut violations);
        violations.finish()?;
        let mut conn = Session::acquire(&state.pool).await?;
        if endpoints::get(&mut conn, id.0).await?.is_none() {
            return Err(not_found(id.0).into());
        }
        let rows = deliveries::list(&mut conn, id.0, before, limit + 1).await?;
        let (rows, next_cursor) = pagination::page(rows, limit, |d| d.id.to_string());
        Ok(DeliveryList::Ok(Json(DeliveryPage {
            items: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        })))
    }

    /// Re-send a delivery
    ///
    /// Queues the delivery to be sent again now, whatever became of it, with
    /// the same `webhook-id`, and a fresh retry schedule. For a delivery that
    /// failed while the endpoint was down or disabled (enable it first).
    /// Needs the `webhooks:write` (or `admin`) scope.
    #[oai(
        path = "/v1/webhook-endpoints/:id/deliveries/:delivery_id/retry",
        method = "post",
        operation_id = "retryWebhookDelivery"
    )]
    async fn retry(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<Uuid>,
        delivery_id: Path<i64>,
    ) -> Result<DeliveryQueued, ErrorResponse> {
        auth.0.require(Scope::WebhooksWrite)?;
        let missing = || {
            ApiError::not_found(format!(
                "webhook endpoint {} has no delivery {}",
                id.0, delivery_id.0
            ))
        };
        let mut tx = Session::begin(&state.pool).await?;
        if !deliveries::resend(&mut tx, id.0, delivery_id.0).await? {
            return Err(missing().into());
        }
        let delivery = deliveries::get(&mut tx, id.0, delivery_id.0).await?;
        let delivery = delivery.ok_or_else(missing)?;
        tx.finish().await?;
        Ok(DeliveryQueued::Accepted(Json(delivery.into())))
    }
}
