//! The worker's Prometheus metrics, named in one place. The binary installs
//! the recorder and serves `/metrics`; without one, these are no-ops. The
//! claims and outcomes are also counted for the console's charts
//! ([`crate::tally`]).

use shared::queue::ClaimedTask;

use crate::outcome::StepOutcome;
use crate::tally;

/// A claim handed this worker `task`.
pub(crate) fn claimed(task: &ClaimedTask) {
    metrics::counter!("asynccheckout_tasks_claimed_total", "kind" => task.kind.clone())
        .increment(1);
    if task.attempt == 1 {
        // The enqueue time is the database's, now is this host's: clocks
        // kept in step (NTP) keep the wait true; a negative one counts as 0.
        let waited = (chrono::Utc::now() - task.created_at)
            .to_std()
            .unwrap_or_default();
        tally::started(&task.kind, waited);
    }
}

/// A claim by `lane`'s fetcher that found nothing due: a wake-up or a poll
/// with no work behind it, one statement spent for nothing.
pub(crate) fn claimed_nothing(lane: &str) {
    metrics::counter!("asynccheckout_empty_claims_total", "lane" => lane.to_owned()).increment(1);
}

/// Counts an attempt's end and records its duration.
pub(crate) fn finished(kind: &str, outcome: &StepOutcome, seconds: f64) {
    let name = match outcome {
        StepOutcome::Succeeded => "asynccheckout_tasks_succeeded_total",
        StepOutcome::Retried(_) => "asynccheckout_tasks_retried_total",
        StepOutcome::Dead(_) => "asynccheckout_tasks_dead_total",
        StepOutcome::Abandoned(_) => "asynccheckout_tasks_abandoned_total",
    };
    metrics::counter!(name, "kind" => kind.to_owned()).increment(1);
    tally::finished(kind, outcome);
    metrics::histogram!(
        "asynccheckout_step_duration_seconds",
        "kind" => kind.to_owned(),
        "outcome" => outcome.label()
    )
    .record(seconds);
}

/// An order compensated because it passed its deadline while `was`.
pub(crate) fn deadline_exceeded(was: shared::orders::OrderStatus) {
    metrics::counter!("asynccheckout_orders_deadline_exceeded_total", "status" => was.as_str())
        .increment(1);
}

pub(crate) fn rescued(kind: &str) {
    metrics::counter!("asynccheckout_lease_rescues_total", "kind" => kind.to_owned()).increment(1);
}

/// The due, unclaimed tasks of `kind` and the wait of the oldest.
pub(crate) fn backlog(kind: &str, due: i64, oldest_wait_secs: f64) {
    metrics::gauge!("asynccheckout_queue_depth", "kind" => kind.to_owned()).set(due as f64);
    metrics::gauge!("asynccheckout_queue_oldest_available_age_seconds", "kind" => kind.to_owned())
        .set(oldest_wait_secs);
}
