//! Request bodies and headers, parsed once at the edge.
//!
//! A parsed request is well formed: positive integer amounts, a three-letter
//! lower-case currency, non-empty ids and tokens, string-to-string metadata,
//! a known `capture_method` and `cancellation_reason`, no `confirm` but
//! `true`, and no parameter the gateway does not know. Anything else is a 400
//! `parameter_invalid` whose message names the parameter. Capture and cancel
//! take an empty body as `{}`. Parsed parameters compare equal exactly when an
//! idempotent retry should be accepted; for capture and cancel they include
//! the intent id from the path.

use std::collections::BTreeMap;

use poem::http::HeaderMap;
use serde_json::{Map, Value};

use crate::stripe_error::StripeError;

/// Stripe refuses longer idempotency keys.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// `POST /v1/charges`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChargeParams {
    pub(crate) amount: u64,
    pub(crate) currency: String,
    pub(crate) source: String,
    pub(crate) metadata: BTreeMap<String, String>,
}

/// `POST /v1/refunds`; without an amount, whatever remains of the charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefundParams {
    pub(crate) charge: String,
    pub(crate) amount: Option<u64>,
}

/// `POST /v1/payment_intents`. Intents are confirmed when created, so
/// `confirm` may only be `true` (or left out) and is not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IntentParams {
    pub(crate) amount: u64,
    pub(crate) currency: String,
    pub(crate) payment_method: String,
    pub(crate) capture_method: CaptureMethod,
    pub(crate) metadata: BTreeMap<String, String>,
}

/// When a PaymentIntent takes the money; `automatic` unless asked otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CaptureMethod {
    /// Captured at creation.
    Automatic,
    /// Authorized at creation, captured or cancelled later.
    Manual,
}

impl CaptureMethod {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Automatic => "automatic",
            Self::Manual => "manual",
        }
    }
}

/// `POST /v1/payment_intents/{id}/capture`; without an amount, all that is
/// capturable. The intent id is part of the parameters, so a key reused for
/// another intent is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaptureParams {
    pub(crate) intent: String,
    pub(crate) amount_to_capture: Option<u64>,
}

/// `POST /v1/payment_intents/{id}/cancel`, with the reason defaulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CancelParams {
    pub(crate) intent: String,
    pub(crate) cancellation_reason: CancellationReason,
}

/// The reasons a caller may give for cancelling, as Stripe accepts them.
/// (`automatic`, for an authorization that lapsed, is the gateway's own.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancellationReason {
    Duplicate,
    Fraudulent,
    RequestedByCustomer,
    Abandoned,
}

impl CancellationReason {
    const ALL: [Self; 4] = [
        Self::Duplicate,
        Self::Fraudulent,
        Self::RequestedByCustomer,
        Self::Abandoned,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Duplicate => "duplicate",
            Self::Fraudulent => "fraudulent",
            Self::RequestedByCustomer => "requested_by_customer",
            Self::Abandoned => "abandoned",
        }
    }
}

pub(crate) fn parse_charge(body: &[u8]) -> Result<ChargeParams, StripeError> {
    let mut fields = json_object(body, &["amount", "currency", "source", "metadata"])?;
    Ok(ChargeParams {
        amount: required(&mut fields, "amount", |v| positive_amount("amount", v))?,
        currency: required(&mut fields, "currency", currency)?,
        source: required(&mut fields, "source", |v| non_empty_string("source", v))?,
        metadata: optional(&mut fields, "metadata", metadata)?.unwrap_or_default(),
    })
}

pub(crate) fn parse_refund(body: &[u8]) -> Result<RefundParams, StripeError> {
    let mut fields = json_object(body, &["charge", "amount"])?;
    Ok(RefundParams {
        charge: required(&mut fields, "charge", |v| non_empty_string("charge", v))?,
        amount: optional(&mut fields, "amount", |v| positive_amount("amount", v))?,
    })
}

pub(crate) fn parse_payment_intent(body: &[u8]) -> Result<IntentParams, StripeError> {
    let mut fields = json_object(
        body,
        &[
            "amount",
            "currency",
            "payment_method",
            "capture_method",
            "confirm",
            "metadata",
        ],
    )?;
    optional(&mut fields, "confirm", confirmed)?;
    Ok(IntentParams {
        amount: required(&mut fields, "amount", |v| positive_amount("amount", v))?,
        currency: required(&mut fields, "currency", currency)?,
        payment_method: required(&mut fields, "payment_method", |v| {
            non_empty_string("payment_method", v)
        })?,
        capture_method: optional(&mut fields, "capture_method", capture_method)?
            .unwrap_or(CaptureMethod::Automatic),
        metadata: optional(&mut fields, "metadata", metadata)?.unwrap_or_default(),
    })
}

/// `intent` is the id from the path; an empty body means `{}`.
pub(crate) fn parse_capture(intent: &str, body: &[u8]) -> Result<CaptureParams, StripeError> {
    let mut fields = json_object_or_empty(body, &["amount_to_capture"])?;
    Ok(CaptureParams {
        intent: path_id(intent)?,
        amount_to_capture: optional(&mut fields, "amount_to_capture", |v| {
            positive_amount("amount_to_capture", v)
        })?,
    })
}

/// `intent` is the id from the path; an empty body means `{}`.
pub(crate) fn parse_cancel(intent: &str, body: &[u8]) -> Result<CancelParams, StripeError> {
    let mut fields = json_object_or_empty(body, &["cancellation_reason"])?;
    Ok(CancelParams {
        intent: path_id(intent)?,
        cancellation_reason: optional(&mut fields, "cancellation_reason", cancellation_reason)?
            .unwrap_or(CancellationReason::RequestedByCustomer),
    })
}

/// The `Idempotency-Key` header, if sent. Like Stripe's, it is optional.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, StripeError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().map_err(|_| {
        StripeError::invalid_parameter("The Idempotency-Key header must be printable ASCII")
    })?;
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN {
        return Err(StripeError::invalid_parameter(format!(
            "The Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} characters long, \
             got {}",
            key.len()
        )));
    }
    Ok(Some(key.to_owned()))
}

/// The body as a JSON object holding only `known` parameters.
fn json_object(body: &[u8], known: &[&str]) -> Result<Map<String, Value>, StripeError> {
    let value: Value = serde_json::from_slice(body).map_err(|error| {
        StripeError::invalid_parameter(format!("The request body is not valid JSON: {error}"))
    })?;
    let Value::Object(fields) = value else {
        return Err(StripeError::invalid_parameter(
            "The request body must be a JSON object",
        ));
    };
    if let Some(unknown) = fields.keys().find(|name| !known.contains(&name.as_str())) {
        return Err(StripeError::invalid_parameter(format!(
            "Received unknown parameter: {unknown} (known: {})",
            known.join(", ")
        )));
    }
    Ok(fields)
}

/// Like [`json_object`], but an empty (or blank) body is an empty object.
fn json_object_or_empty(body: &[u8], known: &[&str]) -> Result<Map<String, Value>, StripeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    json_object(body, known)
}

fn required<T>(
    fields: &mut Map<String, Value>,
    name: &str,
    parse: impl FnOnce(Value) -> Result<T, StripeError>,
) -> Result<T, StripeError> {
    optional(fields, name, parse)?.ok_or_else(|| {
        StripeError::invalid_parameter(format!("Missing required parameter: {name}"))
    })
}

/// An absent parameter and an explicit `null` both mean "not given".
fn optional<T>(
    fields: &mut Map<String, Value>,
    name: &str,
    parse: impl FnOnce(Value) -> Result<T, StripeError>,
) -> Result<Option<T>, StripeError> {
    match fields.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => parse(value).map(Some),
    }
}

fn positive_amount(name: &str, value: Value) -> Result<u64, StripeError> {
    match value.as_u64() {
        Some(amount) if amount > 0 => Ok(amount),
        _ => Err(StripeError::invalid_parameter(format!(
            "Invalid {name} {value}: it must be a positive integer in the currency's \
             smallest unit (cents)"
        ))),
    }
}

fn currency(value: Value) -> Result<String, StripeError> {
    match value.as_str() {
        Some(code) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Ok(code.to_ascii_lowercase())
        }
        _ => Err(StripeError::invalid_parameter(format!(
            "Invalid currency {value}: it must be a three-letter ISO code such as \"usd\""
        ))),
    }
}

fn non_empty_string(name: &str, value: Value) -> Result<String, StripeError> {
    match value {
        Value::String(text) if !text.is_empty() => Ok(text),
        other => Err(StripeError::invalid_parameter(format!(
            "Invalid {name} {other}: it must be a non-empty string"
        ))),
    }
}

/// `confirm` may be given, but only as `true`: intents are confirmed at creation.
fn confirmed(value: Value) -> Result<(), StripeError> {
    match value {
        Value::Bool(true) => Ok(()),
        Value::Bool(false) => Err(StripeError::invalid_parameter(
            "Invalid confirm false: this gateway does not support unconfirmed PaymentIntents; \
             every intent is confirmed when it is created, so confirm must be true or left out",
        )),
        other => Err(StripeError::invalid_parameter(format!(
            "Invalid confirm {other}: it must be a boolean (and true)"
        ))),
    }
}

fn capture_method(value: Value) -> Result<CaptureMethod, StripeError> {
    match value.as_str() {
        Some("automatic") => Ok(CaptureMethod::Automatic),
        Some("manual") => Ok(CaptureMethod::Manual),
        _ => Err(StripeError::invalid_parameter(format!(
            "Invalid capture_method {value}: it must be \"automatic\" or \"manual\""
        ))),
    }
}

fn cancellation_reason(value: Value) -> Result<CancellationReason, StripeError> {
    CancellationReason::ALL
        .into_iter()
        .find(|reason| value.as_str() == Some(reason.as_str()))
        .ok_or_else(|| {
            let known: Vec<&str> = CancellationReason::ALL.iter().map(|r| r.as_str()).collect();
            StripeError::invalid_parameter(format!(
                "Invalid cancellation_reason {value}: it must be one of {}",
                known.join(", ")
            ))
        })
}

/// An id taken from the request path.
fn path_id(id: &str) -> Result<String, StripeError> {
    if id.is_empty() {
        return Err(StripeError::invalid_parameter(
            "The PaymentIntent id in the path must not be empty",
        ));
    }
    Ok(id.to_owned())
}

fn metadata(value: Value) -> Result<BTreeMap<String, String>, StripeError> {
    let Value::Object(entries) = value else {
        return Err(StripeError::invalid_parameter(
            "Invalid metadata: it must be an object of string values",
        ));
    };
    entries
        .into_iter()
        .map(|(key, value)| match value {
            Value::String(text) => Ok((key, text)),
            other => Err(StripeError::invalid_parameter(format!(
                "Invalid metadata[{key}] {other}: metadata values must be strings"
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge_error(body: &str) -> String {
        parse_charge(body.as_bytes())
            .expect_err("the body is invalid")
            .message
    }

    #[test]
    fn a_full_charge_parses_with_the_currency_lower_cased() {
        let params = parse_charge(
            br#"{"amount": 500, "currency": "USD", "source": "tok_visa",
                 "metadata": {"order_id": "o1"}}"#,
        )
        .expect("the body is valid");
        assert_eq!(params.amount, 500);
        assert_eq!(params.currency, "usd");
        assert_eq!(params.metadata["order_id"], "o1");
    }

    #[test]
    fn each_bad_charge_is_refused_with_the_parameter_named() {
        assert!(charge_error("{").contains("not valid JSON"));
        assert!(charge_error("[]").contains("JSON object"));
        let base = r#""currency": "usd", "source": "tok_visa""#;
        assert!(charge_error(&format!("{{{base}}}")).contains("amount"));
        assert!(charge_error(&format!(r#"{{"amount": -5, {base}}}"#)).contains("amount"));
        assert!(charge_error(&format!(r#"{{"amount": 1.5, {base}}}"#)).contains("amount"));
        assert!(charge_error(&format!(r#"{{"amount": 0, {base}}}"#)).contains("amount"));
        assert!(
            charge_error(r#"{"amount": 5, "currency": "dollars", "source": "tok_visa"}"#)
                .contains("currency")
        );
        assert!(
            charge_error(&format!(
                r#"{{"amount": 5, {base}, "metadata": {{"n": 1}}}}"#
            ))
            .contains("metadata[n]")
        );
        assert!(
            charge_error(&format!(r#"{{"amount": 5, {base}, "colour": "red"}}"#))
                .contains("unknown parameter: colour")
        );
    }

    fn intent_error(body: &str) -> String {
        parse_payment_intent(body.as_bytes())
            .expect_err("the body is invalid")
            .message
    }

    #[test]
    fn a_payment_intent_defaults_to_automatic_capture_and_takes_confirm_true() {
        let params = parse_payment_intent(
            br#"{"amount": 500, "currency": "EUR", "payment_method": "tok_visa",
                 "metadata": {"order_id": "o1"}}"#,
        )
        .expect("the body is valid");
        assert_eq!(params.capture_method, CaptureMethod::Automatic);
        assert_eq!(params.currency, "eur");
        assert_eq!(params.metadata["order_id"], "o1");
        let manual = parse_payment_intent(
            br#"{"amount": 500, "currency": "usd", "payment_method": "tok_visa",
                 "capture_method": "manual", "confirm": true}"#,
        )
        .expect("the body is valid");
        assert_eq!(manual.capture_method, CaptureMethod::Manual);
    }

    #[test]
    fn each_bad_payment_intent_is_refused_with_the_parameter_named() {
        let base = r#""amount": 500, "currency": "usd", "payment_method": "tok_visa""#;
        let confirm_false = intent_error(&format!(r#"{{{base}, "confirm": false}}"#));
        assert!(confirm_false.contains("confirm"), "{confirm_false}");
        assert!(confirm_false.contains("unconfirmed"), "{confirm_false}");
        assert!(intent_error(&format!(r#"{{{base}, "confirm": "yes"}}"#)).contains("confirm"));
        for method in [r#""later""#, "1", r#""Manual""#] {
            let error = intent_error(&format!(r#"{{{base}, "capture_method": {method}}}"#));
            assert!(error.contains("capture_method"), "{method}: {error}");
        }
        assert!(
            intent_error(&format!(r#"{{{base}, "source": "tok_visa"}}"#))
                .contains("unknown parameter: source")
        );
        assert!(intent_error(r#"{"amount": 5, "currency": "usd"}"#).contains("payment_method"));
        assert!(
            intent_error(r#"{"amount": 0, "currency": "usd", "payment_method": "tok_visa"}"#)
                .contains("amount")
        );
    }

    #[test]
    fn a_capture_takes_an_empty_body_and_a_positive_amount_only() {
        for body in ["", " \n", "{}", r#"{"amount_to_capture": null}"#] {
            let params = parse_capture("pi_1", body.as_bytes()).expect("the body is valid");
            assert_eq!(
                params,
                CaptureParams {
                    intent: "pi_1".to_owned(),
                    amount_to_capture: None
                },
                "{body:?}"
            );
        }
        let partial = parse_capture("pi_1", br#"{"amount_to_capture": 300}"#).expect("valid");
        assert_eq!(partial.amount_to_capture, Some(300));
        for bad in ["0", "-5", "2.5", r#""300""#] {
            let body = format!(r#"{{"amount_to_capture": {bad}}}"#);
            let error = parse_capture("pi_1", body.as_bytes())
                .expect_err("the amount is invalid")
                .message;
            assert!(
                error.contains("Invalid amount_to_capture"),
                "{bad}: {error}"
            );
        }
        let unknown = parse_capture("pi_1", br#"{"amount": 300}"#)
            .expect_err("amount is not a capture parameter")
            .message;
        assert!(unknown.contains("unknown parameter: amount"), "{unknown}");
        assert!(parse_capture("pi_1", b"[]").is_err());
    }

    #[test]
    fn a_cancel_defaults_its_reason_and_refuses_unknown_ones() {
        let params = parse_cancel("pi_1", b"").expect("the body is valid");
        assert_eq!(
            params.cancellation_reason,
            CancellationReason::RequestedByCustomer
        );
        let explicit = parse_cancel(
            "pi_1",
            br#"{"cancellation_reason": "requested_by_customer"}"#,
        )
        .expect("the body is valid");
        assert_eq!(explicit, params, "the default equals the explicit reason");
        let duplicate =
            parse_cancel("pi_1", br#"{"cancellation_reason": "duplicate"}"#).expect("valid");
        assert_eq!(duplicate.cancellation_reason, CancellationReason::Duplicate);
        for bad in [r#""automatic""#, r#""bored""#, "7"] {
            let body = format!(r#"{{"cancellation_reason": {bad}}}"#);
            let error = parse_cancel("pi_1", body.as_bytes())
                .expect_err("the reason is invalid")
                .message;
            assert!(error.contains("cancellation_reason"), "{bad}: {error}");
        }
        assert!(parse_cancel("pi_1", br#"{"reason": "duplicate"}"#).is_err());
    }

    #[test]
    fn a_refund_amount_is_optional() {
        let params = parse_refund(br#"{"charge": "ch_1"}"#).expect("the body is valid");
        assert_eq!(params.amount, None);
        assert!(parse_refund(br#"{"charge": "ch_1", "amount": -1}"#).is_err());
        assert!(parse_refund(br#"{"amount": 1}"#).is_err());
    }
}
