//! Stripe's test tokens: which one pays, which are declined and why.
//!
//! A charge's `source` and a PaymentIntent's `payment_method` take the same
//! tokens with the same outcomes; only the error for an unknown token differs,
//! as in Stripe.

use poem::http::StatusCode;

use crate::stripe_error::StripeError;

/// Where the token was given, which names it in the error for an unknown one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenParameter {
    /// `POST /v1/charges {source}`.
    Source,
    /// `POST /v1/payment_intents {payment_method}`.
    PaymentMethod,
}

/// `tok_visa` pays; `tok_chargeDeclined` and
/// `tok_chargeDeclinedInsufficientFunds` are 402 `card_error`s; any other
/// token is a 400.
pub(crate) fn authorize(parameter: TokenParameter, token: &str) -> Result<(), StripeError> {
    match token {
        "tok_visa" => Ok(()),
        "tok_chargeDeclined" => Err(StripeError::card_declined(
            "card_declined",
            "Your card was declined.",
        )),
        "tok_chargeDeclinedInsufficientFunds" => Err(StripeError::card_declined(
            "insufficient_funds",
            "Your card has insufficient funds.",
        )),
        other => {
            let (code, what) = match parameter {
                TokenParameter::Source => ("invalid_source", "token"),
                TokenParameter::PaymentMethod => ("resource_missing", "PaymentMethod"),
            };
            Err(StripeError::invalid_request(
                StatusCode::BAD_REQUEST,
                code,
                format!(
                    "No such {what}: '{other}'; the gateway knows tok_visa, tok_chargeDeclined \
                     and tok_chargeDeclinedInsufficientFunds"
                ),
            ))
        }
    }
}
