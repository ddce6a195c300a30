//! The worker's Prometheus metrics, named in one place. The binary installs
//! the recorder and serves `/metrics`; without one, these are no-ops.

use crate::outcome::StepOutcome;

/// A claim handed this worker `count` tasks of `kind`.
pub(crate) fn claimed(kind: &str) {
    metrics::counter!("asynccheckout_tasks_claimed_total", "kind" => kind.to_owned()).increment(1);
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
    metrics::histogram!(
        "asynccheckout_step_duration_seconds",
        "kind" => kind.to_owned(),
        "outcome" => outcome.label()
    )
    .record(seconds);
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
