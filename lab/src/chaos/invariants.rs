//! The checks a chaos run ends with: what must hold once the system is
//! quiet, whatever was killed on the way. Each check reads the database, the
//! gateway's ledger and what the shoppers saw, and lists its violations.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;
use sqlx::PgPool;
use tokio::time::Instant;
use uuid::Uuid;

use super::mayhem::MayhemLog;
use super::shoppers::{Answer, Exchange, Outcome};

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

/// One line of the gateway's `GET /v1/ledger`.
#[derive(Debug, Clone, Deserialize)]
pub struct LedgerEntry {
    pub id: String,
    pub kind: String,
    pub amount: i64,
    pub order_id: Option<String>,
    pub charge: Option<String>,
}

/// An order as the database has it at the end.
#[derive(Debug, sqlx::FromRow)]
struct OrderRow {
    id: Uuid,
    status: String,
    total_cents: i64,
    charge_id: Option<String>,
}

/// A task that is not done: running, waiting, or dead.
#[derive(Debug, sqlx::FromRow)]
struct OpenTask {
    id: i64,
    kind: String,
    state: String,
    due: bool,
    order_id: Option<String>,
    last_error: Option<String>,
}

/// Everything the checks read.
pub struct Evidence<'a> {
    pub pool: &'a PgPool,
    pub ledger: &'a [LedgerEntry],
    pub outcomes: &'a [Outcome],
    pub exchanges: &'a [Exchange],
    pub mayhem: &'a MayhemLog,
    pub initial_stock: &'a BTreeMap<String, i64>,
    pub logs: &'a Path,
    /// Confirmations mailed per order ([`confirmations`]).
    pub mailed: &'a HashMap<Uuid, usize>,
}

/// Runs every check.
pub async fn check(evidence: &Evidence<'_>) -> anyhow::Result<Vec<Check>> {
    let orders: Vec<OrderRow> = sqlx::query_as(
        "SELECT id, status::text AS status, total_cents, charge_id FROM orders ORDER BY id",
    )
    .fetch_all(evidence.pool)
    .await
    .context("reading the orders")?;
    let orders: HashMap<Uuid, OrderRow> = orders.into_iter().map(|o| (o.id, o)).collect();
    Ok(vec![
        accepted_orders_are_terminal(evidence, &orders),
        no_order_without_a_202(evidence, &orders),
        queue_drained(evidence, &orders).await?,
        money(evidence.ledger, &orders),
        stock_conserved(evidence).await?,
        duplicates_share_an_order(evidence.outcomes),
        shoppers_answered_sensibly(evidence.outcomes),
        cancellations_hold(evidence, &orders),
        confirmations_mailed(evidence, &orders),
        no_panics(evidence)?,
        faults_happened(evidence.mayhem),
        api_answered(evidence.exchanges, &evidence.mayhem.api_down),
    ])
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

async fn queue_drained(
    evidence: &Evidence<'_>,
    orders: &HashMap<Uuid, OrderRow>,
) -> anyhow::Result<Check> {
    let mut check = Check::new("no task running or overdue; every dead task explained");
    let open: Vec<OpenTask> = sqlx::query_as(
        "SELECT id, kind, state::text AS state, run_at <= now() AS due,
                payload->>'order_id' AS order_id, last_error
         FROM tasks
         WHERE state IN ('running', 'available', 'dead')
         ORDER BY id",
    )
    .fetch_all(evidence.pool)
    .await
    .context("reading the open tasks")?;
    let settled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tasks WHERE state NOT IN ('running', 'available', 'dead')",
    )
    .fetch_one(evidence.pool)
    .await?;
    check.checked += settled as usize;
    for task in open {
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
    Ok(check)
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

async fn stock_conserved(evidence: &Evidence<'_>) -> anyhow::Result<Check> {
    let mut check = Check::new("stock: initial + restocks = current + sold, per sku");
    let current: Vec<(String, i64)> =
        sqlx::query_as("SELECT sku, stock::bigint FROM products ORDER BY sku")
            .fetch_all(evidence.pool)
            .await
            .context("reading the stock")?;
    let sold: HashMap<String, i64> = sqlx::query_as(
        "SELECT i.sku, sum(i.quantity)::bigint
         FROM order_items AS i JOIN orders AS o ON o.id = i.order_id
         WHERE o.status IN ('completed', 'confirmed')
         GROUP BY i.sku",
    )
    .fetch_all(evidence.pool)
    .await
    .context("reading what was sold")?
    .into_iter()
    .collect();
    for (sku, stock) in current {
        let initial = evidence.initial_stock.get(&sku).copied().unwrap_or(0);
        let restocked = evidence.mayhem.restocked.get(&sku).copied().unwrap_or(0);
        let sold = sold.get(&sku).copied().unwrap_or(0);
        check.look((initial + restocked != stock + sold).then(|| {
            format!("{sku}: {initial} + {restocked} restocked != {stock} left + {sold} sold")
        }));
    }
    for problem in &evidence.mayhem.restock_problems {
        check.look(Some(format!("{problem}: its effect on stock is unknown")));
    }
    Ok(check)
}

fn duplicates_share_an_order(outcomes: &[Outcome]) -> Check {
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
fn shoppers_answered_sensibly(outcomes: &[Outcome]) -> Check {
    let mut check = Check::new("every shopper got the answers it should");
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

/// Confirmations sent, per order, read from the emails' Message-IDs
/// (`<order-{id}@asynccheckout>`) in the workers' development mail transport
/// folder (one `.eml` file per email).
pub fn confirmations(mail: &Path) -> anyhow::Result<HashMap<Uuid, usize>> {
    let mut sent = HashMap::new();
    let Ok(entries) = std::fs::read_dir(mail) else {
        return Ok(sent); // nothing was mailed
    };
    for entry in entries {
        let path = entry?.path();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let id = text.lines().find_map(|line| {
            let value = line.strip_prefix("Message-ID: <order-")?;
            Uuid::parse_str(value.strip_suffix("@asynccheckout>")?).ok()
        });
        if let Some(id) = id {
            *sent.entry(id).or_insert(0) += 1;
        }
    }
    Ok(sent)
}

fn no_panics(evidence: &Evidence) -> anyhow::Result<Check> {
    let mut check = Check::new("no process panicked (logs scanned) or exited on its own");
    for exit in &evidence.mayhem.exited {
        check.look(Some(exit.clone()));
    }
    let entries = std::fs::read_dir(evidence.logs)
        .with_context(|| format!("listing the logs in {}", evidence.logs.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "log") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let panic = text.lines().find(|line| line.contains("panicked at"));
        check.look(panic.map(|line| format!("{}: {line}", path.display())));
    }
    Ok(check)
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
/// flight, and no answer was a 500.
fn api_answered(exchanges: &[Exchange], api_down: &[(Instant, Instant)]) -> Check {
    let mut check = Check::new("the API answered except while killed; no 500s");
    let overlaps_downtime = |sent: Instant, ended: Instant| {
        api_down
            .iter()
            .any(|&(down, up)| sent <= up && ended >= down)
    };
    for exchange in exchanges {
        check.look(match &exchange.answer {
            Answer::Status(status) if *status >= 500 && *status != 503 => {
                Some(format!("answered {status}"))
            }
            Answer::Status(_) => None,
            Answer::None(_) if overlaps_downtime(exchange.sent, exchange.ended) => None,
            Answer::None(error) => Some(format!("no answer while the API was up: {error}")),
        });
    }
    check
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn order(status: &str, total: i64, charge: Option<&str>) -> OrderRow {
        OrderRow {
            id: Uuid::now_v7(),
            status: status.to_owned(),
            total_cents: total,
            charge_id: charge.map(str::to_owned),
        }
    }

    fn entry(id: &str, kind: &str, amount: i64, order: Uuid, charge: Option<&str>) -> LedgerEntry {
        LedgerEntry {
            id: id.to_owned(),
            kind: kind.to_owned(),
            amount,
            order_id: Some(order.to_string()),
            charge: charge.map(str::to_owned),
        }
    }

    #[test]
    fn the_money_check_passes_a_right_ledger_and_names_each_kind_of_wrong_one() {
        let paid = order("completed", 1000, Some("ch_1"));
        let refunded = order("refunded", 500, Some("ch_2"));
        let right = vec![
            entry("ch_1", "charge", 1000, paid.id, None),
            entry("ch_2", "charge", 500, refunded.id, None),
            entry("re_2", "refund", 500, refunded.id, Some("ch_2")),
        ];
        let (paid_id, refunded_id) = (paid.id, refunded.id);
        let orders: HashMap<Uuid, OrderRow> =
            [paid, refunded].into_iter().map(|o| (o.id, o)).collect();
        assert_eq!(money(&right, &orders).violations, Vec::<String>::new());
        assert_eq!(
            money(&right, &orders).checked,
            3,
            "one refund and two orders"
        );

        let mut charged_twice = right.clone();
        charged_twice.push(entry("ch_3", "charge", 1000, paid_id, None));
        let found = money(&charged_twice, &orders).violations;
        assert!(
            found.iter().any(|v| v.contains("charged 2 times")),
            "{found:?}"
        );

        let never_refunded = right[..2].to_vec();
        let found = money(&never_refunded, &orders).violations;
        assert!(
            found
                .iter()
                .any(|v| v.contains(&refunded_id.to_string()) && v.contains("net charged 500")),
            "{found:?}"
        );

        let mut partly_refunded = right.clone();
        partly_refunded[2].amount = 200;
        let found = money(&partly_refunded, &orders).violations;
        assert!(
            found
                .iter()
                .any(|v| v.contains("does not match its charge")),
            "{found:?}"
        );

        let mut stranger = right.clone();
        stranger.push(entry("ch_9", "charge", 100, Uuid::now_v7(), None));
        let found = money(&stranger, &orders).violations;
        assert!(
            found.iter().any(|v| v.contains("which is no order")),
            "{found:?}"
        );
    }

    #[test]
    fn duplicates_that_got_two_orders_are_violations() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let outcome = |ids: Vec<Uuid>| Outcome {
            key: "k".to_owned(),
            order: ids.first().copied(),
            ids_answered: ids,
            duplicate: true,
            cancelled: false,
            problems: Vec::new(),
        };
        // Same order twice; two orders; one POST of the two never accepted.
        let check = duplicates_share_an_order(&[
            outcome(vec![a, a]),
            outcome(vec![a, b]),
            outcome(vec![a]),
        ]);
        assert_eq!(check.checked, 3);
        assert_eq!(check.violations.len(), 2, "{:?}", check.violations);
    }

    #[test]
    fn no_answer_is_excused_only_while_the_api_was_down_and_a_500_never() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let down = [(at(100), at(200))];
        let exchange = |sent, ended, answer| Exchange {
            sent: at(sent),
            ended: at(ended),
            answer,
        };
        let exchanges = [
            // In flight when the API was killed, and sent while it was down.
            exchange(90, 110, Answer::None("reset".to_owned())),
            exchange(150, 160, Answer::None("refused".to_owned())),
            // The API was up: violations.
            exchange(300, 310, Answer::None("refused".to_owned())),
            exchange(300, 310, Answer::Status(500)),
            // A 503 is an answer (to retry).
            exchange(300, 310, Answer::Status(503)),
        ];
        let check = api_answered(&exchanges, &down);
        assert_eq!(check.checked, 5);
        assert_eq!(check.violations.len(), 2, "{:?}", check.violations);
    }
}
