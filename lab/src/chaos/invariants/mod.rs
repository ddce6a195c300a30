//! The checks a chaos run ends with: what must hold once the system is
//! quiet, whatever was killed on the way. Each check judges the evidence
//! (the database's final state, the gateway's ledger, the logs, what the
//! shoppers saw: see [`super::evidence`]), counts what it looked at, and
//! lists its violations. Nothing here reads anything itself.

use std::time::Duration;

mod money;
mod orders;
mod system;
mod webhooks;

use money::{holds_released, money, stock_conserved};
use orders::{
    accepted_orders_are_terminal, cancellations_hold, confirmations_mailed,
    duplicates_share_an_order, no_order_without_a_202, shoppers_answered_sensibly,
};
use system::{
    api_answered, enough_cases, faults_happened, no_panics, queue_drained, slow_clients_cut_off,
};

use webhooks::{
    webhook_events_follow_history, webhook_signatures_verify, webhooks_only_to_subscribers,
    webhooks_reached_subscribers,
};

use super::evidence::{Evidence, LedgerEntry, OrderRow};
use super::mayhem::MayhemLog;
use super::shoppers::{Answer, Exchange, Purchase};

/// How long after a fault a 503 is still explained by it: the pools notice
/// dead connections and open new ones.
const RECONNECT_SLACK: Duration = Duration::from_secs(2);

/// The chaos run's API keeps the default header read timeout
/// (`HEADER_READ_TIMEOUT_SECS`).
pub const API_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

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
        money(evidence.run.ledger, orders),
        holds_released(evidence.run.ledger, orders, chrono::Utc::now()),
        stock_conserved(evidence),
        duplicates_share_an_order(evidence.run.outcomes),
        shoppers_answered_sensibly(evidence.run.outcomes, evidence.run.shopper_failures),
        cancellations_hold(evidence, orders),
        confirmations_mailed(evidence, orders),
        no_panics(evidence),
        faults_happened(evidence.run.mayhem),
        api_answered(evidence.run.exchanges, evidence.run.mayhem),
        slow_clients_cut_off(evidence),
        webhooks_reached_subscribers(&evidence.events, evidence.run.receivers),
        webhooks_only_to_subscribers(&evidence.events, evidence.run.receivers),
        webhook_signatures_verify(evidence.run.receivers),
        webhook_events_follow_history(&evidence.histories, evidence.run.receivers),
        enough_cases(evidence),
    ]
}

#[cfg(test)]
mod tests;
