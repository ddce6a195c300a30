//! Pricing an order: every field of the request checked against the
//! order's limits ([`check`]), then every line priced from the catalog, in
//! one currency, with a total that cannot overflow. Prices come from the
//! catalog, never from the client: the statement that places the order
//! reads them ([`super::place`]).

use std::collections::BTreeMap;

use serde_json::json;
use uuid::Uuid;

use super::{CaptureMethod, NewLine};
use crate::catalog::Sku;
use crate::money::{Cents, Currency};
use crate::trace::TraceParent;
use crate::validation::{InvalidFields, Violations, char_len, is_email};

pub const MAX_LINES: usize = 100;
pub const MAX_QUANTITY: i64 = 1000;
pub const MAX_METADATA_ENTRIES: usize = 20;
pub const MAX_METADATA_KEY_CHARS: usize = 40;
pub const MAX_METADATA_VALUE_CHARS: usize = 500;

/// An order as a client asked for it, before it is checked and priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub customer_email: String,
    pub items: Vec<RequestedItem>,
    pub payment_token: String,
    pub metadata: BTreeMap<String, String>,
    /// As asked for; `None` takes the deployment's default.
    pub capture_method: Option<CaptureMethod>,
}

/// One line as asked for: a sku and a quantity, both still unchecked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedItem {
    pub sku: String,
    pub quantity: i64,
}

/// Why an order could not be priced.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    /// Fields the client must fix, each named.
    #[error(transparent)]
    Invalid(#[from] InvalidFields),
    /// Every line priced, yet no currency came out: a bug, not the client's.
    #[error("a priced order has no valid currency")]
    NoCurrency,
    /// The placing statement refused the order, yet what it read of the
    /// catalog prices it: the statement's rules and [`price_lines`] differ.
    #[error("the placing statement did not price an order whose lines price")]
    RulesDisagree,
    /// Kept as the source so that callers can tell a lost connection apart.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl OrderRequest {
    /// The request as an idempotency key remembers it: parsed, so formatting
    /// and key order don't matter, but every value does.
    pub fn fingerprint(&self) -> serde_json::Value {
        let mut fingerprint = json!({
            "customer_email": self.customer_email,
            "items": self.items.iter().map(|i| json!({ "sku": i.sku, "quantity": i.quantity })).collect::<Vec<_>>(),
            "payment_token": self.payment_token,
            "metadata": self.metadata,
        });
        // Only when asked for: a request without it keeps the fingerprint it
        // had before capture methods existed, so its retries still match.
        if let Some(method) = self.capture_method {
            fingerprint["capture_method"] = json!(method);
        }
        fingerprint
    }
}

/// An order whose every field was checked, not yet priced: [`super::place`]
/// prices it from the catalog in the statement that writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedOrder {
    pub id: Uuid,
    pub customer_email: String,
    /// Each sku once, in the order asked for.
    pub lines: Vec<(Sku, i32)>,
    pub payment_token: String,
    pub metadata: serde_json::Value,
    /// As asked for, or the default when the request left it out.
    pub capture_method: CaptureMethod,
    /// The trace of the request that placed it; its saga continues it.
    pub traceparent: Option<TraceParent>,
}

/// Checks every field of the request against the order's limits; each one
/// at fault is named.
pub fn check(
    request: OrderRequest,
    traceparent: TraceParent,
) -> Result<CheckedOrder, InvalidFields> {
    let mut violations = Violations::default();
    violations.check(
        is_email(&request.customer_email),
        "customer_email",
        "must be an email address such as ada@example.com",
    );
    violations.check(
        (1..=255).contains(&char_len(&request.payment_token)),
        "payment_token",
        "must be 1 to 255 characters",
    );
    violations.check(
        (1..=MAX_LINES).contains(&request.items.len()),
        "items",
        format!("must have 1 to {MAX_LINES} lines"),
    );
    let metadata = request.metadata;
    violations.check(
        metadata.len() <= MAX_METADATA_ENTRIES,
        "metadata",
        format!("must have at most {MAX_METADATA_ENTRIES} keys"),
    );
    let mut keys: Vec<&String> = metadata.keys().collect();
    keys.sort();
    for key in keys {
        violations.check(
            (1..=MAX_METADATA_KEY_CHARS).contains(&char_len(key)),
            format!("metadata.{key}"),
            format!("keys must be 1 to {MAX_METADATA_KEY_CHARS} characters"),
        );
        violations.check(
            char_len(&metadata[key]) <= MAX_METADATA_VALUE_CHARS,
            format!("metadata.{key}"),
            format!("values must be at most {MAX_METADATA_VALUE_CHARS} characters"),
        );
    }
    let mut lines: Vec<(Sku, i32)> = Vec::with_capacity(request.items.len());
    for (i, item) in request.items.iter().enumerate() {
        let sku = Sku::parse(&item.sku)
            .map_err(|e| violations.add(format!("items[{i}].sku"), e.to_string()));
        let quantity = i32::try_from(item.quantity)
            .ok()
            .filter(|q| (1..=MAX_QUANTITY).contains(&i64::from(*q)));
        violations.check(
            quantity.is_some(),
            format!("items[{i}].quantity"),
            format!("must be between 1 and {MAX_QUANTITY}"),
        );
        if let Ok(sku) = &sku {
            if let Some(first) = lines.iter().position(|(seen, _)| seen == sku) {
                violations.add(
                    format!("items[{i}].sku"),
                    format!("repeats items[{first}]; put the whole quantity on one line"),
                );
            }
        }
        if let (Ok(sku), Some(quantity)) = (sku, quantity) {
            lines.push((sku, quantity));
        }
    }
    violations.finish()?;
    Ok(CheckedOrder {
        id: Uuid::now_v7(),
        customer_email: request.customer_email,
        lines,
        payment_token: request.payment_token,
        metadata: serde_json::Value::Object(
            metadata
                .into_iter()
                .map(|(key, value)| (key, serde_json::Value::String(value)))
                .collect(),
        ),
        capture_method: request.capture_method.unwrap_or_default(),
        traceparent: Some(traceparent),
    })
}

/// What the catalog said of one sku: its price and currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPrice {
    pub sku: String,
    pub price_cents: i64,
    pub currency: String,
}

/// Prices `order`'s lines from `catalog` (what it has of their skus): every
/// sku known, one currency, a total that does not overflow. The placing
/// statement applies the same three rules before it writes anything.
pub(super) fn price_lines(
    order: &CheckedOrder,
    catalog: &[ListPrice],
) -> Result<(Vec<NewLine>, Currency, Cents), PricingError> {
    let mut violations = Violations::default();
    let mut currency: Option<(usize, &str)> = None;
    let mut total = Cents::ZERO;
    let mut priced = Vec::with_capacity(order.lines.len());
    for (i, (sku, quantity)) in order.lines.iter().enumerate() {
        let Some(listed) = catalog.iter().find(|p| p.sku == sku.as_str()) else {
            violations.add(
                format!("items[{i}].sku"),
                format!("no product has sku \"{sku}\""),
            );
            continue;
        };
        let line_currency = listed.currency.as_str();
        match currency {
            None => currency = Some((i, line_currency)),
            Some((first, c)) if c != line_currency => violations.add(
                format!("items[{i}].sku"),
                format!("is priced in {line_currency}, but items[{first}] is in {c}; one order, one currency"),
            ),
            Some(_) => {}
        }
        let unit = Cents::new(listed.price_cents).unwrap_or(Cents::ZERO);
        match unit
            .checked_mul(quantity.unsigned_abs())
            .and_then(|line| total.checked_add(line))
        {
            Some(sum) => total = sum,
            None => violations.add("items", "the order total is too large"),
        }
        priced.push(NewLine {
            sku: sku.clone(),
            quantity: *quantity,
            unit_price: unit,
        });
    }
    violations.finish()?;
    let currency = currency
        .and_then(|(_, c)| c.parse::<Currency>().ok())
        .ok_or(PricingError::NoCurrency)?;
    Ok((priced, currency, total))
}
