//! Stripe-shaped errors: `{"error": {"type", "code", "message"}}`.
//!
//! Every error the gateway answers goes through [`StripeError`], so clients
//! can rely on one body shape for every status. Messages say what was wrong
//! with the request; none carries internals.

use poem::http::StatusCode;
use serde_json::json;

use crate::reply::Reply;

/// One error answer: its HTTP status and the three fields of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StripeError {
    pub(crate) status: StatusCode,
    pub(crate) kind: &'static str,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl StripeError {
    /// 400 `invalid_request_error`/`parameter_invalid`: the request is
    /// malformed or a parameter is missing or out of range.
    pub(crate) fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::invalid_request(StatusCode::BAD_REQUEST, "parameter_invalid", message)
    }

    /// An `invalid_request_error` with the given status and code.
    pub(crate) fn invalid_request(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind: "invalid_request_error",
            code,
            message: message.into(),
        }
    }

    /// 402 `card_error`: the card was declined for the reason in `code`.
    pub(crate) fn card_declined(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::PAYMENT_REQUIRED,
            kind: "card_error",
            code,
            message: message.into(),
        }
    }

    /// 400 `idempotency_error`: the key was first used with other parameters.
    pub(crate) fn idempotency_key_reused(key: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "idempotency_error",
            code: "idempotency_key_reused",
            message: format!(
                "Keys for idempotent requests can only be used with the same parameters \
                 they were first used with; the key `{key}` was first used with different ones"
            ),
        }
    }

    /// 503 `api_error`: an injected fault; nothing was done, so retrying is safe.
    pub(crate) fn unavailable() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            kind: "api_error",
            code: "service_unavailable",
            message: "The gateway is temporarily unavailable (injected fault); \
                      nothing was done, so the request can be retried"
                .to_owned(),
        }
    }

    /// Poem's own errors (an unknown path, a wrong method), reshaped.
    pub(crate) fn from_poem(error: &poem::Error) -> Self {
        let status = error.status();
        let (kind, code) = match status {
            StatusCode::NOT_FOUND => ("invalid_request_error", "resource_missing"),
            StatusCode::METHOD_NOT_ALLOWED => ("invalid_request_error", "method_not_allowed"),
            _ if status.is_server_error() => ("api_error", "internal_error"),
            _ => ("invalid_request_error", "parameter_invalid"),
        };
        let message = match status {
            StatusCode::NOT_FOUND => "Unrecognized request URL".to_owned(),
            StatusCode::METHOD_NOT_ALLOWED => {
                "This endpoint does not accept that method".to_owned()
            }
            _ => error.to_string(),
        };
        Self {
            status,
            kind,
            code,
            message,
        }
    }

    pub(crate) fn into_reply(self) -> Reply {
        Reply {
            status: self.status,
            body: json!({
                "error": {
                    "type": self.kind,
                    "code": self.code,
                    "message": self.message,
                }
            }),
        }
    }
}
