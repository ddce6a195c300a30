//! The catch-all that turns every failure outside a handler (a route that
//! does not exist, a body poem-openapi could not parse, a missing key) into
//! problem+json too.

use poem::Response;

use super::problem::{FieldError, Problem, ProblemType};
use super::raw_problem::{problem_response, unauthorized};

/// Turns any error that reached the top into problem+json. Errors that
/// already are our responses (built from
/// [`ErrorResponse`](super::error::ErrorResponse)) pass unchanged.
pub async fn to_problem(error: poem::Error) -> Response {
    use poem::error::{MethodNotAllowedError, NotFoundError, ReadBodyError};
    use poem_openapi::error::{
        AuthorizationError, ContentTypeError, ParseParamError, ParseRequestPayloadError,
    };

    if !error.has_source() {
        return error.into_response();
    }
    if error.is::<AuthorizationError>() {
        return unauthorized("send an API key as Authorization: Bearer <key>");
    }
    let problem = if error.is::<NotFoundError>() {
        Problem::new(
            ProblemType::NotFound,
            "no such route; see /docs for the API",
        )
    } else if error.is::<MethodNotAllowedError>() {
        Problem::new(
            ProblemType::MethodNotAllowed,
            "this route does not take that method",
        )
    } else if let Some(e) = error.downcast_ref::<ParseParamError>() {
        if e.name == "Idempotency-Key" {
            Problem::new(
                ProblemType::IdempotencyKeyMissing,
                "send an Idempotency-Key header (1-255 printable ASCII characters) so that a retry \
                 cannot place the order twice",
            )
        } else {
            Problem::invalid(vec![FieldError::new(e.name, e.reason.clone())])
        }
    } else if let Some(e) = error.downcast_ref::<ParseRequestPayloadError>() {
        Problem::invalid(vec![FieldError::new("body", e.reason.clone())])
    } else if let Some(e) = error.downcast_ref::<ContentTypeError>() {
        Problem::new(
            ProblemType::UnsupportedMediaType,
            format!("{e}; send application/json"),
        )
    } else if let Some(ReadBodyError::PayloadTooLarge) = error.downcast_ref::<ReadBodyError>() {
        Problem::new(ProblemType::PayloadTooLarge, "the body is over 1 MiB")
    } else if error.status().is_client_error() {
        Problem::new(ProblemType::MalformedRequest, error.to_string())
    } else {
        tracing::error!(error = %error, "request failed outside a handler");
        Problem::new(
            ProblemType::Internal,
            "the request could not be completed; quote the X-Request-Id",
        )
    };
    problem_response(problem)
}
