//! PaymentIntents: two-phase payments, as Stripe makes them with
//! `capture_method=manual`.
//!
//! A manual intent is authorized when it is created (`requires_capture`: the
//! money is held, nothing is taken), then either captured, in full or in part
//! (`succeeded`; what is not captured is released), or cancelled (`canceled`),
//! or left alone past the authorization lifetime, when it lapses (`canceled`
//! with reason `automatic`). An automatic intent is captured at creation.
//!
//! Invariants:
//! - Intents are confirmed at creation; a declined or refused one is not
//!   kept and leaves nothing in the ledger.
//! - Only `requires_capture` moves, and only once: to `succeeded` by a capture
//!   or to `canceled` by a cancel or by lapsing. Both are final.
//! - Lapsing is evaluated lazily, whenever an intent is read or acted upon:
//!   past its `expires_at`, an intent still in `requires_capture` reads and
//!   acts as `canceled` (reason `automatic`) with nothing capturable. Nothing
//!   is written when it lapses: its `authorization` entry in the ledger
//!   already carries `expires_at`.
//! - Each move writes its ledger entry in the same step, under the gateway's
//!   lock: `authorization` (or `charge`, when automatic) at creation, then
//!   `capture` or `void`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::ids::unique_id;
use crate::ledger::{IntentChargeKind, IntentRef, Ledger};
use crate::requests::{
    CancelParams, CancellationReason, CaptureMethod, CaptureParams, IntentParams,
};
use crate::stripe_error::StripeError;
use crate::tokens::{TokenParameter, authorize};

/// Every PaymentIntent created, and how long their authorizations last.
#[derive(Debug)]
pub(crate) struct PaymentIntents {
    by_id: HashMap<String, PaymentIntent>,
    /// Successfully created intents by the idempotency key they were made with.
    ids_by_key: HashMap<String, String>,
    authorization_ttl: TimeDelta,
}

#[derive(Debug)]
struct PaymentIntent {
    id: String,
    amount: u64,
    currency: String,
    payment_method: String,
    capture_method: CaptureMethod,
    metadata: BTreeMap<String, String>,
    idempotency_key: Option<String>,
    created: DateTime<Utc>,
    /// For a manual intent: when its authorization lapses unless captured or
    /// cancelled first.
    expires_at: Option<DateTime<Utc>>,
    state: State,
}

/// What was last done to an intent.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    RequiresCapture,
    Succeeded { charge: String, received: u64 },
    Canceled(CancellationReason),
}

/// An intent's state as it reads at a given time: [`State`], with lapsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status<'a> {
    RequiresCapture,
    Succeeded {
        charge: &'a str,
        received: u64,
    },
    Canceled(CancellationReason),
    /// Left in `requires_capture` past `expires_at`.
    Lapsed {
        expired_at: DateTime<Utc>,
    },
}

impl Status<'_> {
    fn name(self) -> &'static str {
        match self {
            Self::RequiresCapture => "requires_capture",
            Self::Succeeded { .. } => "succeeded",
            Self::Canceled(_) | Self::Lapsed { .. } => "canceled",
        }
    }
}

impl PaymentIntents {
    pub(crate) fn new(authorization_ttl: TimeDelta) -> Self {
        Self {
            by_id: HashMap::new(),
            ids_by_key: HashMap::new(),
            authorization_ttl,
        }
    }

    /// Creates and confirms an intent: authorizes it (manual) or charges it
    /// (automatic) when its test token succeeds; returns the intent object.
    /// Declined and unknown tokens create and record nothing.
    pub(crate) fn create(
        &mut self,
        ledger: &mut Ledger,
        params: &IntentParams,
        key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Value, StripeError> {
        authorize(TokenParameter::PaymentMethod, &params.payment_method)?;
        let id = unique_id("pi_", |id| self.by_id.contains_key(id));
        let mut intent = PaymentIntent {
            id: id.clone(),
            amount: params.amount,
            currency: params.currency.clone(),
            payment_method: params.payment_method.clone(),
            capture_method: params.capture_method,
            metadata: params.metadata.clone(),
            idempotency_key: key.map(str::to_owned),
            created: now,
            expires_at: None,
            state: State::RequiresCapture,
        };
        match params.capture_method {
            CaptureMethod::Manual => {
                // Past the range of dates, the authorization never lapses.
                let expires_at = now
                    .checked_add_signed(self.authorization_ttl)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
                ledger.authorization(intent.ledger_ref(), params.amount, key, now, expires_at);
                intent.expires_at = Some(expires_at);
            }
            CaptureMethod::Automatic => {
                let charge = ledger.intent_charge(
                    IntentChargeKind::Automatic,
                    intent.ledger_ref(),
                    params.amount,
                    key,
                    now,
                );
                intent.state = State::Succeeded {
                    charge,
                    received: params.amount,
                };
            }
        }
        let object = intent.object(now);
        if let Some(key) = key {
            self.ids_by_key.insert(key.to_owned(), id.clone());
        }
        self.by_id.insert(id, intent);
        Ok(object)
    }

    /// Captures all or part of an authorization, releasing the rest; returns
    /// the intent object.
    pub(crate) fn capture(
        &mut self,
        ledger: &mut Ledger,
        params: &CaptureParams,
        key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Value, StripeError> {
        let intent = self.get_mut(&params.intent)?;
        match intent.status(now) {
            Status::RequiresCapture => {}
            Status::Lapsed { expired_at } => {
                return Err(StripeError::invalid_request(
                    StatusCode::BAD_REQUEST,
                    "charge_expired_for_capture",
                    format!(
                        "The authorization of PaymentIntent {} expired at {} and can no \
                         longer be captured; the PaymentIntent was canceled automatically",
                        intent.id,
                        expired_at.to_rfc3339()
                    ),
                ));
            }
            status => {
                return Err(unexpected_state(format!(
                    "This PaymentIntent ({}) could not be captured because it has a status of \
                     {}. Only a PaymentIntent with a status of requires_capture can be captured.",
                    intent.id,
                    status.name()
                )));
            }
        }
        let capturable = intent.amount;
        let amount = params.amount_to_capture.unwrap_or(capturable);
        if amount > capturable {
            return Err(StripeError::invalid_request(
                StatusCode::BAD_REQUEST,
                "amount_too_large",
                format!(
                    "The amount to capture ({amount}) is greater than the amount capturable \
                     of PaymentIntent {} ({capturable})",
                    intent.id
                ),
            ));
        }
        let charge = ledger.intent_charge(
            IntentChargeKind::Capture,
            intent.ledger_ref(),
            amount,
            key,
            now,
        );
        intent.state = State::Succeeded {
            charge,
            received: amount,
        };
        Ok(intent.object(now))
    }

    /// Cancels an intent awaiting capture, releasing all of its
    /// authorization; returns the intent object.
    pub(crate) fn cancel(
        &mut self,
        ledger: &mut Ledger,
        params: &CancelParams,
        key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Value, StripeError> {
        let intent = self.get_mut(&params.intent)?;
        let refused = |why: String| {
            unexpected_state(format!(
                "You cannot cancel PaymentIntent {} because it has a status of {why}. Only a \
                 PaymentIntent with a status of requires_capture can be canceled.",
                intent.id
            ))
        };
        match intent.status(now) {
            Status::RequiresCapture => {}
            Status::Succeeded { charge, .. } => {
                return Err(refused(format!(
                    "succeeded: it was captured, so refund its charge {charge} \
                     (POST /v1/refunds) instead"
                )));
            }
            Status::Canceled(_) => {
                return Err(refused("canceled: it was already canceled".to_owned()));
            }
            Status::Lapsed { expired_at } => {
                return Err(refused(format!(
                    "canceled: it was canceled automatically when its authorization expired \
                     at {}",
                    expired_at.to_rfc3339()
                )));
            }
        }
        ledger.void(intent.ledger_ref(), intent.amount, key, now);
        intent.state = State::Canceled(params.cancellation_reason);
        Ok(intent.object(now))
    }

    /// The intent as it reads now.
    pub(crate) fn retrieve(&self, id: &str, now: DateTime<Utc>) -> Result<Value, StripeError> {
        self.by_id
            .get(id)
            .map(|intent| intent.object(now))
            .ok_or_else(|| no_such_intent(id))
    }

    /// The intent successfully created with `key`, as it reads now.
    pub(crate) fn made_with(&self, key: &str, now: DateTime<Utc>) -> Option<Value> {
        let id = self.ids_by_key.get(key)?;
        self.by_id.get(id).map(|intent| intent.object(now))
    }

    fn get_mut(&mut self, id: &str) -> Result<&mut PaymentIntent, StripeError> {
        self.by_id.get_mut(id).ok_or_else(|| no_such_intent(id))
    }
}

impl PaymentIntent {
    fn status(&self, now: DateTime<Utc>) -> Status<'_> {
        match &self.state {
            State::RequiresCapture => match self.expires_at {
                Some(expired_at) if now > expired_at => Status::Lapsed { expired_at },
                _ => Status::RequiresCapture,
            },
            State::Succeeded { charge, received } => Status::Succeeded {
                charge,
                received: *received,
            },
            State::Canceled(reason) => Status::Canceled(*reason),
        }
    }

    /// The Stripe PaymentIntent object as it reads at `now`.
    fn object(&self, now: DateTime<Utc>) -> Value {
        let status = self.status(now);
        let (capturable, received, latest_charge, cancellation_reason) = match status {
            Status::RequiresCapture => (self.amount, 0, None, None),
            Status::Succeeded { charge, received } => (0, received, Some(charge), None),
            Status::Canceled(reason) => (0, 0, None, Some(reason.as_str())),
            Status::Lapsed { .. } => (0, 0, None, Some("automatic")),
        };
        json!({
            "id": self.id,
            "object": "payment_intent",
            "status": status.name(),
            "amount": self.amount,
            "amount_capturable": capturable,
            "amount_received": received,
            "currency": self.currency,
            "capture_method": self.capture_method.as_str(),
            "payment_method": self.payment_method,
            "latest_charge": latest_charge,
            "metadata": self.metadata,
            "created": self.created.timestamp(),
            "idempotency_key": self.idempotency_key,
            "cancellation_reason": cancellation_reason,
        })
    }

    fn ledger_ref(&self) -> IntentRef<'_> {
        IntentRef {
            id: &self.id,
            currency: &self.currency,
            order_id: self.metadata.get("order_id").map(String::as_str),
        }
    }
}

fn no_such_intent(id: &str) -> StripeError {
    StripeError::invalid_request(
        StatusCode::NOT_FOUND,
        "resource_missing",
        format!("No such payment_intent: '{id}'"),
    )
}

fn unexpected_state(message: String) -> StripeError {
    StripeError::invalid_request(
        StatusCode::BAD_REQUEST,
        "payment_intent_unexpected_state",
        message,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::EntryKind;

    fn manual(amount: u64) -> IntentParams {
        IntentParams {
            amount,
            currency: "usd".to_owned(),
            payment_method: "tok_visa".to_owned(),
            capture_method: CaptureMethod::Manual,
            metadata: BTreeMap::from([("order_id".to_owned(), "o1".to_owned())]),
        }
    }

    fn id_of(object: &Value) -> String {
        object["id"]
            .as_str()
            .expect("an intent has an id")
            .to_owned()
    }

    #[test]
    fn an_authorization_lapses_just_after_its_expiry_and_cannot_be_captured() {
        let ttl = TimeDelta::seconds(10);
        let mut intents = PaymentIntents::new(ttl);
        let mut ledger = Ledger::default();
        let created = Utc::now();
        let object = intents
            .create(&mut ledger, &manual(800), Some("k"), created)
            .expect("tok_visa authorizes");
        let id = id_of(&object);

        let at_expiry = intents.retrieve(&id, created + ttl).expect("known");
        assert_eq!(at_expiry["status"], "requires_capture");
        assert_eq!(at_expiry["amount_capturable"], 800);

        let lapsed_at = created + ttl + TimeDelta::nanoseconds(1);
        let lapsed = intents.retrieve(&id, lapsed_at).expect("known");
        assert_eq!(lapsed["status"], "canceled");
        assert_eq!(lapsed["cancellation_reason"], "automatic");
        assert_eq!(lapsed["amount_capturable"], 0);
        assert_eq!(intents.made_with("k", lapsed_at), Some(lapsed));

        let capture = CaptureParams {
            intent: id.clone(),
            amount_to_capture: None,
        };
        let error = intents
            .capture(&mut ledger, &capture, None, lapsed_at)
            .expect_err("the authorization lapsed");
        assert_eq!(error.code, "charge_expired_for_capture");
        assert!(error.message.contains(&(created + ttl).to_rfc3339()));

        let kinds: Vec<EntryKind> = ledger.entries().iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EntryKind::Authorization]);
        assert_eq!(ledger.entries()[0].expires_at, Some(created + ttl));
    }

    #[test]
    fn a_ttl_past_the_range_of_dates_never_lapses() {
        let mut intents = PaymentIntents::new(TimeDelta::MAX);
        let mut ledger = Ledger::default();
        let now = Utc::now();
        let object = intents
            .create(&mut ledger, &manual(100), None, now)
            .expect("tok_visa authorizes");
        assert_eq!(
            ledger.entries()[0].expires_at,
            Some(DateTime::<Utc>::MAX_UTC)
        );
        let later = intents
            .retrieve(&id_of(&object), now + TimeDelta::days(365 * 1_000))
            .expect("known");
        assert_eq!(later["status"], "requires_capture");
    }
}
