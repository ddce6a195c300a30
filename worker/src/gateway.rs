//! The payment gateway client: Stripe-shaped charges, refunds and lookups,
//! and payment intents for two-phase payments (authorize, capture, cancel),
//! with every answer classified for the saga — charged or authorized,
//! declined, rejected; refunded, nothing to refund; captured, expired;
//! voided; or unavailable, the outcome unknown — so the steps decide on what
//! the answer means, not on HTTP. An unknown outcome is never read as "not
//! charged".

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use shared::trace::TraceParent;
use uuid::Uuid;

use crate::breaker::CallHealth;

/// Where the gateway is and how long to wait for it.
#[derive(Debug, Clone, clap::Args)]
pub struct GatewayConfig {
    /// Base URL of the payment gateway.
    #[arg(long, env = "GATEWAY_URL", default_value = "http://127.0.0.1:8081")]
    pub gateway_url: String,

    #[command(flatten)]
    pub calls: GatewayCalls,
}

/// How gateway calls are made, wherever the gateway is (`dev` takes these
/// with a gateway of its own).
#[derive(Debug, Clone, clap::Args)]
pub struct GatewayCalls {
    /// Per-call timeout; a call that takes longer has an unknown outcome and
    /// is retried with the same idempotency key.
    #[arg(long, env = "GATEWAY_TIMEOUT_MS", default_value_t = 5_000)]
    pub gateway_timeout_ms: u64,
}

/// No answer we can trust (timeout, connection failure, 5xx, 429): the call
/// may or may not have taken effect. Retry with the same key.
#[derive(Debug, Clone, thiserror::Error)]
#[error("payment gateway unavailable: {0}")]
pub struct Unavailable(pub String);

/// Why a charge was not made, as far as the gateway told.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ChargeError {
    /// The card was declined (a 402): a definite no.
    #[error("the card was declined ({code}): {message}")]
    Declined { code: String, message: String },
    /// The gateway refused the payment for another reason: a definite no.
    #[error("the payment gateway rejected the payment ({code}): {message}")]
    Rejected { code: String, message: String },
    /// The outcome is unknown: it may have been charged.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

/// Why a refund was not made, as far as the gateway told.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RefundError {
    /// The charge does not exist, or is refunded already: nothing is owed.
    #[error("nothing to refund: {0}")]
    NothingToRefund(String),
    /// The gateway refused the refund: trying again cannot help.
    #[error("payment gateway refused ({status} {code}): {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    /// The outcome is unknown: it may have been refunded.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

/// Why a capture was not made, as far as the gateway told.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CaptureError {
    /// The hold is gone: it expired, or was voided. Nothing can be captured.
    #[error("the authorization can no longer be captured ({code}): {message}")]
    Lapsed { code: String, message: String },
    /// The gateway refused the capture for another reason.
    #[error("payment gateway refused the capture ({status} {code}): {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    /// The outcome is unknown: it may have been captured.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

/// Why a hold was not voided, as far as the gateway told.
#[derive(Debug, Clone, thiserror::Error)]
pub enum VoidError {
    /// The intent is no longer held (captured, voided or expired since it
    /// was read): read it again.
    #[error("the authorization is no longer held ({code}): {message}")]
    NotHeld { code: String, message: String },
    /// The gateway refused the void for another reason.
    #[error("payment gateway refused the void ({status} {code}): {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    /// The outcome is unknown: it may have been voided.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

/// A definite no from the gateway, before it is read for one endpoint.
#[derive(Debug, Clone)]
struct Refusal {
    status: u16,
    code: String,
    message: String,
}

/// Why a call did not succeed, before it is read for one endpoint.
#[derive(Debug, Clone)]
enum CallError {
    Unavailable(Unavailable),
    Refused(Refusal),
}

impl From<Refusal> for ChargeError {
    fn from(no: Refusal) -> Self {
        let Refusal {
            status,
            code,
            message,
        } = no;
        if status == 402 {
            Self::Declined { code, message }
        } else {
            Self::Rejected { code, message }
        }
    }
}

impl From<Refusal> for RefundError {
    fn from(no: Refusal) -> Self {
        if no.status == 404 || no.code == "charge_already_refunded" {
            Self::NothingToRefund(no.message)
        } else {
            Self::Rejected {
                status: no.status,
                code: no.code,
                message: no.message,
            }
        }
    }
}

impl From<Refusal> for CaptureError {
    fn from(no: Refusal) -> Self {
        if no.code == "charge_expired_for_capture" || no.code == "payment_intent_unexpected_state" {
            Self::Lapsed {
                code: no.code,
                message: no.message,
            }
        } else {
            Self::Rejected {
                status: no.status,
                code: no.code,
                message: no.message,
            }
        }
    }
}

impl From<Refusal> for VoidError {
    fn from(no: Refusal) -> Self {
        if no.code == "payment_intent_unexpected_state" {
            Self::NotHeld {
                code: no.code,
                message: no.message,
            }
        } else {
            Self::Rejected {
                status: no.status,
                code: no.code,
                message: no.message,
            }
        }
    }
}

/// `error` read as one endpoint's error `E`.
fn classify<E: From<Refusal> + From<Unavailable>>(error: CallError) -> E {
    match error {
        CallError::Unavailable(e) => e.into(),
        CallError::Refused(no) => no.into(),
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Charge {
    pub id: String,
    pub amount: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    pub id: String,
}

#[derive(Debug, Deserialize)]
struct List<T> {
    data: Vec<T>,
}

/// A payment intent: a hold on the card (`requires_capture`), taken
/// (`succeeded`, with its charge), or released (`canceled`).
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub status: IntentStatus,
    /// The charge a capture made.
    #[serde(default)]
    pub latest_charge: Option<String>,
}

/// Where a payment intent is. Statuses this client does not act on read as
/// `Other`, and the steps retry rather than guess.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentStatus {
    RequiresCapture,
    Succeeded,
    Canceled,
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// A keep-alive HTTP client for the gateway; cheap to clone.
#[derive(Debug, Clone)]
pub struct GatewayClient {
    http: reqwest::Client,
    base: String,
    /// Where every call's outcome is recorded, for the circuit breaker.
    health: Option<Arc<CallHealth>>,
}

impl GatewayClient {
    pub fn new(config: &GatewayConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.calls.gateway_timeout_ms))
            .connect_timeout(Duration::from_millis(
                config.calls.gateway_timeout_ms.min(2_000),
            ))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            http,
            base: config.gateway_url.trim_end_matches('/').to_owned(),
            health: None,
        })
    }

    /// Records the outcome of every call in `health` (see [`crate::breaker`]).
    pub fn with_health(self, health: Arc<CallHealth>) -> Self {
        Self {
            health: Some(health),
            ..self
        }
    }

    /// Sends `request` and reads its answer, recording whether there was one.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        trace: Option<TraceParent>,
    ) -> Result<T, CallError> {
        let answered = answer(traced(request, trace).send().await).await;
        if let Some(health) = &self.health {
            match &answered {
                Err(CallError::Unavailable(Unavailable(reason))) => health.unavailable(reason),
                _ => health.answered(),
            }
        }
        answered
    }

    /// Charges `amount` with idempotency key `key`; the same key always gets
    /// the first call's answer.
    pub async fn charge(
        &self,
        key: &str,
        amount: i64,
        currency: &str,
        source: &str,
        order_id: Uuid,
        trace: Option<TraceParent>,
    ) -> Result<Charge, ChargeError> {
        let body = json!({
            "amount": amount,
            "currency": currency,
            "source": source,
            "metadata": { "order_id": order_id.to_string() },
        });
        self.post("/v1/charges", key, &body, trace).await
    }

    /// The charge made with idempotency key `key`, if there is one.
    pub async fn find_charge(
        &self,
        key: &str,
        trace: Option<TraceParent>,
    ) -> Result<Option<Charge>, Unavailable> {
        self.lookup("/v1/charges", key, trace, "the charge").await
    }

    /// Places a hold of `amount` on the card (a payment intent with
    /// `capture_method=manual`), with idempotency key `key`.
    pub async fn authorize(
        &self,
        key: &str,
        amount: i64,
        currency: &str,
        payment_method: &str,
        order_id: Uuid,
        trace: Option<TraceParent>,
    ) -> Result<PaymentIntent, ChargeError> {
        let body = json!({
            "amount": amount,
            "currency": currency,
            "payment_method": payment_method,
            "capture_method": "manual",
            "confirm": true,
            "metadata": { "order_id": order_id.to_string() },
        });
        self.post("/v1/payment_intents", key, &body, trace).await
    }

    /// The payment intent created with idempotency key `key`, as it is now.
    pub async fn find_authorization(
        &self,
        key: &str,
        trace: Option<TraceParent>,
    ) -> Result<Option<PaymentIntent>, Unavailable> {
        self.lookup("/v1/payment_intents", key, trace, "the authorization")
            .await
    }

    /// The payment intent `intent`, as it is now.
    pub async fn payment_intent(
        &self,
        intent: &str,
        trace: Option<TraceParent>,
    ) -> Result<PaymentIntent, Unavailable> {
        let request = self
            .http
            .get(format!("{}/v1/payment_intents/{intent}", self.base));
        self.call(request, trace)
            .await
            .map_err(|e| refused_as_unavailable(e, "reading the authorization"))
    }

    /// Captures `amount` of the hold `intent`, with idempotency key `key`.
    pub async fn capture(
        &self,
        key: &str,
        intent: &str,
        amount: i64,
        trace: Option<TraceParent>,
    ) -> Result<PaymentIntent, CaptureError> {
        let path = format!("/v1/payment_intents/{intent}/capture");
        let body = json!({ "amount_to_capture": amount });
        self.post(&path, key, &body, trace).await
    }

    /// Releases the hold `intent` (voids the authorization), with
    /// idempotency key `key`.
    pub async fn void(
        &self,
        key: &str,
        intent: &str,
        trace: Option<TraceParent>,
    ) -> Result<PaymentIntent, VoidError> {
        let path = format!("/v1/payment_intents/{intent}/cancel");
        let body = json!({ "cancellation_reason": "abandoned" });
        self.post(&path, key, &body, trace).await
    }

    /// POSTs `body` to `path` with idempotency key `key`, the answer read
    /// as the endpoint's success `T` or its error `E`.
    async fn post<T, E>(
        &self,
        path: &str,
        key: &str,
        body: &serde_json::Value,
        trace: Option<TraceParent>,
    ) -> Result<T, E>
    where
        T: serde::de::DeserializeOwned,
        E: From<Refusal> + From<Unavailable>,
    {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Idempotency-Key", key)
            .json(body);
        self.call(request, trace).await.map_err(classify)
    }

    /// What `path` made with idempotency key `key` (`what`, for errors), if
    /// anything. A refused lookup is no answer: the caller cannot learn the
    /// outcome from it.
    async fn lookup<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
        trace: Option<TraceParent>,
        what: &str,
    ) -> Result<Option<T>, Unavailable> {
        let request = self
            .http
            .get(format!("{}{path}", self.base))
            .query(&[("idempotency_key", key)]);
        let list: List<T> = self
            .call(request, trace)
            .await
            .map_err(|e| refused_as_unavailable(e, &format!("looking {what} up")))?;
        Ok(list.data.into_iter().next())
    }

    /// Refunds what remains of `charge`, with idempotency key `key`.
    pub async fn refund(
        &self,
        key: &str,
        charge: &str,
        trace: Option<TraceParent>,
    ) -> Result<Refund, RefundError> {
        self.post("/v1/refunds", key, &json!({ "charge": charge }), trace)
            .await
    }
}

/// A read the gateway refused, as an unknown outcome for the step that
/// needed it.
fn refused_as_unavailable(error: CallError, doing: &str) -> Unavailable {
    match error {
        CallError::Unavailable(e) => e,
        CallError::Refused(no) => Unavailable(format!(
            "{doing} was refused ({} {}): {}",
            no.status, no.code, no.message
        )),
    }
}

/// Passes the step's trace on to the gateway as a child span's `traceparent`.
fn traced(request: reqwest::RequestBuilder, trace: Option<TraceParent>) -> reqwest::RequestBuilder {
    match shared::trace::outgoing(trace) {
        Some(trace) => request.header("traceparent", trace.to_string()),
        None => request,
    }
}

/// Sorts an answer into success, "no", and "unknown".
async fn answer<T: serde::de::DeserializeOwned>(
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<T, CallError> {
    let unavailable = |reason: String| CallError::Unavailable(Unavailable(reason));
    let response = sent.map_err(|e| unavailable(describe(&e)))?;
    let status = response.status();
    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(unavailable(format!("the gateway answered {status}")));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| unavailable(format!("the answer was cut off: {}", describe(&e))))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|e| unavailable(format!("unreadable {status} answer: {e}")));
    }
    let detail = serde_json::from_slice::<ErrorBody>(&bytes)
        .ok()
        .map(|b| b.error);
    Err(CallError::Refused(Refusal {
        status: status.as_u16(),
        code: detail
            .as_ref()
            .and_then(|d| d.code.clone())
            .unwrap_or_else(|| "unknown".to_owned()),
        message: detail
            .and_then(|d| d.message)
            .unwrap_or_else(|| format!("the gateway answered {status}")),
    }))
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        shared::error_chain::describe(error)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A gateway that answers every request with `status` and `body`, as a
    /// real server on a free port would.
    async fn gateway_answering(status: &'static str, body: &'static str) -> GatewayClient {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let addr = listener.local_addr().expect("its address");
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = [0_u8; 4096];
                let _ = socket.read(&mut request).await;
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        GatewayClient::new(&GatewayConfig {
            gateway_url: format!("http://{addr}"),
            calls: GatewayCalls {
                gateway_timeout_ms: 2_000,
            },
        })
        .expect("a client")
    }

    async fn charge_answered(
        status: &'static str,
        body: &'static str,
    ) -> Result<Charge, ChargeError> {
        gateway_answering(status, body)
            .await
            .charge("key", 100, "usd", "tok_visa", Uuid::nil(), None)
            .await
    }

    const STRIPE_ERROR: &str = r#"{"error": {"code": "some_code", "message": "no"}}"#;

    #[tokio::test]
    async fn a_429_or_a_5xx_is_an_unknown_outcome_never_a_no() {
        for status in [
            "429 Too Many Requests",
            "500 Internal Server Error",
            "503 Service Unavailable",
        ] {
            let answer = charge_answered(status, STRIPE_ERROR).await;
            assert!(
                matches!(answer, Err(ChargeError::Unavailable(_))),
                "{status}: {answer:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_402_is_declined_and_another_4xx_is_rejected() {
        let declined = charge_answered("402 Payment Required", STRIPE_ERROR).await;
        assert!(
            matches!(&declined, Err(ChargeError::Declined { code, .. }) if code == "some_code"),
            "{declined:?}"
        );
        for status in ["400 Bad Request", "409 Conflict"] {
            let rejected = charge_answered(status, STRIPE_ERROR).await;
            assert!(
                matches!(&rejected, Err(ChargeError::Rejected { code, .. }) if code == "some_code"),
                "{status}: {rejected:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_2xx_that_cannot_be_read_is_an_unknown_outcome() {
        let answer = charge_answered("200 OK", "not json").await;
        assert!(
            matches!(answer, Err(ChargeError::Unavailable(_))),
            "{answer:?}"
        );
    }
}
