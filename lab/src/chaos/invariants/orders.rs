//! The orders as shoppers saw them: each accepted one exists and ended,
//! duplicates share an order, cancels that landed hold, the right orders
//! were mailed, and every answer made sense.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::{Check, Evidence, OrderRow, Purchase, TERMINAL};

pub(super) fn accepted_orders_are_terminal(
    evidence: &Evidence,
    orders: &HashMap<Uuid, OrderRow>,
) -> Check {
    let mut check = Check::new("every accepted order exists and is terminal");
    for outcome in evidence.run.outcomes {
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

pub(super) fn no_order_without_a_202(
    evidence: &Evidence,
    orders: &HashMap<Uuid, OrderRow>,
) -> Check {
    let mut check = Check::new("every order in the database was answered 202");
    let answered: HashSet<Uuid> = evidence
        .run
        .outcomes
        .iter()
        .filter_map(|o| o.order)
        .collect();
    for id in orders.keys() {
        check.look((!answered.contains(id)).then(|| format!("order {id} was never answered 202")));
    }
    check
}

pub(super) fn duplicates_share_an_order(outcomes: &[Purchase]) -> Check {
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
pub(super) fn shoppers_answered_sensibly(outcomes: &[Purchase], failures: &[String]) -> Check {
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

/// Every cancel that landed ended `cancelled`: one answered 200 (before the
/// payment started) with nothing at the gateway for the order, one answered
/// 202 (after it) with its money given back (the money and holds checks).
pub(super) fn cancellations_hold(evidence: &Evidence, orders: &HashMap<Uuid, OrderRow>) -> Check {
    let mut check = Check::new("every cancel answered 200 or 202 ended cancelled");
    let at_the_gateway: HashSet<&str> = evidence
        .run
        .ledger
        .iter()
        .filter_map(|e| e.order_id.as_deref())
        .collect();
    let landed = evidence
        .run
        .outcomes
        .iter()
        .filter(|o| o.cancelled || o.cancelled_after_payment);
    for outcome in landed {
        let Some(id) = outcome.order else { continue };
        let status = orders.get(&id).map(|o| o.status.as_str());
        let answer = if outcome.cancelled { 200 } else { 202 };
        check.look(if status != Some("cancelled") {
            Some(format!(
                "order {id} was cancelled ({answer}) and is {status:?}"
            ))
        } else if outcome.cancelled && at_the_gateway.contains(id.to_string().as_str()) {
            Some(format!(
                "order {id} was cancelled before its payment (200), yet the gateway has its money"
            ))
        } else {
            None
        });
    }
    check
}

/// Every completed order was mailed its confirmation (at least once: a crash
/// between sending and recording sends it again), and no other order was.
pub(super) fn confirmations_mailed(evidence: &Evidence, orders: &HashMap<Uuid, OrderRow>) -> Check {
    let mut check = Check::new("confirmation mailed iff completed (at least once)");
    for order in orders.values() {
        let sent = evidence.run.mailed.get(&order.id).copied().unwrap_or(0);
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
