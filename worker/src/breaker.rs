//! Circuit breakers, one per downstream (the payment gateway, the mail
//! server), so that a downstream that is down is not hammered and its steps
//! do not burn their retries against it.
//!
//! Each client records how its calls went in the downstream's [`CallHealth`]:
//! an answer (yes or no) is a success, unavailability (timeout, reset, 5xx,
//! 429) a failure. Every [`WATCH_EVERY`] ([`WATCH_EVERY_WHILE_OPEN`] while a
//! breaker is open), and at once after a failure, the watcher of each
//! worker:
//!
//! - opens the downstream's breaker when its calls in the last window
//!   failed at the configured rate or more (at least the minimum number of
//!   calls). The breaker is a row shared by all workers
//!   (`shared::queue::breakers`): from then on no worker claims a task of
//!   its kinds, and those tasks wait without spending an attempt;
//! - lets a probe through once per cool-down: the fetchers that run the
//!   breaker's kinds are poked, and the first to claim one
//!   (`shared::queue::claim_probe`) runs it;
//! - closes the breaker when a call got through since it saw the breaker
//!   open (the probe, or a call that was in flight), and the tasks it held
//!   are claimed again at once;
//! - refreshes its view of every breaker, which the metrics show
//!   (`asynccheckout_circuit_breaker_open{downstream}`).
//!
//! With breakers off (`CIRCUIT_BREAKER=false`) nothing opens, and steps
//! retry by their own schedules alone; a worker started so closes any
//! breaker left open.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use shared::db::Session;
use shared::queue::breakers::{self, Breaker};
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::wakeup::Wake;

/// How often a worker's watcher looks at its downstreams and the breakers
/// while every breaker is closed (a failed call wakes it at once anyway):
/// a statement a second per worker, 0.03 per order at 150 orders/s.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// How often it looks while a breaker is open: its probes are due on time.
const WATCH_EVERY_WHILE_OPEN: Duration = Duration::from_millis(250);

/// When breakers open, and how they probe.
#[derive(Debug, Clone, clap::Args)]
pub struct BreakerConfig {
    /// Open a downstream's circuit breaker when its calls fail with
    /// unavailability at `BREAKER_FAILURE_RATE` or more; `false` turns
    /// breakers off (steps then retry by their own schedules alone).
    #[arg(long, env = "CIRCUIT_BREAKER", default_value_t = true, action = clap::ArgAction::Set)]
    pub circuit_breaker: bool,
    /// The share of a downstream's calls, in the window, that must fail for
    /// its breaker to open.
    #[arg(long, env = "BREAKER_FAILURE_RATE", default_value_t = 0.5, value_parser = failure_rate)]
    pub breaker_failure_rate: f64,
    /// The fewest calls in the window that can open a breaker.
    #[arg(long, env = "BREAKER_MIN_CALLS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub breaker_min_calls: u32,
    /// How far back, in seconds, a worker counts a downstream's calls.
    #[arg(long, env = "BREAKER_WINDOW_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub breaker_window_secs: u64,
    /// Seconds between probes while a breaker is open.
    #[arg(long, env = "BREAKER_COOL_DOWN_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub breaker_cool_down_secs: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            circuit_breaker: true,
            breaker_failure_rate: 0.5,
            breaker_min_calls: 10,
            breaker_window_secs: 30,
            breaker_cool_down_secs: 30,
        }
    }
}

impl BreakerConfig {
    pub fn cool_down(&self) -> Duration {
        Duration::from_secs(self.breaker_cool_down_secs)
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.breaker_window_secs)
    }
}

fn failure_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate > 0.0 && rate <= 1.0 => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a share of calls: give a number above 0 and at most 1, e.g. 0.5"
        )),
    }
}

/// How the calls to one downstream went lately, as its client recorded
/// them. Cheap to record into from any task.
#[derive(Debug)]
pub struct CallHealth {
    window: Duration,
    calls: Mutex<Calls>,
    /// Pokes the watcher at each failure, so that a breaker opens at once
    /// rather than at its next look, while retries are fast.
    failed: Arc<Notify>,
}

#[derive(Debug, Default)]
struct Calls {
    /// When each recent call ended, and whether it got an answer.
    recent: VecDeque<(Instant, bool)>,
    last_failure: Option<String>,
    last_success: Option<Instant>,
}

impl CallHealth {
    fn new(window: Duration, failed: Arc<Notify>) -> Self {
        Self {
            window,
            calls: Mutex::default(),
            failed,
        }
    }

    /// A call that got an answer (a yes or a definite no).
    pub fn answered(&self) {
        let now = Instant::now();
        let mut calls = self.lock();
        calls.last_success = Some(now);
        calls.recent.push_back((now, true));
        self.forget_old(&mut calls, now);
    }

    /// A call that got no usable answer, for `reason`.
    pub fn unavailable(&self, reason: &str) {
        let now = Instant::now();
        let mut calls = self.lock();
        calls.last_failure = Some(reason.to_owned());
        calls.recent.push_back((now, false));
        self.forget_old(&mut calls, now);
        drop(calls);
        self.failed.notify_one();
    }

    /// Why the breaker should open, when the calls in the window failed at
    /// `rate` or more and there were at least `min_calls` of them.
    fn verdict(&self, rate: f64, min_calls: u32) -> Option<String> {
        let mut calls = self.lock();
        self.forget_old(&mut calls, Instant::now());
        let total = calls.recent.len();
        let failed = calls.recent.iter().filter(|(_, ok)| !ok).count();
        let enough = total >= min_calls as usize && failed as f64 >= rate * total as f64;
        enough.then(|| {
            format!(
                "{failed} of the last {total} calls failed in {} s; the last: {}",
                self.window.as_secs(),
                calls.last_failure.as_deref().unwrap_or("unknown")
            )
        })
    }

    /// Whether a call got an answer after `since`.
    fn answered_since(&self, since: Instant) -> bool {
        self.lock().last_success.is_some_and(|at| at > since)
    }

    /// Forgets every call: a breaker that opened or closed starts afresh.
    fn reset(&self) {
        let mut calls = self.lock();
        calls.recent.clear();
        calls.last_failure = None;
    }

    fn forget_old(&self, calls: &mut Calls, now: Instant) {
        while calls
            .recent
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > self.window)
        {
            calls.recent.pop_front();
        }
    }

    /// Nothing under the lock can panic; a poisoned lock is used as it is.
    fn lock(&self) -> MutexGuard<'_, Calls> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One downstream: its name, the kinds whose steps call it, its calls.
#[derive(Debug)]
struct Downstream {
    name: String,
    kinds: Vec<String>,
    health: Arc<CallHealth>,
}

/// The breakers of one worker process: its downstreams, and its view of the
/// shared breakers.
#[derive(Debug)]
pub struct Breakers {
    config: BreakerConfig,
    downstreams: Vec<Downstream>,
    /// Each breaker as last read, and when this worker first saw it open.
    seen: Mutex<HashMap<String, (Breaker, Option<Instant>)>>,
    /// Poked by every failed call.
    failed: Arc<Notify>,
}

impl Breakers {
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            downstreams: Vec::new(),
            seen: Mutex::default(),
            failed: Arc::new(Notify::new()),
        }
    }

    /// Adds the downstream `name`, called by the steps of `kinds`; returns
    /// the health its client records into.
    pub fn downstream(&mut self, name: &str, kinds: &[&str]) -> Arc<CallHealth> {
        let health = Arc::new(CallHealth::new(
            self.config.window(),
            Arc::clone(&self.failed),
        ));
        self.downstreams.push(Downstream {
            name: name.to_owned(),
            kinds: kinds.iter().map(|&k| k.to_owned()).collect(),
            health: Arc::clone(&health),
        });
        health
    }

    pub fn enabled(&self) -> bool {
        self.config.circuit_breaker
    }

    pub(crate) fn cool_down(&self) -> Duration {
        self.config.cool_down()
    }

    /// Whether any breaker was open when last read.
    fn any_open(&self) -> bool {
        self.lock_seen().values().any(|(b, _)| b.open)
    }

    /// The open breakers whose probe is due and whose kinds are among
    /// `kinds`, as (downstream, its kinds among `kinds`).
    pub(crate) fn probes_due(&self, kinds: &[String]) -> Vec<(String, Vec<String>)> {
        let now = chrono::Utc::now();
        self.lock_seen()
            .values()
            .filter(|(b, _)| b.open && b.probe_at.is_some_and(|at| at <= now))
            .map(|(b, _)| {
                let ours = b.kinds.iter().filter(|k| kinds.contains(k)).cloned();
                (b.downstream.clone(), ours.collect::<Vec<_>>())
            })
            .filter(|(_, ours)| !ours.is_empty())
            .collect()
    }

    fn lock_seen(&self) -> MutexGuard<'_, HashMap<String, (Breaker, Option<Instant>)>> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One look: opens and closes breakers by what the calls say, reads
    /// them all back, and pokes the fetchers when a probe is due.
    async fn look(&self, pool: &PgPool, wake: &Wake) -> Result<(), sqlx::Error> {
        let mut conn = Session::acquire(pool).await?;
        for downstream in &self.downstreams {
            let seen_open_since = self
                .lock_seen()
                .get(&downstream.name)
                .and_then(|(b, since)| b.open.then_some(*since).flatten());
            match seen_open_since {
                None => {
                    let verdict = downstream.health.verdict(
                        self.config.breaker_failure_rate,
                        self.config.breaker_min_calls,
                    );
                    if let Some(reason) = verdict {
                        let cool_down = self.config.cool_down();
                        let kinds = &downstream.kinds;
                        if breakers::open(&mut conn, &downstream.name, kinds, cool_down, &reason)
                            .await?
                        {
                            tracing::warn!(downstream = %downstream.name, %reason, ?kinds, cool_down_secs = cool_down.as_secs(), "circuit breaker opened: its steps wait, and one probe goes every cool-down");
                        }
                        downstream.health.reset();
                    }
                }
                Some(since) if downstream.health.answered_since(since) => {
                    if breakers::close(&mut conn, &downstream.name).await? {
                        tracing::info!(downstream = %downstream.name, "circuit breaker closed: a call got through; its steps run again");
                    }
                    downstream.health.reset();
                }
                Some(_) => {}
            }
        }
        let read = breakers::list(&mut conn).await?;
        conn.finish().await?;
        let now = Instant::now();
        let mut seen = self.lock_seen();
        for breaker in read {
            let since = match seen.get(&breaker.downstream) {
                Some((before, since)) if before.open && breaker.open => *since,
                _ => breaker.open.then_some(now),
            };
            metrics::gauge!("asynccheckout_circuit_breaker_open", "downstream" => breaker.downstream.clone())
                .set(if breaker.open { 1.0 } else { 0.0 });
            seen.insert(breaker.downstream.clone(), (breaker, since));
        }
        let due = chrono::Utc::now();
        for (breaker, _) in seen.values() {
            if breaker.open && breaker.probe_at.is_some_and(|at| at <= due) {
                for kind in &breaker.kinds {
                    wake.notify_for(kind);
                }
            }
        }
        Ok(())
    }
}

/// With breakers off, closes any left open (by this deployment before they
/// were turned off): nothing would ever probe or close them, and they would
/// hold their kinds for good. Breakers are meant to be on or off on every
/// worker alike.
async fn close_every_breaker(pool: &PgPool) {
    let closed = async {
        let mut conn = Session::acquire(pool).await?;
        let mut closed = Vec::new();
        for breaker in breakers::list(&mut conn).await? {
            if breaker.open && breakers::close(&mut conn, &breaker.downstream).await? {
                closed.push(breaker.downstream);
            }
        }
        conn.finish().await?;
        Ok::<_, sqlx::Error>(closed)
    };
    match closed.await {
        Ok(closed) if !closed.is_empty() => {
            tracing::warn!(
                ?closed,
                "circuit breakers are off: closed the ones left open"
            );
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "circuit breakers are off, and those left open could not be closed")
        }
    }
}

/// Watches the breakers until `stop` fires (see the module's docs).
pub(crate) async fn watch(
    pool: PgPool,
    breakers: Arc<Breakers>,
    wake: Wake,
    stop: CancellationToken,
) {
    if !breakers.enabled() {
        close_every_breaker(&pool).await;
        return;
    }
    if breakers.downstreams.is_empty() {
        return;
    }
    let mut failing = false;
    loop {
        match breakers.look(&pool, &wake).await {
            Ok(()) => failing = false,
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "cannot read or write the circuit breakers; trying again");
            }
            Err(_) => {}
        }
        let every = if breakers.any_open() {
            WATCH_EVERY_WHILE_OPEN
        } else {
            WATCH_EVERY
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = breakers.failed.notified() => {}
            _ = tokio::time::sleep(every) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_needs_enough_calls_failing_at_the_rate() {
        let health = CallHealth::new(Duration::from_secs(30), Arc::default());
        for _ in 0..4 {
            health.unavailable("timed out");
        }
        assert_eq!(health.verdict(0.5, 5), None, "four calls are too few");
        health.answered();
        let reason = health.verdict(0.5, 5).expect("4 of 5 failed");
        assert!(
            reason.contains("4 of the last 5") && reason.contains("timed out"),
            "{reason}"
        );
        for _ in 0..4 {
            health.answered();
        }
        assert_eq!(health.verdict(0.5, 5), None, "4 of 9 is under half");
        health.reset();
        assert_eq!(health.verdict(0.5, 1), None, "reset forgets every call");
    }

    #[test]
    fn calls_older_than_the_window_are_forgotten() {
        let health = CallHealth::new(Duration::from_millis(1), Arc::default());
        health.unavailable("refused");
        let until = Instant::now() + Duration::from_secs(5);
        while health.verdict(0.5, 1).is_some() {
            assert!(Instant::now() < until, "the failure was never forgotten");
            std::thread::yield_now();
        }
    }

    #[test]
    fn an_answer_after_the_breaker_opened_is_seen() {
        let health = CallHealth::new(Duration::from_secs(30), Arc::default());
        let opened = Instant::now();
        assert!(!health.answered_since(opened));
        health.answered();
        assert!(health.answered_since(opened));
    }

    #[test]
    fn a_failure_rate_is_a_share_above_zero() {
        assert_eq!(failure_rate("0.5"), Ok(0.5));
        assert!(failure_rate("0").is_err());
        assert!(failure_rate("1.5").is_err());
        assert!(failure_rate("half").is_err());
    }
}
