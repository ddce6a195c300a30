//! The summary a chaos run prints: orders by outcome, the faults injected,
//! the invariants checked, and how long the system took to settle.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use mock_gateway::Injected;
use testkit::slowloris::SlowlorisRecord;

use super::invariants::Check;
use super::mayhem::MayhemLog;
use super::shoppers::{Answer, Exchange, Purchase};

/// Violations shown per check; the rest are counted.
const SHOWN: usize = 10;

pub struct Summary<'a> {
    pub orders: u64,
    pub by_status: &'a BTreeMap<String, i64>,
    /// Dead tasks by kind (each one is explained or a violation).
    pub dead_tasks: &'a BTreeMap<String, i64>,
    pub outcomes: &'a [Purchase],
    pub exchanges: &'a [Exchange],
    pub mayhem: &'a MayhemLog,
    pub gateway: Injected,
    pub load_time: Duration,
    /// `None` when the deadline passed first.
    pub quiescence: Option<Duration>,
    pub checks: &'a [Check],
    /// Orders whose confirmation went out twice (allowed: at least once).
    pub mailed_twice: usize,
    /// What the slowloris client saw.
    pub slowloris: &'a SlowlorisRecord,
}

impl Summary<'_> {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let accepted = self.outcomes.iter().filter(|o| o.order.is_some()).count();
        let _ = writeln!(
            out,
            "\nChaos run: {} orders placed in {:.1} s, {accepted} accepted",
            self.orders,
            self.load_time.as_secs_f64()
        );

        let _ = writeln!(out, "\nOrders by outcome");
        let total: i64 = self.by_status.values().sum();
        for (status, count) in self.by_status {
            let share = 100.0 * *count as f64 / total.max(1) as f64;
            let _ = writeln!(out, "  {status:<12} {count:>7}  {share:5.1}%");
        }
        let duplicates = self
            .outcomes
            .iter()
            .filter(|o| o.ids_answered.len() > 1)
            .count();
        let cancelled = self.outcomes.iter().filter(|o| o.cancelled).count();
        let cancelled_later = self
            .outcomes
            .iter()
            .filter(|o| o.cancelled_after_payment)
            .count();
        let _ = writeln!(
            out,
            "  ({duplicates} sent twice with one key; {cancelled} cancels answered 200 \
             and {cancelled_later} answered 202, after the payment; {} confirmations \
             mailed twice)",
            self.mailed_twice
        );

        let dead: Vec<String> = self
            .dead_tasks
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        let _ = writeln!(
            out,
            "  dead tasks: {}",
            if dead.is_empty() {
                "none".to_owned()
            } else {
                dead.join(", ")
            }
        );

        let m = self.mayhem;
        let g = self.gateway;
        let down = |windows: &[(tokio::time::Instant, tokio::time::Instant)]| {
            windows
                .iter()
                .map(|(from, to)| format!("{:.2} s", (*to - *from).as_secs_f64()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let faults = [
            ("gateway 503s", g.unavailable, String::new()),
            ("gateway hangs", g.hangs, String::new()),
            ("gateway lost responses", g.lost_responses, String::new()),
            ("workers SIGKILLed", m.workers_killed, String::new()),
            (
                "all workers down at once",
                m.workers_out.len() as u64,
                format!("(for {})", down(&m.workers_out)),
            ),
            (
                "connections cut",
                m.connections_cut,
                format!(
                    "({} mid-statement or mid-transaction)",
                    m.connections_cut_mid_work
                ),
            ),
            (
                "API SIGKILLed",
                m.api_down.len() as u64,
                format!("(down {})", down(&m.api_down)),
            ),
            (
                if m.postgres_fault.is_empty() {
                    "PostgreSQL crash-restarted"
                } else {
                    m.postgres_fault
                },
                m.postgres_down.len() as u64,
                format!("(down {})", down(&m.postgres_down)),
            ),
        ];
        let _ = writeln!(out, "\nFaults injected");
        for (fault, count, note) in faults {
            let line = format!("  {fault:<28}{count:>7}  {note}");
            let _ = writeln!(out, "{}", line.trim_end());
        }

        let attack = self.slowloris;
        let mut closed: Vec<f64> = attack
            .closed_after
            .iter()
            .map(Duration::as_secs_f64)
            .collect();
        closed.sort_by(f64::total_cmp);
        let at = |share: f64| {
            closed
                .get(((closed.len() as f64 - 1.0) * share).round() as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        let _ = writeln!(
            out,
            "  slowloris: {} connections held at most, {} opened; {} closed by the API after \
             p50 {:.1} s, max {:.1} s",
            attack.peak_held,
            attack.opened,
            closed.len(),
            at(0.5),
            at(1.0)
        );

        let unanswered = self
            .exchanges
            .iter()
            .filter(|e| matches!(e.answer, Answer::None(_)))
            .count();
        let unavailable = self
            .exchanges
            .iter()
            .filter(|e| matches!(e.answer, Answer::Status(503)))
            .count();
        let _ = writeln!(
            out,
            "\nClient requests: {} sent, {unavailable} answered 503, {unanswered} unanswered",
            self.exchanges.len()
        );

        let _ = match self.quiescence {
            Some(took) => writeln!(
                out,
                "Quiescence: {:.1} s after the load and the faults stopped",
                took.as_secs_f64()
            ),
            None => writeln!(out, "Quiescence: NOT reached before the deadline"),
        };

        let _ = writeln!(out, "\nInvariants{:>52}{:>12}", "checked", "violations");
        for check in self.checks {
            let _ = writeln!(
                out,
                "  {:<58}{:>8}{:>12}",
                check.name,
                check.checked,
                check.violations.len()
            );
            for violation in check.violations.iter().take(SHOWN) {
                let _ = writeln!(out, "      ✗ {violation}");
            }
            if check.violations.len() > SHOWN {
                let _ = writeln!(out, "      … and {} more", check.violations.len() - SHOWN);
            }
        }
        out
    }
}
