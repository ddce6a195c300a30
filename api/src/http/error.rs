//! One error type for every handler ([`ApiError`]) and the one place that
//! turns it into a documented response ([`ErrorResponse`]). Domain errors
//! become an `ApiError` in `domain_errors`, so handlers just use `?`.
//!
//! A 500 never carries internals: the log has the cause chain, tied to the
//! response by its `X-Request-Id`.

use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;

use shared::error_chain::describe;

use super::problem::{FieldError, Problem, ProblemType};
use super::raw_problem::BEARER_CHALLENGE;

/// The error responses an operation can return, as documented in the spec.
#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum ErrorResponse {
    /// The request is malformed: the body is not JSON, or a required header is missing.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// No API key, or an unknown or revoked one.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>, #[oai(header = "WWW-Authenticate")] String),
    /// The API key lacks the scope this operation needs.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such resource (a malformed id is also not found).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The request conflicts with the resource's state.
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// The body is over 1 MiB.
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Problem>),
    /// The body is not `application/json`.
    #[oai(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Json<Problem>),
    /// The body stopped arriving for longer than the body read timeout; the
    /// connection is closed.
    #[oai(status = 408, content_type = "application/problem+json")]
    RequestTimeout(Json<Problem>),
    /// The request is well-formed but invalid; `errors` names each field.
    #[oai(status = 422, content_type = "application/problem+json")]
    Unprocessable(Json<Problem>),
    /// The API key made more requests than its rate limit allows: retry after
    /// `Retry-After` seconds. Every answer to a request with a key carries
    /// `RateLimit-Policy` and `RateLimit`.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>, #[oai(header = "Retry-After")] String),
    /// Something failed on our side; the log has the details under the request id.
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
    /// Overloaded, too slow, or the database is unreachable for the moment:
    /// retry after `Retry-After` seconds (orders with the same Idempotency-Key).
    #[oai(status = 503, content_type = "application/problem+json")]
    ServiceUnavailable(Json<Problem>, #[oai(header = "Retry-After")] Option<String>),
}

/// `Retry-After` when the database is unreachable: it is usually back within
/// seconds (a restart, a failover).
const UNAVAILABLE_RETRY_AFTER_SECS: u32 = 1;

/// What a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    #[error("{1}")]
    Problem(ProblemType, String),
    #[error("the database is unreachable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn problem(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self::Problem(kind, detail.into())
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::problem(ProblemType::NotFound, detail)
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    /// A failure on our side: 503 when it comes from a lost or refused
    /// database connection (a restart, a failover, a killed session: worth
    /// retrying), 500 otherwise.
    pub fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        let error = error.into();
        if database_unreachable(error.as_ref()) {
            Self::Unavailable(error)
        } else {
            Self::Internal(error)
        }
    }
}

/// Whether a database error that means "unreachable" (or "give way and try
/// again": a deadlock's victim, a serialization failure) is somewhere in the
/// chain of `error`'s causes: a 503 with `Retry-After`, not a 500.
fn database_unreachable(error: &(dyn std::error::Error + 'static)) -> bool {
    shared::error_chain::causes(error).any(|e| {
        e.downcast_ref::<sqlx::Error>()
            .is_some_and(|e| shared::db::is_unavailable(e) || shared::db::is_retryable_conflict(e))
    })
}

/// Anything that converts into an [`ApiError`] (a domain error, a database
/// error) is an error response, so a handler's `?` takes it as it is.
impl<E: Into<ApiError>> From<E> for ErrorResponse {
    fn from(error: E) -> Self {
        match error.into() {
            ApiError::Invalid(errors) => ErrorResponse::from_problem(Problem::invalid(errors)),
            ApiError::Problem(kind, detail) => {
                ErrorResponse::from_problem(Problem::new(kind, detail))
            }
            ApiError::Unavailable(source) => {
                tracing::warn!(error = %describe(source.as_ref()), "request failed: database unreachable");
                ErrorResponse::ServiceUnavailable(
                    Json(Problem::new(
                        ProblemType::ServiceUnavailable,
                        "the database connection was lost or could not be had, so the \
                         request may or may not have taken effect; retry it if it is \
                         idempotent (an order with the same Idempotency-Key), otherwise \
                         read the resource first",
                    )),
                    Some(UNAVAILABLE_RETRY_AFTER_SECS.to_string()),
                )
            }
            ApiError::Internal(source) => {
                tracing::error!(error = %describe(source.as_ref()), "request failed");
                ErrorResponse::from_problem(Problem::new(
                    ProblemType::Internal,
                    "the request could not be completed; retry it, and quote the X-Request-Id \
                     response header if it keeps failing",
                ))
            }
        }
    }
}

impl ErrorResponse {
    pub fn from_problem(problem: Problem) -> Self {
        let json = Json(problem);
        match json.0.status {
            400 => Self::BadRequest(json),
            401 => Self::Unauthorized(json, BEARER_CHALLENGE.to_owned()),
            403 => Self::Forbidden(json),
            404 => Self::NotFound(json),
            409 => Self::Conflict(json),
            413 => Self::PayloadTooLarge(json),
            408 => Self::RequestTimeout(json),
            415 => Self::UnsupportedMediaType(json),
            422 => Self::Unprocessable(json),
            429 => Self::TooManyRequests(json, "1".to_owned()),
            503 => Self::ServiceUnavailable(json, None),
            _ => Self::Internal(json),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(error: ApiError) -> (u16, Option<String>) {
        match ErrorResponse::from(error) {
            ErrorResponse::ServiceUnavailable(problem, retry_after) => {
                (problem.0.status, retry_after)
            }
            ErrorResponse::Internal(problem) => (problem.0.status, None),
            _ => (0, None),
        }
    }

    #[test]
    fn a_lost_database_connection_is_503_with_retry_after_even_when_wrapped() {
        assert_eq!(
            status(ApiError::from(sqlx::Error::PoolTimedOut)),
            (503, Some("1".to_owned()))
        );
        let wrapped = shared::orders::OrderError::Database(sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        )));
        assert_eq!(
            status(ApiError::internal(wrapped)),
            (503, Some("1".to_owned()))
        );
    }

    #[test]
    fn other_failures_stay_500() {
        assert_eq!(
            status(ApiError::from(sqlx::Error::RowNotFound)),
            (500, None)
        );
        assert_eq!(status(ApiError::internal("a bug")), (500, None));
    }
}
