//! The request guard: before any route sees a request body, it must be at
//! most 1 MiB (413), JSON by content type (415) and well-formed JSON (400),
//! and no text in the path, the query or the body may hold a NUL (see
//! [`super::nul`]). The console's forms (`/ui/…`) may be
//! `application/x-www-form-urlencoded` instead, without a NUL in any field.
//! Schema violations are left to the routes (422). A body
//! whose next piece takes longer than the body read timeout to arrive gets a
//! 408 and its connection is closed.

use std::time::Duration;

use hyper::body::Bytes;
use poem::http::Method;
use poem::{Endpoint, IntoResponse, Request, Response};

use super::nul;
use super::problem::{Problem, ProblemType};
use super::raw_problem::problem_response;

/// Largest accepted body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub async fn guard<E: Endpoint>(
    next: E,
    mut req: Request,
    body_read_timeout: Duration,
) -> poem::Result<Response> {
    if let Some(problem) = nul::check_uri(req.uri().path(), req.uri().query()) {
        return Ok(problem_response(problem));
    }
    if matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH) {
        if let Some(rejection) = check_body(&mut req, body_read_timeout).await {
            return Ok(rejection);
        }
    }
    next.call(req).await.map(IntoResponse::into_response)
}

async fn check_body(req: &mut Request, body_read_timeout: Duration) -> Option<Response> {
    let too_large = || {
        closing(problem_response(Problem::new(
            ProblemType::PayloadTooLarge,
            format!("the body is over {MAX_BODY_BYTES} bytes"),
        )))
    };
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        discard_body(req).await;
        return Some(too_large());
    }
    let body = match read_body(req, body_read_timeout).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return Some(too_large()),
        Err(BodyError::Stalled) => {
            metrics::counter!("asynccheckout_api_connections_closed_total", "reason" => "body_timeout")
                .increment(1);
            return Some(closing(problem_response(Problem::new(
                ProblemType::RequestTimeout,
                format!(
                    "no part of the body arrived for {} s (BODY_READ_TIMEOUT_SECS); the \
                     connection is closed, so send the request again on a new one",
                    body_read_timeout.as_secs_f64()
                ),
            ))));
        }
        Err(BodyError::Unreadable(e)) => {
            return Some(problem_response(Problem::new(
                ProblemType::MalformedRequest,
                format!("the body could not be read: {e}"),
            )));
        }
    };
    let content_type = req.content_type().map(str::to_owned);
    if req.uri().path().starts_with("/ui/") && content_type.as_deref().is_some_and(is_form) {
        // The console's forms: a NUL, raw or encoded, in any field is refused.
        if body.contains(&0) || body.windows(3).any(|w| w.eq_ignore_ascii_case(b"%00")) {
            return Some(problem_response(Problem::new(
                ProblemType::MalformedRequest,
                "a form field holds a NUL character",
            )));
        }
        req.set_body(body);
        return None;
    }
    let is_json = content_type.as_deref().is_some_and(is_json_media_type);
    if body.is_empty() && !is_json {
        // No body at all, as for `POST /v1/orders/{id}/cancel`.
        req.set_body(body);
        return None;
    }
    if !is_json {
        return Some(problem_response(Problem::new(
            ProblemType::UnsupportedMediaType,
            format!(
                "the body is {}; send application/json",
                content_type.as_deref().unwrap_or("of no declared type")
            ),
        )));
    }
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&body) {
        return Some(problem_response(Problem::new(
            ProblemType::MalformedRequest,
            format!("the body is not valid JSON: {e}"),
        )));
    }
    if let Some(problem) = nul::check_body(&body) {
        return Some(problem_response(problem));
    }
    req.set_body(body);
    None
}

/// The rest of a body that was not read means the connection cannot carry
/// another request: say so, or a client may reuse it and find it closed.
fn closing(mut response: Response) -> Response {
    response.headers_mut().insert(
        poem::http::header::CONNECTION,
        poem::http::HeaderValue::from_static("close"),
    );
    response
}

enum BodyError {
    TooLarge,
    /// No piece of it arrived within the body read timeout.
    Stalled,
    Unreadable(std::io::Error),
}

/// The whole body, at most [`MAX_BODY_BYTES`], each piece arriving within
/// `timeout` of the one before.
async fn read_body(req: &mut Request, timeout: Duration) -> Result<Bytes, BodyError> {
    use tokio::io::AsyncReadExt;

    let mut reader = req
        .take_body()
        .into_async_read()
        .take(MAX_BODY_BYTES as u64 + 1);
    let mut body = Vec::new();
    loop {
        body.reserve(16 * 1024);
        match tokio::time::timeout(timeout, reader.read_buf(&mut body)).await {
            Err(_) => return Err(BodyError::Stalled),
            Ok(Err(e)) => return Err(BodyError::Unreadable(e)),
            Ok(Ok(0)) => break,
            Ok(Ok(_)) if body.len() > MAX_BODY_BYTES => return Err(BodyError::TooLarge),
            Ok(Ok(_)) => {}
        }
    }
    Ok(Bytes::from(body))
}

/// Most of a refused body that is read and dropped before the 413.
const DISCARD_AT_MOST_BYTES: u64 = 16 * 1024 * 1024;

/// Longest a refused body is read for before the 413.
const DISCARD_AT_MOST: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads and drops a body the guard refuses, up to a bound, so that a client
/// that writes its whole body before it reads (Python's urllib, most simple
/// clients) gets the 413 instead of a connection reset under its write. A
/// client that asked `Expect: 100-continue` is waiting to be told, so nothing
/// is read from it.
async fn discard_body(req: &mut Request) {
    use tokio::io::AsyncReadExt;

    if req.headers().contains_key(poem::http::header::EXPECT) {
        return;
    }
    let mut body = req
        .take_body()
        .into_async_read()
        .take(DISCARD_AT_MOST_BYTES);
    let mut sink = tokio::io::sink();
    let drained = tokio::io::copy(&mut body, &mut sink);
    let _ = tokio::time::timeout(DISCARD_AT_MOST, drained).await;
}

/// `application/json`, or any `application/*+json`, with any parameters.
fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Whether `content_type` is an HTML form's (`application/x-www-form-urlencoded`).
fn is_form(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|media| {
        media
            .trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

#[cfg(test)]
mod tests {
    use super::is_json_media_type;

    #[test]
    fn json_media_types_are_recognised_with_parameters() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("Application/JSON; charset=utf-8"));
        assert!(is_json_media_type("application/merge-patch+json"));
        assert!(!is_json_media_type("text/plain"));
        assert!(!is_json_media_type("application/jsonx"));
        assert!(!is_json_media_type(""));
    }
}
