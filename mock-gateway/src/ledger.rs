//! The ledger: every movement of money the gateway carried out.
//!
//! Entry kinds, and the id each entry has:
//! - `charge` (`ch_…`): money taken at once, by `POST /v1/charges` or by a
//!   PaymentIntent with `capture_method=automatic`, which it then names in
//!   `payment_intent`.
//! - `refund` (`re_…`): money given back; `charge` names the `charge` or
//!   `capture` entry it refunds.
//! - `authorization` (the intent's `pi_…`): money held by a PaymentIntent with
//!   `capture_method=manual`, capturable until its `expires_at`.
//! - `capture` (`ch_…`, the charge it made): money taken from an
//!   authorization, at most all of it; refunds name it like any charge.
//! - `void` (`void_…`): an authorization released in full by a cancel.
//!
//! Invariants:
//! - Only what succeeded is recorded; a declined or refused request leaves no
//!   trace here.
//! - Entries are kept in creation order and never change once written.
//! - Every refund names a `charge` or `capture` entry, and the refunds of one
//!   never add up to more than its amount.
//! - Every `capture` and `void` names (in `payment_intent`) an intent whose
//!   `authorization` comes before it, and each authorization is followed by at
//!   most one of them: a capture of at most its amount (what it leaves is
//!   released without an entry of its own) or a void of all of it. An
//!   authorization followed by neither is still open until its `expires_at`
//!   and lapsed after it: released, nothing taken. (`intents` keeps this one,
//!   by allowing each intent one move out of `requires_capture`.)
//! - Entry ids are unique, and so are charge and refund ids.
//!
//! Idempotency is not the ledger's job (see `idempotency`), nor are the states
//! of a PaymentIntent (see `intents`): it records what it is asked to. It
//! lives in memory only.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::ids::unique_id;
use crate::requests::{ChargeParams, RefundParams};
use crate::stripe_error::StripeError;
use crate::tokens::{TokenParameter, authorize};

/// One line of `GET /v1/ledger`.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct LedgerEntry {
    pub(crate) id: String,
    pub(crate) kind: EntryKind,
    pub(crate) amount: u64,
    pub(crate) currency: String,
    pub(crate) idempotency_key: Option<String>,
    /// The charge's or intent's `metadata.order_id`; for a refund, the
    /// refunded charge's.
    pub(crate) order_id: Option<String>,
    /// For a refund, the charge it refunds.
    pub(crate) charge: Option<String>,
    /// The PaymentIntent the entry belongs to, if any; for a refund, the
    /// refunded charge's.
    pub(crate) payment_intent: Option<String>,
    /// For an authorization: when it lapses unless captured or voided first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) expires_at: Option<DateTime<Utc>>,
    pub(crate) created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EntryKind {
    Charge,
    Refund,
    Authorization,
    Capture,
    Void,
}

/// What every entry of one PaymentIntent shares.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IntentRef<'a> {
    pub(crate) id: &'a str,
    pub(crate) currency: &'a str,
    pub(crate) order_id: Option<&'a str>,
}

/// Whose money a charge takes: its currency, order and intent, if any.
#[derive(Debug, Clone, Copy)]
struct Payer<'a> {
    currency: &'a str,
    order_id: Option<&'a str>,
    payment_intent: Option<&'a str>,
}

/// A charge (or a capture) as the gateway remembers it, for its refunds.
#[derive(Debug, Clone)]
struct Charge {
    amount: u64,
    currency: String,
    order_id: Option<String>,
    payment_intent: Option<String>,
    /// Sum of this charge's refunds, never more than `amount`.
    refunded: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Ledger {
    charges: HashMap<String, Charge>,
    /// The charge objects of `POST /v1/charges`, as first answered, by the
    /// idempotency key they were made with.
    charge_objects_by_key: HashMap<String, Value>,
    refund_ids: HashSet<String>,
    void_ids: HashSet<String>,
    entries: Vec<LedgerEntry>,
}

impl Ledger {
    /// Charges the card when its test token succeeds; returns the charge
    /// object. Declined and unknown tokens record nothing.
    pub(crate) fn charge(
        &mut self,
        params: &ChargeParams,
        key: Option<&str>,
    ) -> Result<Value, StripeError> {
        authorize(TokenParameter::Source, &params.source)?;
        let created_at = Utc::now();
        let payer = Payer {
            currency: &params.currency,
            order_id: params.metadata.get("order_id").map(String::as_str),
            payment_intent: None,
        };
        let id = self.record_charge(EntryKind::Charge, payer, params.amount, key, created_at);
        let object = json!({
            "id": id,
            "object": "charge",
            "status": "succeeded",
            "amount": params.amount,
            "currency": params.currency,
            "source": params.source,
            "metadata": params.metadata,
            "idempotency_key": key,
            "created": created_at.timestamp(),
        });
        if let Some(key) = key {
            self.charge_objects_by_key
                .insert(key.to_owned(), object.clone());
        }
        Ok(object)
    }

    /// Refunds part or all of what remains of a charge (or a capture);
    /// returns the refund object.
    pub(crate) fn refund(
        &mut self,
        params: &RefundParams,
        key: Option<&str>,
    ) -> Result<Value, StripeError> {
        let Some(charge) = self.charges.get(&params.charge) else {
            return Err(StripeError::invalid_request(
                StatusCode::NOT_FOUND,
                "resource_missing",
                format!("No such charge: '{}'", params.charge),
            ));
        };
        let remaining = charge.amount.saturating_sub(charge.refunded);
        let amount = params.amount.unwrap_or(remaining);
        if remaining == 0 {
            return Err(StripeError::invalid_request(
                StatusCode::BAD_REQUEST,
                "charge_already_refunded",
                format!("Charge {} has already been refunded in full", params.charge),
            ));
        }
        if amount > remaining {
            return Err(StripeError::invalid_request(
                StatusCode::BAD_REQUEST,
                "amount_too_large",
                format!(
                    "Refund amount ({amount}) is greater than what remains of charge {} \
                     ({remaining})",
                    params.charge
                ),
            ));
        }
        let id = unique_id("re_", |id| self.refund_ids.contains(id));
        let created_at = Utc::now();
        let currency = charge.currency.clone();
        let payment_intent = charge.payment_intent.clone();
        self.entries.push(LedgerEntry {
            id: id.clone(),
            kind: EntryKind::Refund,
            amount,
            currency: currency.clone(),
            idempotency_key: key.map(str::to_owned),
            order_id: charge.order_id.clone(),
            charge: Some(params.charge.clone()),
            payment_intent: payment_intent.clone(),
            expires_at: None,
            created_at,
        });
        if let Some(charge) = self.charges.get_mut(&params.charge) {
            charge.refunded += amount;
        }
        self.refund_ids.insert(id.clone());
        Ok(json!({
            "id": id,
            "object": "refund",
            "status": "succeeded",
            "charge": params.charge,
            "payment_intent": payment_intent,
            "amount": amount,
            "currency": currency,
            "idempotency_key": key,
            "created": created_at.timestamp(),
        }))
    }

    /// Records an intent's hold of `amount` (an `authorization` entry, whose
    /// id is the intent's) until `expires_at`.
    pub(crate) fn authorization(
        &mut self,
        intent: IntentRef<'_>,
        amount: u64,
        key: Option<&str>,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) {
        self.entries.push(LedgerEntry {
            id: intent.id.to_owned(),
            kind: EntryKind::Authorization,
            amount,
            currency: intent.currency.to_owned(),
            idempotency_key: key.map(str::to_owned),
            order_id: intent.order_id.map(str::to_owned),
            charge: None,
            payment_intent: Some(intent.id.to_owned()),
            expires_at: Some(expires_at),
            created_at,
        });
    }

    /// Takes `amount` for an intent: a `charge` entry for an automatic one,
    /// a `capture` entry for a manual one. Either is a charge that refunds can
    /// name; returns its id.
    pub(crate) fn intent_charge(
        &mut self,
        kind: IntentChargeKind,
        intent: IntentRef<'_>,
        amount: u64,
        key: Option<&str>,
        created_at: DateTime<Utc>,
    ) -> String {
        let kind = match kind {
            IntentChargeKind::Automatic => EntryKind::Charge,
            IntentChargeKind::Capture => EntryKind::Capture,
        };
        let payer = Payer {
            currency: intent.currency,
            order_id: intent.order_id,
            payment_intent: Some(intent.id),
        };
        self.record_charge(kind, payer, amount, key, created_at)
    }

    /// Records the release of an intent's whole authorization of `amount` (a
    /// `void` entry).
    pub(crate) fn void(
        &mut self,
        intent: IntentRef<'_>,
        amount: u64,
        key: Option<&str>,
        created_at: DateTime<Utc>,
    ) {
        let id = unique_id("void_", |id| self.void_ids.contains(id));
        self.void_ids.insert(id.clone());
        self.entries.push(LedgerEntry {
            id,
            kind: EntryKind::Void,
            amount,
            currency: intent.currency.to_owned(),
            idempotency_key: key.map(str::to_owned),
            order_id: intent.order_id.map(str::to_owned),
            charge: None,
            payment_intent: Some(intent.id.to_owned()),
            expires_at: None,
            created_at,
        });
    }

    /// The charge object of the successful `POST /v1/charges` made with `key`.
    pub(crate) fn charge_made_with(&self, key: &str) -> Option<Value> {
        self.charge_objects_by_key.get(key).cloned()
    }

    pub(crate) fn entries(&self) -> &[LedgerEntry] {
        &self.entries
    }

    /// Writes a `charge` or `capture` entry under a new `ch_…` id and
    /// remembers the charge for its refunds.
    fn record_charge(
        &mut self,
        kind: EntryKind,
        payer: Payer<'_>,
        amount: u64,
        key: Option<&str>,
        created_at: DateTime<Utc>,
    ) -> String {
        let Payer {
            currency,
            order_id,
            payment_intent,
        } = payer;
        let id = unique_id("ch_", |id| self.charges.contains_key(id));
        self.entries.push(LedgerEntry {
            id: id.clone(),
            kind,
            amount,
            currency: currency.to_owned(),
            idempotency_key: key.map(str::to_owned),
            order_id: order_id.map(str::to_owned),
            charge: None,
            payment_intent: payment_intent.map(str::to_owned),
            expires_at: None,
            created_at,
        });
        self.charges.insert(
            id.clone(),
            Charge {
                amount,
                currency: currency.to_owned(),
                order_id: order_id.map(str::to_owned),
                payment_intent: payment_intent.map(str::to_owned),
                refunded: 0,
            },
        );
        id
    }
}

/// Which entry an intent's charge is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntentChargeKind {
    /// `capture_method=automatic`: a `charge` entry.
    Automatic,
    /// A capture of a manual intent's authorization: a `capture` entry.
    Capture,
}
