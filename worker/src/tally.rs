//! What this process's workers did, by kind, since the last time it was
//! added to the queue's minutes (`shared::queue::minutes`), for the
//! console's last-hour charts. Counting is a brief lock in memory; the
//! registry's heartbeat ([`crate::presence`]) writes it out, so no step
//! ever waits on the database for it.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Duration;

use shared::queue::minutes::KindTally;

use crate::outcome::StepOutcome;

static TALLY: LazyLock<Mutex<HashMap<String, KindTally>>> = LazyLock::new(Mutex::default);

fn with_kind(kind: &str, change: impl FnOnce(&mut KindTally)) {
    let mut tally = TALLY.lock().unwrap_or_else(PoisonError::into_inner);
    match tally.get_mut(kind) {
        Some(counts) => change(counts),
        None => change(tally.entry(kind.to_owned()).or_default()),
    }
}

/// A task's first attempt started, `waited` after it was enqueued.
pub(crate) fn started(kind: &str, waited: Duration) {
    let waited_ms = i64::try_from(waited.as_millis()).unwrap_or(i64::MAX);
    with_kind(kind, |counts| {
        counts.started += 1;
        counts.wait_ms_total = counts.wait_ms_total.saturating_add(waited_ms);
        counts.wait_ms_max = counts.wait_ms_max.max(waited_ms);
    });
}

/// An attempt ended with `outcome`.
pub(crate) fn finished(kind: &str, outcome: &StepOutcome) {
    with_kind(kind, |counts| match outcome {
        StepOutcome::Succeeded => counts.succeeded += 1,
        StepOutcome::Retried(_) => counts.retried += 1,
        StepOutcome::Dead(_) => counts.dead += 1,
        // Handed back at shutdown: it runs again elsewhere, and counts there.
        StepOutcome::Abandoned(_) => {}
    });
}

/// Everything counted since the last call, by kind, leaving nothing.
pub(crate) fn take() -> Vec<(String, KindTally)> {
    let mut taken: Vec<_> = TALLY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .drain()
        .filter(|(_, counts)| !counts.is_empty())
        .collect();
    taken.sort_by(|a, b| a.0.cmp(&b.0));
    taken
}

/// Puts counts that could not be written back, to be written next time.
pub(crate) fn restore(unwritten: Vec<(String, KindTally)>) {
    for (kind, lost) in unwritten {
        with_kind(&kind, |counts| counts.absorb(&lost));
    }
}
