//! The money and the stock: per order, what the gateway's ledger says was
//! charged (or captured) and refunded, and what was held on the card and
//! released; per sku, what came in and went out.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Check, Evidence, LedgerEntry, OrderRow};

/// Per order, from the gateway's ledger: at most one charge (a capture is
/// the charge of a manual order), net charged = total for completed orders
/// and 0 for the others, refunds match charges; and the order records the
/// charge the gateway made.
pub(super) fn money(ledger: &[LedgerEntry], orders: &HashMap<Uuid, OrderRow>) -> Check {
    let mut check = Check::new("ledger: ≤ 1 charge, net = total if completed else 0");
    let mut charges: HashMap<&str, Vec<&LedgerEntry>> = HashMap::new();
    let mut refunds: HashMap<&str, Vec<&LedgerEntry>> = HashMap::new();
    let by_id: HashMap<&str, &LedgerEntry> = ledger.iter().map(|e| (e.id.as_str(), e)).collect();
    for entry in ledger {
        let order = entry.order_id.as_deref().unwrap_or("");
        match entry.kind.as_str() {
            "charge" | "capture" => charges.entry(order).or_default().push(entry),
            "refund" => refunds.entry(order).or_default().push(entry),
            // Holds move no money; `holds_released` judges them.
            "authorization" | "void" => {}
            other => check.look(Some(format!(
                "ledger entry {} is of a kind this check does not know: {other}",
                entry.id
            ))),
        }
    }
    for refund in ledger.iter().filter(|e| e.kind == "refund") {
        let charge = refund.charge.as_deref().and_then(|id| by_id.get(id));
        check.look(match charge {
            None => Some(format!(
                "refund {} names no charge in the ledger",
                refund.id
            )),
            Some(charge) if charge.amount != refund.amount => Some(format!(
                "refund {} of {} does not match its charge {} of {}",
                refund.id, refund.amount, charge.id, charge.amount
            )),
            Some(_) => None,
        });
    }
    for order in orders.values() {
        let key = order.id.to_string();
        let charged = charges.get(key.as_str()).map_or(&[][..], Vec::as_slice);
        let refunded = refunds.get(key.as_str()).map_or(&[][..], Vec::as_slice);
        let net: i64 = charged.iter().map(|c| c.amount).sum::<i64>()
            - refunded.iter().map(|r| r.amount).sum::<i64>();
        let expected = if order.status == "completed" {
            order.total_cents
        } else {
            0
        };
        let violation = if charged.len() > 1 {
            Some(format!(
                "order {} was charged {} times",
                order.id,
                charged.len()
            ))
        } else if net != expected {
            Some(format!(
                "order {} is {} and net charged {net}, expected {expected}",
                order.id, order.status
            ))
        } else if order.status == "completed"
            && order.charge_id.as_deref() != charged.first().map(|c| c.id.as_str())
        {
            Some(format!(
                "order {} records charge {:?}, the gateway made {:?}",
                order.id,
                order.charge_id,
                charged.first().map(|c| &c.id)
            ))
        } else {
            None
        };
        check.look(violation);
    }
    for order in charges.keys().chain(refunds.keys()) {
        let known = Uuid::parse_str(order).is_ok_and(|id| orders.contains_key(&id));
        if !known {
            check.look(Some(format!(
                "the ledger has money for {order:?}, which is no order"
            )));
        }
    }
    check
}

/// Per order, from the gateway's ledger: at most one authorization, and
/// every one closed by `now`: captured, voided, or lapsed at its expiry. A
/// hold left open is money a shopper cannot spend.
pub(super) fn holds_released(
    ledger: &[LedgerEntry],
    orders: &HashMap<Uuid, OrderRow>,
    now: DateTime<Utc>,
) -> Check {
    let mut check = Check::new("ledger: ≤ 1 hold per order, every hold captured, voided or lapsed");
    let closed: HashSet<&str> = ledger
        .iter()
        .filter(|e| e.kind == "capture" || e.kind == "void")
        .filter_map(|e| e.payment_intent.as_deref())
        .collect();
    let mut holds: HashMap<&str, usize> = HashMap::new();
    for hold in ledger.iter().filter(|e| e.kind == "authorization") {
        let order = hold.order_id.as_deref().unwrap_or("");
        *holds.entry(order).or_default() += 1;
        let intent = hold.payment_intent.as_deref().unwrap_or(hold.id.as_str());
        let lapsed = hold.expires_at.is_some_and(|at| at <= now);
        check.look((!closed.contains(intent) && !lapsed).then(|| {
            format!("order {order}'s hold {intent} is still open: neither captured nor voided")
        }));
    }
    for order in orders.values() {
        let key = order.id.to_string();
        let held = holds.get(key.as_str()).copied().unwrap_or(0);
        check.look((held > 1).then(|| format!("order {} was authorized {held} times", order.id)));
    }
    check
}

pub(super) fn stock_conserved(evidence: &Evidence) -> Check {
    let mut check = Check::new("stock: initial + restocks = current + sold, per sku");
    for (sku, stock) in &evidence.stock {
        let stock = *stock;
        let initial = evidence.run.initial_stock.get(sku).copied().unwrap_or(0);
        let restocked = evidence.run.mayhem.restocked.get(sku).copied().unwrap_or(0);
        let sold = evidence.sold.get(sku).copied().unwrap_or(0);
        check.look((initial + restocked != stock + sold).then(|| {
            format!("{sku}: {initial} + {restocked} restocked != {stock} left + {sold} sold")
        }));
    }
    for problem in &evidence.run.mayhem.restock_problems {
        check.look(Some(format!("{problem}: its effect on stock is unknown")));
    }
    check
}
