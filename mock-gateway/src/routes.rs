//! The HTTP endpoints, and where faults are injected.
//!
//! Faults apply to the payment endpoints only: `POST /v1/charges`,
//! `POST /v1/refunds`, `GET /v1/charges`, `POST /v1/payment_intents`,
//! `POST /v1/payment_intents/{id}/capture`,
//! `POST /v1/payment_intents/{id}/cancel`, `GET /v1/payment_intents/{id}` and
//! `GET /v1/payment_intents`. For those, in order: the body is
//! read, the configured latency passes, a fault is drawn, and then the request
//! is answered 503 (nothing done), left hanging (nothing done), handled and
//! left hanging (a lost response), or handled and answered. Handling itself is
//! synchronous and atomic (see `state`), so dropping a request at any await
//! point either did all of it or none of it.
//!
//! `/v1/ledger`, `/v1/faults` and `/healthz` are never faulted: tests and the
//! chaos harness rely on them while faults are on.

use std::sync::Arc;
use std::time::Duration;

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Body, Endpoint, EndpointExt, Request, Response, Route, get, handler, post};
use serde_json::{Value, json};

use crate::faults::{Fault, Faults};
use crate::reply::{Answer, Reply};
use crate::requests;
use crate::state::Gateway;
use crate::stripe_error::StripeError;

/// How long a hung request waits: far past any client timeout. Should it
/// run out, a hang is answered 503 (nothing was done) and a lost response
/// with its real answer. On shutdown, hung requests are dropped unanswered.
const HANG_LIMIT: Duration = Duration::from_secs(600);

pub(crate) fn app(gateway: Arc<Gateway>) -> impl Endpoint {
    Route::new()
        .at("/v1/charges", get(lookup_charge).post(create_charge))
        .at("/v1/refunds", post(create_refund))
        .at(
            "/v1/payment_intents",
            get(lookup_payment_intent).post(create_payment_intent),
        )
        .at("/v1/payment_intents/:id", get(retrieve_payment_intent))
        .at(
            "/v1/payment_intents/:id/capture",
            post(capture_payment_intent),
        )
        .at(
            "/v1/payment_intents/:id/cancel",
            post(cancel_payment_intent),
        )
        .at("/v1/ledger", get(ledger))
        .at("/v1/faults", get(current_faults).put(replace_faults))
        .at("/v1/faults/injected", get(injected_faults))
        .at("/healthz", get(health))
        .data(gateway)
        .catch_all_error(|error| async move {
            respond(&StripeError::from_poem(&error).into_reply(), false)
        })
}

/// Logs the caller's W3C trace context, so a trace can be followed into the gateway.
fn log_trace(req: &Request, endpoint: &'static str) {
    if let Some(traceparent) = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
    {
        tracing::info!(endpoint, traceparent, "payment request");
    }
}

#[handler]
async fn create_charge(req: &Request, body: Body, gateway: Data<&Arc<Gateway>>) -> Response {
    log_trace(req, "POST /v1/charges");
    let body = read_body(body).await;
    let key = requests::idempotency_key(req.headers());
    with_faults(&gateway, "POST /v1/charges", || {
        let key = key?;
        let params = requests::parse_charge(&body?)?;
        Ok(gateway.create_charge(key.as_deref(), params))
    })
    .await
}

#[handler]
async fn create_refund(req: &Request, body: Body, gateway: Data<&Arc<Gateway>>) -> Response {
    log_trace(req, "POST /v1/refunds");
    let body = read_body(body).await;
    let key = requests::idempotency_key(req.headers());
    with_faults(&gateway, "POST /v1/refunds", || {
        let key = key?;
        let params = requests::parse_refund(&body?)?;
        Ok(gateway.create_refund(key.as_deref(), params))
    })
    .await
}

#[handler]
async fn create_payment_intent(
    req: &Request,
    body: Body,
    gateway: Data<&Arc<Gateway>>,
) -> Response {
    log_trace(req, "POST /v1/payment_intents");
    let body = read_body(body).await;
    let key = requests::idempotency_key(req.headers());
    with_faults(&gateway, "POST /v1/payment_intents", || {
        let key = key?;
        let params = requests::parse_payment_intent(&body?)?;
        Ok(gateway.create_payment_intent(key.as_deref(), params))
    })
    .await
}

#[handler]
async fn capture_payment_intent(
    req: &Request,
    Path(id): Path<String>,
    body: Body,
    gateway: Data<&Arc<Gateway>>,
) -> Response {
    log_trace(req, "POST /v1/payment_intents/{id}/capture");
    let body = read_body(body).await;
    let key = requests::idempotency_key(req.headers());
    with_faults(&gateway, "POST /v1/payment_intents/{id}/capture", || {
        let key = key?;
        let params = requests::parse_capture(&id, &body?)?;
        Ok(gateway.capture_payment_intent(key.as_deref(), params))
    })
    .await
}

#[handler]
async fn cancel_payment_intent(
    req: &Request,
    Path(id): Path<String>,
    body: Body,
    gateway: Data<&Arc<Gateway>>,
) -> Response {
    log_trace(req, "POST /v1/payment_intents/{id}/cancel");
    let body = read_body(body).await;
    let key = requests::idempotency_key(req.headers());
    with_faults(&gateway, "POST /v1/payment_intents/{id}/cancel", || {
        let key = key?;
        let params = requests::parse_cancel(&id, &body?)?;
        Ok(gateway.cancel_payment_intent(key.as_deref(), params))
    })
    .await
}

/// `GET /v1/payment_intents/{id}`: the intent as it reads now.
#[handler]
async fn retrieve_payment_intent(Path(id): Path<String>, gateway: Data<&Arc<Gateway>>) -> Response {
    with_faults(&gateway, "GET /v1/payment_intents/{id}", || {
        Ok(Answer::fresh(ok(gateway.payment_intent(&id)?)))
    })
    .await
}

#[derive(Debug, serde::Deserialize)]
struct LookupQuery {
    idempotency_key: Option<String>,
}

/// The `idempotency_key` a lookup asks for.
fn lookup_key(req: &Request) -> Result<String, StripeError> {
    let query: LookupQuery = req.params().map_err(|error| {
        StripeError::invalid_parameter(format!("Invalid query string: {error}"))
    })?;
    query.idempotency_key.ok_or_else(|| {
        StripeError::invalid_parameter("Missing required parameter: idempotency_key")
    })
}

fn list(data: Option<Value>) -> Answer {
    let data: Vec<Value> = data.into_iter().collect();
    Answer::fresh(ok(json!({ "object": "list", "data": data })))
}

/// `GET /v1/charges?idempotency_key=K`: the successful charge made with K.
#[handler]
async fn lookup_charge(req: &Request, gateway: Data<&Arc<Gateway>>) -> Response {
    with_faults(&gateway, "GET /v1/charges", || {
        Ok(list(gateway.charge_made_with(&lookup_key(req)?)))
    })
    .await
}

/// `GET /v1/payment_intents?idempotency_key=K`: the intent successfully
/// created with K, as it reads now.
#[handler]
async fn lookup_payment_intent(req: &Request, gateway: Data<&Arc<Gateway>>) -> Response {
    with_faults(&gateway, "GET /v1/payment_intents", || {
        Ok(list(gateway.payment_intent_made_with(&lookup_key(req)?)))
    })
    .await
}

#[handler]
async fn ledger(gateway: Data<&Arc<Gateway>>) -> Response {
    respond(&ok(json!({ "entries": gateway.ledger_entries() })), false)
}

#[handler]
async fn current_faults(gateway: Data<&Arc<Gateway>>) -> Response {
    respond(&ok(json!(gateway.faults.current())), false)
}

/// `GET /v1/faults/injected`: how many faults were drawn, by kind.
#[handler]
async fn injected_faults(gateway: Data<&Arc<Gateway>>) -> Response {
    respond(&ok(json!(gateway.faults.injected())), false)
}

/// `PUT /v1/faults`: replaces every setting at once.
#[handler]
async fn replace_faults(body: Body, gateway: Data<&Arc<Gateway>>) -> Response {
    let result = async {
        let body = read_body(body).await?;
        let faults: Faults = serde_json::from_slice(&body).map_err(|error| {
            StripeError::invalid_parameter(format!("Invalid fault settings: {error}"))
        })?;
        gateway
            .faults
            .replace(faults.clone())
            .map_err(|error| StripeError::invalid_parameter(error.to_string()))?;
        tracing::info!(?faults, "fault settings replaced");
        Ok::<_, StripeError>(ok(json!(faults)))
    }
    .await;
    respond(&result.unwrap_or_else(StripeError::into_reply), false)
}

#[handler]
async fn health() -> Response {
    respond(&ok(json!({ "status": "ok" })), false)
}

/// Waits the latency, draws a fault and acts on it; `handle` does the work.
async fn with_faults(
    gateway: &Gateway,
    endpoint: &'static str,
    handle: impl FnOnce() -> Result<Answer, StripeError>,
) -> Response {
    let latency = gateway.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let fault = gateway.faults.draw();
    if fault == Fault::Unavailable {
        tracing::info!(
            endpoint,
            "injected fault: answering 503 without doing anything"
        );
        return respond(&StripeError::unavailable().into_reply(), false);
    }
    if fault == Fault::Hang {
        tracing::info!(endpoint, "injected fault: hanging without doing anything");
        tokio::time::sleep(HANG_LIMIT).await;
        return respond(&StripeError::unavailable().into_reply(), false);
    }
    let answer = handle().unwrap_or_else(|error| Answer::fresh(error.into_reply()));
    tracing::debug!(
        endpoint,
        status = answer.reply.status.as_u16(),
        replayed = answer.replayed,
        "request handled"
    );
    if fault == Fault::LoseResponse {
        tracing::info!(
            endpoint,
            status = answer.reply.status.as_u16(),
            "injected fault: request handled, now losing the response"
        );
        tokio::time::sleep(HANG_LIMIT).await;
    }
    respond(&answer.reply, answer.replayed)
}

async fn read_body(body: Body) -> Result<Vec<u8>, StripeError> {
    body.into_vec().await.map_err(|error| {
        StripeError::invalid_parameter(format!("Could not read the request body: {error}"))
    })
}

fn ok(body: Value) -> Reply {
    Reply {
        status: StatusCode::OK,
        body,
    }
}

fn respond(reply: &Reply, replayed: bool) -> Response {
    let mut response = Response::builder()
        .status(reply.status)
        .content_type("application/json");
    if replayed {
        response = response.header("Idempotent-Replayed", "true");
    }
    response.body(reply.body.to_string())
}
