//! The system's own record: the queue drained, no process panicked or died,
//! every scheduled fault happened, the API answered as it should under
//! them, slow clients were cut off, and the run produced enough of every
//! case.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

use super::{
    API_HEADER_READ_TIMEOUT, Answer, Check, Evidence, Exchange, MayhemLog, OrderRow,
    RECONNECT_SLACK, TERMINAL,
};

pub(super) fn queue_drained(evidence: &Evidence, orders: &HashMap<Uuid, OrderRow>) -> Check {
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

pub(super) fn no_panics(evidence: &Evidence) -> Check {
    let mut check = Check::new("no process panicked (logs scanned) or exited on its own");
    for exit in &evidence.run.mayhem.exited {
        check.look(Some(exit.clone()));
    }
    for (log, panic) in &evidence.logs {
        check.look(panic.as_ref().map(|line| format!("{log}: {line}")));
    }
    check
}

/// The run proves nothing about a fault that never happened: each scheduled
/// one must have been injected before the load ended.
pub(super) fn faults_happened(mayhem: &MayhemLog) -> Check {
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
pub(super) fn api_answered(exchanges: &[Exchange], mayhem: &MayhemLog) -> Check {
    let mut check = Check::new("the API answered except while killed; 503 only under a fault");
    let overlaps = |windows: &[(Instant, Instant)], sent: Instant, ended: Instant| {
        windows
            .iter()
            .any(|&(down, up)| sent <= up && ended >= down)
    };
    let database_trouble = |sent: Instant, ended: Instant| {
        let slack = |&(down, up): &(Instant, Instant)| (down, up + RECONNECT_SLACK);
        let after_restart: Vec<_> = mayhem.postgres_down.iter().map(slack).collect();
        let after_cut: Vec<_> = mayhem.connections_cut_during.iter().map(slack).collect();
        overlaps(&after_restart, sent, ended) || overlaps(&after_cut, sent, ended)
    };
    let after_api_restart: Vec<_> = mayhem
        .api_down
        .iter()
        .map(|&(down, up)| (down, up + RECONNECT_SLACK))
        .collect();
    for exchange in exchanges {
        let (sent, ended) = (exchange.sent, exchange.ended);
        check.look(match &exchange.answer {
            Answer::Status(503) if database_trouble(sent, ended) => None,
            Answer::Status(503) => Some(format!(
                "answered 503 with no fault to explain it ({})",
                exchange.problem.as_deref().unwrap_or("no problem detail")
            )),
            Answer::Status(status) if *status >= 500 => Some(format!(
                "answered {status} ({})",
                exchange.problem.as_deref().unwrap_or("no problem detail")
            )),
            Answer::Status(_) => None,
            Answer::None(_) if overlaps(&mayhem.api_down, sent, ended) => None,
            // A connection the client pooled before the kill, taken again
            // before it noticed the close (the new API is up within tens
            // of milliseconds): the kill explains it, for a moment after.
            Answer::None(error)
                if stale_connection(error) && overlaps(&after_api_restart, sent, ended) =>
            {
                None
            }
            Answer::None(error) => Some(format!(
                "no answer while the API was up: {error}{}",
                since_restart(&mayhem.api_down, sent)
            )),
        });
    }
    check
}

/// Whether a request failed on a connection closed under it, as one to a
/// killed process is (hyper's words).
fn stale_connection(error: &str) -> bool {
    error.contains("connection closed before message completed")
        || error.contains("Connection reset by peer")
}

/// When the request was sent relative to the API's last restart, for a
/// violation's message.
fn since_restart(api_down: &[(Instant, Instant)], sent: Instant) -> String {
    api_down
        .iter()
        .filter(|&&(_, up)| up <= sent)
        .map(|&(_, up)| sent - up)
        .min()
        .map_or_else(String::new, |after| {
            format!(" (sent {} ms after the API came back)", after.as_millis())
        })
}

/// A check that looked at nothing proves nothing: the run must have
/// produced enough of each case the checks exist for (cancels that landed,
/// duplicate POSTs, refunds, confirmations), in proportion to its size.
pub(super) fn enough_cases(evidence: &Evidence) -> Check {
    let mut check = Check::new("the run produced enough of every case checked");
    let orders = evidence.run.outcomes.len();
    let refunded = evidence
        .orders
        .values()
        .filter(|o| o.status == "refunded")
        .count();
    let cases = [
        (
            "cancels that landed before the payment",
            evidence.run.outcomes.iter().filter(|o| o.cancelled).count(),
            1,
        ),
        (
            "cancels that landed after the payment",
            evidence
                .run
                .outcomes
                .iter()
                .filter(|o| o.cancelled_after_payment)
                .count(),
            1,
        ),
        (
            "duplicate POSTs",
            evidence.run.outcomes.iter().filter(|o| o.duplicate).count(),
            (orders / 100).max(1),
        ),
        ("refunded orders", refunded, (orders / 100).max(1)),
        (
            "holds captured (manual capture)",
            evidence
                .run
                .ledger
                .iter()
                .filter(|e| e.kind == "capture")
                .count(),
            (orders / 10).max(1),
        ),
        (
            "holds voided (manual capture, out of stock)",
            evidence
                .run
                .ledger
                .iter()
                .filter(|e| e.kind == "void")
                .count(),
            (orders / 100).max(1),
        ),
        (
            "webhook requests refused (and so retried)",
            evidence
                .run
                .receivers
                .iter()
                .flat_map(|r| &r.received)
                .filter(|r| !(200..300).contains(&r.answered))
                .count(),
            (orders / 100).max(1),
        ),
        (
            "orders mailed a confirmation",
            evidence.run.mailed.len(),
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

/// How long past the API's header timeout a slowloris connection may live:
/// the close is timed by the server, the seeing of it by a busy client.
const SLOW_CLIENT_SLACK: Duration = Duration::from_secs(5);

pub(super) fn slow_clients_cut_off(evidence: &Evidence) -> Check {
    let mut check = Check::new("slow clients were cut off at the header timeout");
    let attack = evidence.run.slowloris;
    let limit = API_HEADER_READ_TIMEOUT + SLOW_CLIENT_SLACK;
    for after in &attack.closed_after {
        check.look((*after > limit).then(|| {
            format!("a slowloris connection was closed only after {after:.1?}, past {limit:?}")
        }));
    }
    for age in &attack.open_at_stop {
        check.look((*age > limit).then(|| {
            format!("a slowloris connection was still open after {age:.1?}, past {limit:?}")
        }));
    }
    if attack.peak_held > 0 && attack.closed_after.is_empty() {
        check.look(Some(format!(
            "the server closed none of the {} slowloris connections",
            attack.opened
        )));
    }
    check
}
