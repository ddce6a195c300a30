//! `X-Request-Id`: echoed when the client sends a sane one, generated
//! otherwise; on every response, and on the request's log span. Every
//! request also gets a deadline (`REQUEST_TIMEOUT_SECS`, default
//! [`DEFAULT_REQUEST_TIMEOUT`]): past it, a 503 with `Retry-After`.

use std::time::Duration;

use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

/// No request runs longer than this unless configured otherwise; it gets a
/// 503 instead.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `Retry-After` of a request that ran out of time.
const TIMED_OUT_RETRY_AFTER_SECS: &str = "1";

pub async fn request_id<E: Endpoint>(
    next: E,
    req: Request,
    timeout: Duration,
) -> poem::Result<Response> {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 200 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
        order_id = tracing::field::Empty,
    );
    // Continue the caller's trace, when it sent one.
    if let Some(parent) = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(shared::trace::TraceParent::parse)
    {
        shared::trace::attach(&span, &parent);
    }
    async move {
        let started = std::time::Instant::now();
        let mut response = match tokio::time::timeout(timeout, next.call(req)).await {
            Ok(Ok(response)) => response.into_response(),
            Ok(Err(error)) => super::catch_all::to_problem(error).await,
            Err(_) => {
                tracing::error!(timeout_secs = timeout.as_secs_f64(), "request timed out");
                let mut response =
                    super::raw_problem::problem_response(super::problem::Problem::new(
                        super::problem::ProblemType::ServiceUnavailable,
                        format!(
                            "the request took longer than {} s; retry it later (an order \
                             with the same Idempotency-Key)",
                            timeout.as_secs_f64()
                        ),
                    ));
                response.headers_mut().insert(
                    poem::http::header::RETRY_AFTER,
                    HeaderValue::from_static(TIMED_OUT_RETRY_AFTER_SECS),
                );
                response
            }
        };
        let status = response.status().as_u16();
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        if status >= 500 {
            tracing::error!(status, elapsed_ms, "request answered");
        } else {
            tracing::debug!(status, elapsed_ms, "request answered");
        }
        if let Ok(value) = HeaderValue::from_str(&id) {
            response.headers_mut().insert(HEADER, value);
        }
        Ok(response)
    }
    .instrument(span)
    .await
}
