//! RFC 9457 problem details: the one shape of every error this API returns.
//!
//! `type` is a stable slug under `/problems/`; clients branch on it, people
//! read `title` and `detail`. The slugs are listed in [`ProblemType`] and in
//! the README.

use poem::http::StatusCode;
use poem_openapi::{Enum, Object};

/// What kind of problem it is; each maps to one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "kebab-case")]
pub enum ProblemType {
    ValidationError,
    MalformedRequest,
    NotFound,
    MethodNotAllowed,
    Unauthorized,
    Forbidden,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    IdempotencyKeyInUse,
    Conflict,
    OrderNotCancellable,
    PayloadTooLarge,
    UnsupportedMediaType,
    Internal,
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
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn slug(self) -> &'static str {
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
            Self::Internal => "Internal error",
            Self::ServiceUnavailable => "Service unavailable",
        }
    }
}

/// An error, as `application/problem+json` (RFC 9457).
#[derive(Debug, Clone, Object)]
pub struct Problem {
    /// A stable identifier of the kind of problem, `/problems/<slug>`.
    #[oai(rename = "type")]
    pub problem_type: String,
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
            problem_type: format!("/problems/{}", kind.slug()),
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
