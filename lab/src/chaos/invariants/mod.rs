//! The checks a chaos run ends with: what must hold once the system is
//! quiet, whatever was killed on the way. Each check judges the evidence
//! (the database's final state, the gateway's ledger, the logs, what the
//! shoppers saw: see [`super::evidence`]), counts what it looked at, and
//! lists its violations. Nothing here reads anything itself.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

use super::evidence::{Evidence, LedgerEntry, OrderRow};
use super::mayhem::MayhemLog;
use super::shoppers::{Answer, Exchange, Purchase};

/// How long after a fault a 503 is still explained by it: the pools notice
/// dead connections and open new ones.
const RECONNECT_SLACK: Duration = Duration::from_secs(2);

/// Terminal order statuses (the README's saga: nothing moves after them).
const TERMINAL: [&str; 4] = ["completed", "failed", "cancelled", "refunded"];

/// One invariant: how many things it looked at, and what broke it.
#[derive(Debug)]
pub struct Check {
    pub name: &'static str,
    pub checked: usize,
    pub violations: Vec<String>,
}

impl Check {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            checked: 0,
            violations: Vec::new(),
        }
    }

    /// Counts one thing looked at; records `violation` when it is `Some`.
    fn look(&mut self, violation: Option<String>) {
        self.checked += 1;
        self.violations.extend(violation);
    }
}

/// Runs every check.
pub fn check(evidence: &Evidence) -> Vec<Check> {
    let orders = &evidence.orders;
    vec![
        accepted_orders_are_terminal(evidence, orders),
        no_order_without_a_202(evidence, orders),
        queue_drained(evidence, orders),
        money(evidence.ledger, orders),
        stock_conserved(evidence),
        duplicates_share_an_order(evidence.outcomes),
        shoppers_answered_sensibly(evidence.outcomes, evidence.shopper_failures),
        cancellations_hold(evidence, orders),
        confirmations_mailed(evidence, orders),
        no_panics(evidence),
        faults_happened(evidence.mayhem),
        api_answered(evidence.exchanges, evidence.mayhem),
        enough_cases(evidence),
    ]
}

fn accepted_orders_are_terminal(evidence: &Evidence, orders: &HashMap<Uuid, OrderRow>) -> Check {
    let mut check = Check::new("every accepted order exists and is terminal");
    for outcome in evidence.outcomes {
        let Some(id) = outcome.order else {
            check.look(Some(format!(
                "{}: never accepted ({})",
                outcome.key,
                outcome.problems.join("; ")
            )));
            continue;
        };
        check.look(match orders.get(&id) {
            None => Some(format!("order {id} got a 202 and does not exist")),
            Some(order) if !TERMINAL.contains(&order.status.as_str()) => {
                Some(format!("order {id} is still {}", order.status))
            }
            Some(_) => None,
        });
    }
    check
}

fn no_order_without_a_202(evidence: &Evidence, orders: &HashMap<Uuid, OrderRow>) -> Check {
    let mut check = Check::new("every order in the database was answered 202");
    let answered: HashSet<Uuid> = evidence.outcomes.iter().filter_map(|o| o.order).collect();
    for id in orders.keys() {
        check.look((!answered.contains(id)).then(|| format!("order {id} was never answered 202")));
    }
    check
}

fn queue_drained(evidence: &Evidence, orders: &HashMap<Uuid, OrderRow>) -> Check {
    let mut check = Check::new("no task running or overdue; every dead task explained");
    check.checked += evidence.settled_tasks;
    for task in &evidence.open_tasks {
        let status = task
            .order_id
            .as_deref()
            .and_then(|id| Uuid::parse_str(id).ok())
            .and_then(|id| orders.get(&id))
            .map(|o| o.status.as_str());
        let error = task.last_error.as_deref().unwrap_or("no error recorded");
        check.look(match (task.state.as_str(), status) {
            ("running", _) => Some(format!("task {} ({}) is still running", task.id, task.kind)),
            ("available", _) if task.due => Some(format!(
                "task {} ({}) is available past its run_at",
                task.id, task.kind
            )),
            ("available", _) => Some(format!(
                "task {} ({}) is still waiting for a retry",
                task.id, task.kind
            )),
            // A dead refund is an operator alarm: money may be owed back.
            ("dead", _) if task.kind == "refund_payment" => {
                Some(format!("refund task {} is dead: {error}", task.id))
            }
            // Dead with its order settled: explained by its error; the money
            // checks decide whether the order ended right.
            ("dead", Some(status)) if TERMINAL.contains(&status) => None,
            (state, status) => Some(format!(
                "task {} ({}) is {state} and its order is {}: {error}",
                task.id,
                task.kind,
                status.unwrap_or("missing")
            )),
        });
    }
    check
}

/// Per order, from the gateway's ledger: at most one charge, net charged =
/// total for completed orders and 0 for the others, refunds match charges;
/// and the order records the charge the gateway made.
fn money(ledger: &[LedgerEntry], orders: &HashMap<Uuid, OrderRow>) -> Check {
    let mut check = Check::new("ledger: ≤ 1 charge, net = total if completed else 0");
    let mut charges: HashMap<&str, Vec<&LedgerEntry>> = HashMap::new();
    let mut refunds: HashMap<&str, Vec<&LedgerEntry>> = HashMap::new();
    let by_id: HashMap<&str, &LedgerEntry> = ledger.iter().map(|e| (e.id.as_str(), e)).collect();
    for entry in ledger {
        let order = entry.order_id.as_deref().unwrap_or("");
        match entry.kind.as_str() {
            "charge" => charges.entry(order).or_default().push(entry),
            _ => refunds.entry(order).or_default().push(entry),
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
        } else if order.status == "cancelled" && !charged.is_empty() {
            Some(format!("order {} was cancelled and yet charged", order.id))
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

fn stock_conserved(evidence: &Evidence) -> Check {
    let mut check = Check::new("stock: initial + restocks = current + sold, per sku");
    for (sku, stock) in &evidence.stock {
        let stock = *stock;
        let initial = evidence.initial_stock.get(sku).copied().unwrap_or(0);
        let restocked = evidence.mayhem.restocked.get(sku).copied().unwrap_or(0);
        let sold = evidence.sold.get(sku).copied().unwrap_or(0);
        check.look((initial + restocked != stock + sold).then(|| {
            format!("{sku}: {initial} + {restocked} restocked != {stock} left + {sold} sold")
        }));
    }
    for problem in &evidence.mayhem.restock_problems {
        check.look(Some(format!("{problem}: its effect on stock is unknown")));
    }
    check
}

fn duplicates_share_an_order(outcomes: &[Purchase]) -> Check {
    let mut check = Check::new("every duplicate POST got the same order");
    for outcome in outcomes.iter().filter(|o| o.duplicate) {
        let ids = &outcome.ids_answered;
        check.look(match ids.as_slice() {
            [a, b] if a == b => None,
            _ => Some(format!(
                "{}: the two POSTs answered orders {ids:?}",
                outcome.key
            )),
        });
    }
    check
}

/// Every request a shopper made was answered as a careful client expects:
/// no refusal of a well-formed order, no cancel that failed oddly, no giving
/// up.
fn shoppers_answered_sensibly(outcomes: &[Purchase], failures: &[String]) -> Check {
    let mut check = Check::new("every shopper got the answers it should");
    for failure in failures {
        check.look(Some(failure.clone()));
    }
    for outcome in outcomes {
        check.look(
            (!outcome.problems.is_empty())
                .then(|| format!("{}: {}", outcome.key, outcome.problems.join("; "))),
        );
    }
    check
}

fn cancellations_hold(evidence: &Evidence, orders: &HashMap<Uuid, OrderRow>) -> Check {
    let mut check = Check::new("every cancel answered 200 ended cancelled");
    for outcome in evidence.outcomes.iter().filter(|o| o.cancelled) {
        let Some(id) = outcome.order else { continue };
        let status = orders.get(&id).map(|o| o.status.as_str());
        check.look(
            (status != Some("cancelled"))
                .then(|| format!("order {id} was cancelled (200) and is {status:?}")),
        );
    }
    check
}

/// Every completed order was mailed its confirmation (at least once: a crash
/// between sending and recording sends it again), and no other order was.
fn confirmations_mailed(evidence: &Evidence, orders: &HashMap<Uuid, OrderRow>) -> Check {
    let mut check = Check::new("confirmation mailed iff completed (at least once)");
    for order in orders.values() {
        let sent = evidence.mailed.get(&order.id).copied().unwrap_or(0);
        let completed = order.status == "completed";
        check.look(match (completed, sent) {
            (true, 0) => Some(format!(
                "order {} completed without a confirmation",
                order.id
            )),
            (false, n) if n > 0 => Some(format!(
                "order {} is {} and was mailed a confirmation",
                order.id, order.status
            )),
            _ => None,
        });
    }
    check
}

fn no_panics(evidence: &Evidence) -> Check {
    let mut check = Check::new("no process panicked (logs scanned) or exited on its own");
    for exit in &evidence.mayhem.exited {
        check.look(Some(exit.clone()));
    }
    for (log, panic) in &evidence.logs {
        check.look(panic.as_ref().map(|line| format!("{log}: {line}")));
    }
    check
}

/// The run proves nothing about a fault that never happened: each scheduled
/// one must have been injected before the load ended.
fn faults_happened(mayhem: &MayhemLog) -> Check {
    let mut check = Check::new("every scheduled fault was injected");
    let hint = "the load ended first: place more orders, or lower --rate";
    let faults = [
        ("a worker SIGKILLed", mayhem.workers_killed > 0),
        ("connections cut", mayhem.connections_cut > 0),
        ("the API SIGKILLed", !mayhem.api_down.is_empty()),
        (
            "every worker SIGKILLed at once",
            !mayhem.workers_out.is_empty(),
        ),
        ("PostgreSQL crashed", !mayhem.postgres_down.is_empty()),
        ("restocks", mayhem.restocks_done == 2),
    ];
    for (fault, happened) in faults {
        check.look((!happened).then(|| format!("{fault}: never happened ({hint})")));
    }
    check
}

/// Every request got an HTTP answer unless the API was down when it was in
/// flight; no answer was a 500; and a 503 came only while a fault explains
/// it: PostgreSQL down (and the moments after, while connections come back),
/// or this request's connection cut under it.
fn api_answered(exchanges: &[Exchange], mayhem: &MayhemLog) -> Check {
    let mut check = Check::new("the API answered except while killed; 503 only under a fault");
    let overlaps = |windows: &[(Instant, Instant)], sent: Instant, ended: Instant| {
        windows
            .iter()
            .any(|&(down, up)| sent <= up && ended >= down)
    };
    let database_trouble = |sent: Instant, ended: Instant| {
        let after_restart: Vec<(Instant, Instant)> = mayhem
            .postgres_down
            .iter()
            .map(|&(down, up)| (down, up + RECONNECT_SLACK))
            .collect();
        overlaps(&after_restart, sent, ended)
            || mayhem
                .connections_cut_at
                .iter()
                .any(|&cut| cut + RECONNECT_SLACK >= sent && cut <= ended)
    };
    for exchange in exchanges {
        let (sent, ended) = (exchange.sent, exchange.ended);
        check.look(match &exchange.answer {
            Answer::Status(503) if database_trouble(sent, ended) => None,
            Answer::Status(503) => Some("answered 503 with no fault to explain it".to_owned()),
            Answer::Status(status) if *status >= 500 => Some(format!("answered {status}")),
            Answer::Status(_) => None,
            Answer::None(_) if overlaps(&mayhem.api_down, sent, ended) => None,
            Answer::None(error) => Some(format!("no answer while the API was up: {error}")),
        });
    }
    check
}

/// A check that looked at nothing proves nothing: the run must have
/// produced enough of each case the checks exist for (cancels that landed,
/// duplicate POSTs, refunds, confirmations), in proportion to its size.
fn enough_cases(evidence: &Evidence) -> Check {
    let mut check = Check::new("the run produced enough of every case checked");
    let orders = evidence.outcomes.len();
    let refunded = evidence
        .orders
        .values()
        .filter(|o| o.status == "refunded")
        .count();
    let cases = [
        (
            "cancels that landed",
            evidence.outcomes.iter().filter(|o| o.cancelled).count(),
            1,
        ),
        (
            "duplicate POSTs",
            evidence.outcomes.iter().filter(|o| o.duplicate).count(),
            (orders / 100).max(1),
        ),
        ("refunded orders", refunded, (orders / 100).max(1)),
        (
            "orders mailed a confirmation",
            evidence.mailed.len(),
            (orders / 10).max(1),
        ),
    ];
    for (case, seen, floor) in cases {
        check.look((seen < floor).then(|| {
            format!(
                "{case}: {seen}, fewer than the {floor} a run of {orders} orders must see \
                 (place more orders)"
            )
        }));
    }
    check
}

#[cfg(test)]
mod tests;
