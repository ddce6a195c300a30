//! AsyncCheckout's HTTP API (poem + poem-openapi).
//!
//! [`app`] builds the whole service: the `/v1` operations, `/docs` (Swagger
//! UI), `/openapi.json` (the spec, byte-identical to the committed
//! `openapi.json`), the probes, and the middleware every request passes:
//! request ids, the body guard (413/415/400/408), per-key rate limits, and
//! problem+json for every error. [`serve`] runs it on [`server`], which
//! bounds slow and greedy connections, until shut down.

// Handlers return `Result<_, ErrorResponse>` because poem-openapi documents
// both arms; the error response carries its problem inline by design.
#![allow(clippy::result_large_err)]

pub mod admission;
pub mod console;
pub mod events;
pub mod http;
pub mod openapi_document;
pub mod routes;
pub mod server;
pub mod views;
pub mod wake_workers;

use std::sync::Arc;
use std::time::Duration;

use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::OpenApiService;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use routes::catalog::CatalogApi;
use routes::events::EventsApi;
use routes::operations::OperationsApi;
use routes::orders::OrdersApi;
use routes::probes::ProbesApi;
use routes::queue_kinds::QueueKindsApi;
use routes::queue_workers::QueueWorkersApi;
use routes::webhooks::WebhooksApi;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// Load shedding for new orders; `None` when off.
    pub admission: Option<std::sync::Arc<admission::Admission>>,
    /// How long a request may run before it is answered 503.
    pub request_timeout: Duration,
    /// Per-key token buckets.
    pub rate_limiter: Arc<http::rate_limit::RateLimiter>,
    /// Timeouts and the connection cap.
    pub connection_limits: server::ConnectionLimits,
    /// Open connections against the cap, for `/readyz`.
    pub open_connections: Arc<server::OpenConnections>,
    /// The live order events of this process's streams.
    pub feed: Arc<events::feed::Feed>,
    /// Which webhook URLs may be saved.
    pub webhook_urls: shared::webhooks::url_policy::UrlPolicy,
    /// Wakes idle workers after an order is placed.
    pub wake_workers: wake_workers::WorkerWakeUps,
    /// How an order's payment is taken when its request does not say.
    pub default_capture_method: shared::orders::CaptureMethod,
}

type Apis = (
    OrdersApi,
    EventsApi,
    WebhooksApi,
    CatalogApi,
    OperationsApi,
    QueueKindsApi,
    QueueWorkersApi,
    ProbesApi,
);

fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            OrdersApi,
            EventsApi,
            WebhooksApi,
            CatalogApi,
            OperationsApi,
            QueueKindsApi,
            QueueWorkersApi,
            ProbesApi,
        ),
        "AsyncCheckout",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Order orchestration on PostgreSQL alone. Place an order (202), then watch it move \
             pending → paid → confirmed → completed, or end failed, cancelled or refunded. \
             Every error is application/problem+json (RFC 9457).",
    )
}

/// The OpenAPI document, exactly as served at `/openapi.json`.
pub fn openapi_json() -> String {
    openapi_document::refine(&service().spec())
}

/// The whole HTTP service.
pub fn app(state: AppState) -> impl Endpoint {
    let request_timeout = state.request_timeout;
    let body_read_timeout = state.connection_limits.body_read_timeout;
    let service = service();
    let raw_spec = service.spec();
    let spec = openapi_document::refine(&raw_spec);
    // Swagger UI shows the refined document: poem-openapi's page embeds the
    // raw one, which is swapped for it.
    let docs_html = std::sync::Arc::new(service.swagger_ui_html().replace(&raw_spec, &spec));
    let docs_page = move || {
        let html = std::sync::Arc::clone(&docs_html);
        poem::endpoint::make_sync(move |_| poem::web::Html(html.as_str().to_owned()))
    };
    let routes = std::sync::Arc::new(http::route_table::RouteTable::from_spec(&spec));
    Route::new()
        .nest("/", service)
        .nest("/ui", console::routes())
        .at("/docs", docs_page())
        .at("/docs/", docs_page())
        .at(
            "/openapi.json",
            poem::endpoint::make_sync(move |_| {
                poem::Response::builder()
                    .content_type("application/json")
                    .body(spec.clone())
            }),
        )
        .around(to_the_docs)
        .around(move |next, req| http::guard::guard(next, req, body_read_timeout))
        .around(move |next, req| {
            http::route_table::observe(next, req, std::sync::Arc::clone(&routes))
        })
        .around(move |next, req| http::request_id::request_id(next, req, request_timeout))
        // Outside the request id's middleware, which turns every error into
        // its answer: the fields go on errors too.
        .around(http::rate_limit::rate_limit_fields)
        .data(state)
}

/// A person who opens the bare address (`GET /`) lands on the docs.
async fn to_the_docs<E: Endpoint>(next: E, req: poem::Request) -> poem::Result<poem::Response> {
    use poem::IntoResponse;

    if req.uri().path() == "/" && req.method() == poem::http::Method::GET {
        return Ok(poem::web::Redirect::see_other("/docs").into_response());
    }
    next.call(req).await.map(IntoResponse::into_response)
}

pub use server::{Bound, bind};

/// Serves [`app`] until `shutdown` fires, then lets requests in flight finish
/// for up to `grace`.
pub async fn serve(
    bound: Bound,
    state: AppState,
    shutdown: CancellationToken,
    grace: Duration,
) -> std::io::Result<()> {
    let limits = state.connection_limits;
    let open = Arc::clone(&state.open_connections);
    server::serve(bound, app(state), limits, open, shutdown, grace).await
}
