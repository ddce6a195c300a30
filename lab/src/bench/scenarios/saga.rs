//! `saga`: orders from POST to `completed` through the API, the workers and
//! the mock gateway, placed open loop at fixed rates stepped up until one is
//! not sustained; the maximum sustained rate is the result, as a ratio of
//! the `saga` ceiling. Over the same window it reports what the database did
//! per completed order and who used the CPU (see `db_work`).

use std::time::Duration;

use sqlx::PgPool;

use super::saga_system::{WARM_UP, start_saga};
use super::{finish, prepare};
use crate::bench::ceiling::SAGA;
use crate::bench::db_work::{WorkCounters, enable_statement_counts};
use crate::bench::load::{Placements, completion_latencies, percentile};
use crate::bench::progress::bar;
use crate::bench::report::{Measure, Target};
use crate::bench::{Bench, ScenarioResult};
use testkit::queue::drained;

/// The p99 POST → completed above which a rate does not count as sustained.
pub const P99_BOUND_MS: f64 = 100.0;
/// The share of the offered rate that must complete for it to count.
const KEEPS_UP: f64 = 0.95;
/// How long a step's orders may take to finish after its last POST.
const SETTLE: Duration = Duration::from_secs(120);

/// One rate's result.
pub struct Step {
    pub rate: f64,
    pub completed_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub refused: u64,
    pub settled: bool,
}

impl Step {
    pub fn sustained(&self) -> bool {
        self.settled
            && self.refused == 0
            && self.completed_per_sec >= KEEPS_UP * self.rate
            && self.p99_ms <= P99_BOUND_MS
    }
}

/// Reads a load step's completions back.
pub async fn measure_step(pool: &PgPool, rate: f64, load: &Placements) -> anyhow::Result<Step> {
    let settled = drained(pool, SETTLE).await?.is_some();
    let completions = completion_latencies(pool, &load.placed).await?;
    let first_sent = load.placed.iter().map(|p| p.sent_at).min();
    let last_done = completions.iter().map(|(at, _)| *at).max();
    let span = match (first_sent, last_done) {
        (Some(first), Some(last)) => (last - first).num_microseconds().unwrap_or(0) as f64 / 1e6,
        _ => 0.0,
    };
    let mut latencies: Vec<f64> = completions.iter().map(|(_, ms)| *ms).collect();
    Ok(Step {
        rate,
        completed_per_sec: if span > 0.0 {
            latencies.len() as f64 / span
        } else {
            0.0
        },
        p50_ms: percentile(&mut latencies, 50.0),
        p99_ms: percentile(&mut latencies, 99.0),
        refused: load.refused + (load.placed.len() - latencies.len()) as u64,
        settled,
    })
}

pub async fn run(bench: &Bench) -> anyhow::Result<ScenarioResult> {
    let (db, pool, mut system) = prepare(bench, "saga").await?;
    let no_statement_counts = enable_statement_counts(&pool).await;
    let shop = start_saga(bench, &pool, &mut system, &[]).await?;
    let seconds = Duration::from_secs(bench.args.seconds);
    let mut measures = Vec::new();
    let mut best: Option<Step> = None;
    // Warm up (connections opened, statements prepared) at the first rate.
    let first_rate = bench.args.rates.first().copied().unwrap_or(100.0);
    let warm_up = shop
        .open_loop(first_rate, WARM_UP, 0, &indicatif::ProgressBar::hidden())
        .await;
    drained(&pool, SETTLE).await?;
    let mut sent = warm_up.placed.len() as u64 + warm_up.refused;
    let before = WorkCounters::read(&pool, &system.pids()).await?;
    for &rate in &bench.args.rates {
        let progress = bench.progress.add(bar(
            (rate * seconds.as_secs_f64()) as u64,
            format!("saga: {rate} orders/s"),
        ));
        let load = shop.open_loop(rate, seconds, sent, &progress).await;
        sent += load.placed.len() as u64 + load.refused;
        progress.finish_and_clear();
        let step = measure_step(&pool, rate, &load).await?;
        system.sample_memory();
        let verdict = if step.sustained() {
            ""
        } else {
            " (not sustained)"
        };
        measures.push(Measure::new(
            format!("@{rate}/s completed{verdict}"),
            step.completed_per_sec,
            "orders/s",
        ));
        measures.push(Measure::new(
            format!("@{rate}/s p99 POST → completed"),
            step.p99_ms,
            "ms",
        ));
        if step.refused > 0 {
            measures.push(Measure::new(
                format!("@{rate}/s refused or unfinished"),
                step.refused as f64,
                "orders",
            ));
        }
        if !step.sustained() {
            break;
        }
        best = Some(step);
    }
    let after = WorkCounters::read(&pool, &system.pids()).await?;
    let (max_rate, p50, p99) =
        best.map_or((0.0, f64::NAN, f64::NAN), |s| (s.rate, s.p50_ms, s.p99_ms));
    measures.push(
        Measure::new("max sustained rate", max_rate, "orders/s")
            .of_ceiling(&bench.ceiling, SAGA)
            .target(Target::RatioAtLeast(0.60)),
    );
    measures.push(Measure::new("p50 at max sustained", p50, "ms"));
    measures
        .push(Measure::new("p99 at max sustained", p99, "ms").target(Target::AtMost(P99_BOUND_MS)));
    measures.extend(after.per_order_since(&before, no_statement_counts.as_deref()));
    let peak_rss_mb = finish("saga", db, pool, system).await?;
    for (process, mb) in peak_rss_mb.iter().filter(|(p, _)| !p.ends_with("/gateway")) {
        measures.push(
            Measure::new(format!("peak RSS {process}"), *mb, "MB").target(Target::AtMost(50.0)),
        );
    }
    Ok(ScenarioResult {
        measures,
        peak_rss_mb,
        details: None,
    })
}
