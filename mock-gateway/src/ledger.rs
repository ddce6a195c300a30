//! The ledger: every charge and refund the gateway carried out.
//!
//! Invariants:
//! - Only successful charges and refunds are recorded; a declined or refused
//!   request leaves no trace here.
//! - Entries are kept in creation order and never change once written.
//! - Every refund names a charge in the ledger, and the refunds of a charge
//!   never add up to more than its amount.
//! - Charge and refund ids are unique.
//!
//! Idempotency is not the ledger's job (see `idempotency`): it records what
//! it is asked to. It lives in memory only.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use poem::http::StatusCode;
use rand::Rng;
use serde_json::{Value, json};

use crate::requests::{ChargeParams, RefundParams};
use crate::stripe_error::StripeError;

/// Random characters after `ch_` / `re_`, as in Stripe's ids.
const ID_LEN: usize = 24;

/// One line of `GET /v1/ledger`.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct LedgerEntry {
    pub(crate) id: String,
    pub(crate) kind: EntryKind,
    pub(crate) amount: u64,
    pub(crate) currency: String,
    pub(crate) idempotency_key: Option<String>,
    /// The charge's `metadata.order_id`; for a refund, the refunded charge's.
    pub(crate) order_id: Option<String>,
    /// For a refund, the charge it refunds.
    pub(crate) charge: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EntryKind {
    Charge,
    Refund,
}

/// A charge as the gateway remembers it.
#[derive(Debug, Clone)]
struct Charge {
    amount: u64,
    currency: String,
    order_id: Option<String>,
    /// Sum of this charge's refunds, never more than `amount`.
    refunded: u64,
    /// The Stripe charge object, as first answered.
    object: Value,
}

#[derive(Debug, Default)]
pub(crate) struct Ledger {
    charges: HashMap<String, Charge>,
    /// Successful charges by the idempotency key they were made with.
    charge_ids_by_key: HashMap<String, String>,
    refund_ids: HashSet<String>,
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
        authorize(&params.source)?;
        let id = unique_id("ch_", |id| self.charges.contains_key(id));
        let created_at = Utc::now();
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
        self.entries.push(LedgerEntry {
            id: id.clone(),
            kind: EntryKind::Charge,
            amount: params.amount,
            currency: params.currency.clone(),
            idempotency_key: key.map(str::to_owned),
            order_id: params.metadata.get("order_id").cloned(),
            charge: None,
            created_at,
        });
        if let Some(key) = key {
            self.charge_ids_by_key.insert(key.to_owned(), id.clone());
        }
        let charge = Charge {
            amount: params.amount,
            currency: params.currency.clone(),
            order_id: params.metadata.get("order_id").cloned(),
            refunded: 0,
            object: object.clone(),
        };
        self.charges.insert(id, charge);
        Ok(object)
    }

    /// Refunds part or all of what remains of a charge; returns the refund
    /// object.
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
        let order_id = charge.order_id.clone();
        self.entries.push(LedgerEntry {
            id: id.clone(),
            kind: EntryKind::Refund,
            amount,
            currency: currency.clone(),
            idempotency_key: key.map(str::to_owned),
            order_id,
            charge: Some(params.charge.clone()),
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
            "amount": amount,
            "currency": currency,
            "idempotency_key": key,
            "created": created_at.timestamp(),
        }))
    }

    /// The charge object of the successful charge made with `key`.
    pub(crate) fn charge_made_with(&self, key: &str) -> Option<Value> {
        let id = self.charge_ids_by_key.get(key)?;
        self.charges.get(id).map(|charge| charge.object.clone())
    }

    pub(crate) fn entries(&self) -> &[LedgerEntry] {
        &self.entries
    }
}

/// Stripe's test tokens decide the outcome of a charge.
fn authorize(source: &str) -> Result<(), StripeError> {
    match source {
        "tok_visa" => Ok(()),
        "tok_chargeDeclined" => Err(StripeError::card_declined(
            "card_declined",
            "Your card was declined.",
        )),
        "tok_chargeDeclinedInsufficientFunds" => Err(StripeError::card_declined(
            "insufficient_funds",
            "Your card has insufficient funds.",
        )),
        other => Err(StripeError::invalid_request(
            StatusCode::BAD_REQUEST,
            "invalid_source",
            format!(
                "No such token: '{other}'; the gateway knows tok_visa, tok_chargeDeclined \
                 and tok_chargeDeclinedInsufficientFunds"
            ),
        )),
    }
}

/// `prefix` and random alphanumerics, drawn again on the (unlikely) clash.
fn unique_id(prefix: &str, taken: impl Fn(&str) -> bool) -> String {
    loop {
        let suffix: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(ID_LEN)
            .map(char::from)
            .collect();
        let id = format!("{prefix}{suffix}");
        if !taken(&id) {
            return id;
        }
    }
}
