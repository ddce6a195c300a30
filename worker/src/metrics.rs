//! The worker's Prometheus metrics, named in one place. The binary installs
//! the recorder and serves `/metrics`; without one, these are no-ops.

/// A claim handed this worker `count` tasks of `kind`.
pub(crate) fn claimed(kind: &str) {
    metrics::counter!("asynccheckout_tasks_claimed_total", "kind" => kind.to_owned()).increment(1);
}

/// How an attempt ended, for the counters and the duration histogram.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Finish {
    Succeeded,
    Retried,
    Dead,
    /// The lease was lost (or the outcome could not be written): someone
    /// else finishes the task.
    Abandoned,
}

impl Finish {
    fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Retried => "retried",
            Self::Dead => "dead",
            Self::Abandoned => "abandoned",
        }
    }
}

pub(crate) fn finished(kind: &str, finish: Finish, seconds: f64) {
    let name = match finish {
        Finish::Succeeded => "asynccheckout_tasks_succeeded_total",
        Finish::Retried => "asynccheckout_tasks_retried_total",
        Finish::Dead => "asynccheckout_tasks_dead_total",
        Finish::Abandoned => "asynccheckout_tasks_abandoned_total",
    };
    metrics::counter!(name, "kind" => kind.to_owned()).increment(1);
    metrics::histogram!(
        "asynccheckout_step_duration_seconds",
        "kind" => kind.to_owned(),
        "outcome" => finish.as_str()
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
