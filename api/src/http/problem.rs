//! RFC 9457 problem details: the one shape of every error this API returns.
//!
//! `type` is a stable slug under `/problems/`; clients branch on it, people
//! read `title` and `detail`. The slugs are listed in [`ProblemType`] and in
//! the README.

use poem::http::StatusCode;
use poem_openapi::{Enum, Object};

/// What kind of problem it is: a stable identifier clients can branch on.
/// Each maps to one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ProblemType {
    /// 422: a field is missing, unknown, of the wrong type or out of range.
    #[oai(rename = "/problems/validation-error")]
    ValidationError,
    /// 400: the body is not JSON.
    #[oai(rename = "/problems/malformed-request")]
    MalformedRequest,
    /// 404: no such resource (or a malformed id).
    #[oai(rename = "/problems/not-found")]
    NotFound,
    /// 405: the path does not take that method (see `Allow`).
    #[oai(rename = "/problems/method-not-allowed")]
    MethodNotAllowed,
    /// 401: no API key, or an unknown or revoked one.
    #[oai(rename = "/problems/unauthorized")]
    Unauthorized,
    /// 403: the API key lacks the scope.
    #[oai(rename = "/problems/forbidden")]
    Forbidden,
    /// 400: `POST /v1/orders` without an `Idempotency-Key`.
    #[oai(rename = "/problems/idempotency-key-missing")]
    IdempotencyKeyMissing,
    /// 422: the `Idempotency-Key` was first used with a different body.
    #[oai(rename = "/problems/idempotency-key-reused")]
    IdempotencyKeyReused,
    /// 409: a request with this `Idempotency-Key` is in flight.
    #[oai(rename = "/problems/idempotency-key-in-use")]
    IdempotencyKeyInUse,
    /// 409: the request conflicts with the resource (a sku that exists, a task that is not dead).
    #[oai(rename = "/problems/conflict")]
    Conflict,
    /// 409: the order is past the point of cancelling.
    #[oai(rename = "/problems/order-not-cancellable")]
    OrderNotCancellable,
    /// 413: the body is over 1 MiB.
    #[oai(rename = "/problems/payload-too-large")]
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    #[oai(rename = "/problems/unsupported-media-type")]
    UnsupportedMediaType,
    /// 408: the request's body stopped arriving for longer than the body read timeout.
    #[oai(rename = "/problems/request-timeout")]
    RequestTimeout,
    /// 429: the API key made more requests than its rate limit allows (see `Retry-After`).
    #[oai(rename = "/problems/rate-limited")]
    RateLimited,
    /// 500: something failed on our side; quote the `X-Request-Id`.
    #[oai(rename = "/problems/internal")]
    Internal,
    /// 503: the request took too long, the service is shedding load, or the
    /// database is unreachable for the moment.
    #[oai(rename = "/problems/service-unavailable")]
    ServiceUnavailable,
}

impl ProblemType {
    pub fn status(self) -> StatusCode {
        match self {
            Self::ValidationError | Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::MalformedRequest | Self::IdempotencyKeyMissing => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::IdempotencyKeyInUse | Self::Conflict | Self::OrderNotCancellable => {
                StatusCode::CONFLICT
            }
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    #[cfg(test)]
    fn slug(self) -> &'static str {
        match self {
            Self::ValidationError => "validation-error",
            Self::MalformedRequest => "malformed-request",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::IdempotencyKeyMissing => "idempotency-key-missing",
            Self::IdempotencyKeyReused => "idempotency-key-reused",
            Self::IdempotencyKeyInUse => "idempotency-key-in-use",
            Self::Conflict => "conflict",
            Self::OrderNotCancellable => "order-not-cancellable",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::RequestTimeout => "request-timeout",
            Self::RateLimited => "rate-limited",
            Self::Internal => "internal",
            Self::ServiceUnavailable => "service-unavailable",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::ValidationError => "Request is invalid",
            Self::MalformedRequest => "Request is malformed",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Unauthorized => "Missing or unknown API key",
            Self::Forbidden => "API key lacks the scope",
            Self::IdempotencyKeyMissing => "Idempotency-Key header is required",
            Self::IdempotencyKeyReused => "Idempotency-Key was used with a different request",
            Self::IdempotencyKeyInUse => "A request with this Idempotency-Key is in flight",
            Self::Conflict => "Conflict",
            Self::OrderNotCancellable => "Order can no longer be cancelled",
            Self::PayloadTooLarge => "Request body is too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::RequestTimeout => "Request body arrived too slowly",
            Self::RateLimited => "Too many requests",
            Self::Internal => "Internal error",
            Self::ServiceUnavailable => "Service unavailable",
        }
    }
}

/// An error, as `application/problem+json` (RFC 9457). Each error response
/// of the OpenAPI document has an example of its own (see
/// [`crate::openapi_document`]), so none sits on the schema.
#[derive(Debug, Clone, Object)]
pub struct Problem {
    // Documented on `ProblemType` itself: a description here would wrap the
    // reference in `allOf`, which client generators read badly.
    #[oai(rename = "type")]
    pub problem_type: ProblemType,
    /// A short, human-readable summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, and what to do about it.
    pub detail: String,
    /// For validation errors: each invalid field and why.
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<FieldError>>,
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct FieldError {
    /// Where in the request, e.g. `items[1].quantity`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl Problem {
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self {
            problem_type: kind,
            title: kind.title().to_owned(),
            status: kind.status().as_u16(),
            detail: detail.into(),
            errors: None,
        }
    }

    /// A 422 listing every invalid field.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{} {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            errors: Some(errors),
            ..Self::new(ProblemType::ValidationError, detail)
        }
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;

    use super::{Problem, ProblemType};

    #[test]
    fn the_type_is_the_slug_under_problems() {
        let problem = Problem::new(ProblemType::IdempotencyKeyReused, "reused");
        let json = problem.to_json().expect("serialises");
        assert_eq!(
            json["type"],
            format!("/problems/{}", ProblemType::IdempotencyKeyReused.slug())
        );
        assert_eq!(json["status"], 422);
    }
}
