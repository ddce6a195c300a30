//! Request bodies and headers, parsed once at the edge.
//!
//! A parsed request is well formed: a positive integer amount, a three-letter
//! lower-case currency, non-empty ids and tokens, string-to-string metadata,
//! and no parameter the gateway does not know. Anything else is a 400
//! `parameter_invalid` whose message names the parameter. Parsed parameters
//! compare equal exactly when an idempotent retry should be accepted.

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

pub(crate) fn parse_charge(body: &[u8]) -> Result<ChargeParams, StripeError> {
    let mut fields = json_object(body, &["amount", "currency", "source", "metadata"])?;
    Ok(ChargeParams {
        amount: required(&mut fields, "amount", positive_amount)?,
        currency: required(&mut fields, "currency", currency)?,
        source: required(&mut fields, "source", |v| non_empty_string("source", v))?,
        metadata: optional(&mut fields, "metadata", metadata)?.unwrap_or_default(),
    })
}

pub(crate) fn parse_refund(body: &[u8]) -> Result<RefundParams, StripeError> {
    let mut fields = json_object(body, &["charge", "amount"])?;
    Ok(RefundParams {
        charge: required(&mut fields, "charge", |v| non_empty_string("charge", v))?,
        amount: optional(&mut fields, "amount", positive_amount)?,
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

fn positive_amount(value: Value) -> Result<u64, StripeError> {
    match value.as_u64() {
        Some(amount) if amount > 0 => Ok(amount),
        _ => Err(StripeError::invalid_parameter(format!(
            "Invalid amount {value}: it must be a positive integer in the currency's \
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

    #[test]
    fn a_refund_amount_is_optional() {
        let params = parse_refund(br#"{"charge": "ch_1"}"#).expect("the body is valid");
        assert_eq!(params.amount, None);
        assert!(parse_refund(br#"{"charge": "ch_1", "amount": -1}"#).is_err());
        assert!(parse_refund(br#"{"amount": 1}"#).is_err());
    }
}
