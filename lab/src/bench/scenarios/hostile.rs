//! `hostile`: what a slowloris attack costs a well-behaved client. The
//! `latency` load (POST → `completed` at a fixed rate) runs once on a calm
//! system, then again while a slowloris client holds `--slow-connections`
//! connections against the same API process, each sending a header line a
//! second and never finishing. The API keeps its default timeouts; the
//! attack goes on until the API has cut off most of its connections, to
//! measure how soon it does.

use std::time::Duration;

use anyhow::bail;
use sqlx::PgPool;
use testkit::queue::drained;
use testkit::slowloris::Slowloris;
use tokio::time::Instant;

use super::saga_system::{WARM_UP, start_saga};
use super::{finish, prepare};
use crate::bench::load::{Shop, completion_latencies, percentile};
use crate::bench::progress::bar;
use crate::bench::report::{Measure, Target};
use crate::bench::{Bench, SAMPLE_EVERY, ScenarioResult};

/// Longest wait for the attack to hold all its connections, or for the API
/// to cut off most of them.
const ATTACK_DEADLINE: Duration = Duration::from_secs(60);

/// The normal client's latencies in one phase.
struct Phase {
    post_p99: f64,
    completed_p50: f64,
    completed_p99: f64,
    refused: u64,
}

pub async fn run(bench: &Bench) -> anyhow::Result<ScenarioResult> {
    let (db, pool, mut system) = prepare(bench, "hostile").await?;
    let shop = start_saga(bench, &pool, &mut system, &[]).await?;
    shop.open_loop(
        bench.args.latency_rate,
        WARM_UP,
        1_000_000_000,
        &indicatif::ProgressBar::hidden(),
    )
    .await;
    drained(&pool, Duration::from_secs(60)).await?;
    let calm = phase(bench, &shop, &pool, "calm").await?;

    let wanted = bench.args.slow_connections;
    let addr = shop.api.trim_start_matches("http://").parse()?;
    let attack = Slowloris::start(addr, wanted);
    let deadline = Instant::now() + ATTACK_DEADLINE;
    while attack.record().peak_held < wanted {
        if Instant::now() > deadline {
            bail!(
                "hostile: the slowloris client held only {} of {wanted} connections",
                attack.record().peak_held
            );
        }
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    let under_attack = phase(bench, &shop, &pool, "under attack").await?;
    // On until the API has cut off most of the connections opened first.
    while attack.record().closed_after.len() < wanted / 2 && Instant::now() < deadline {
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    system.sample_memory();
    let seen = attack.stop().await;

    let mut closed: Vec<f64> = seen
        .closed_after
        .iter()
        .map(Duration::as_secs_f64)
        .collect();
    let ratio = |attacked: f64, calm: f64| attacked / calm.max(f64::EPSILON);
    let measures = vec![
        Measure::new(
            "slow connections held at once",
            seen.peak_held as f64,
            "conns",
        ),
        Measure::new(
            "slow connections closed by the API",
            closed.len() as f64,
            "conns",
        )
        .target(Target::AtLeast((wanted / 2) as f64)),
        Measure::new("time to close p50", percentile(&mut closed, 50.0), "s"),
        Measure::new("time to close max", percentile(&mut closed, 100.0), "s")
            .target(Target::AtMost(12.0)),
        Measure::new("calm: POST answered p99", calm.post_p99, "ms"),
        Measure::new("attacked: POST answered p99", under_attack.post_p99, "ms"),
        Measure::new("calm: POST → completed p50", calm.completed_p50, "ms"),
        Measure::new(
            "attacked: POST → completed p50",
            under_attack.completed_p50,
            "ms",
        ),
        Measure::new("calm: POST → completed p99", calm.completed_p99, "ms"),
        Measure::new(
            "attacked: POST → completed p99",
            under_attack.completed_p99,
            "ms",
        ),
        Measure::new(
            "attacked ÷ calm, POST → completed p99",
            ratio(under_attack.completed_p99, calm.completed_p99),
            "×",
        )
        .target(Target::AtMost(2.0)),
        Measure::new(
            "orders refused",
            (calm.refused + under_attack.refused) as f64,
            "orders",
        )
        .target(Target::AtMost(0.0)),
    ];
    let peak_rss_mb = finish("hostile", db, pool, system).await?;
    Ok(ScenarioResult {
        measures,
        peak_rss_mb,
        details: None,
    })
}

/// The `latency` load for `--latency-seconds`, measured.
async fn phase(bench: &Bench, shop: &Shop, pool: &PgPool, label: &str) -> anyhow::Result<Phase> {
    let rate = bench.args.latency_rate;
    let seconds = Duration::from_secs(bench.args.latency_seconds);
    let progress = bench.progress.add(bar(
        (rate * seconds.as_secs_f64()) as u64,
        format!("hostile, {label}: {rate} orders/s"),
    ));
    let load = shop.open_loop(rate, seconds, 0, &progress).await;
    progress.finish_and_clear();
    if drained(pool, Duration::from_secs(60)).await?.is_none() {
        bail!("hostile, {label}: the orders did not finish within 60 s of the last POST");
    }
    let mut completed: Vec<f64> = completion_latencies(pool, &load.placed)
        .await?
        .into_iter()
        .map(|(_, ms)| ms)
        .collect();
    let mut post: Vec<f64> = load.placed.iter().map(|p| p.post_ms).collect();
    Ok(Phase {
        post_p99: percentile(&mut post, 99.0),
        completed_p50: percentile(&mut completed, 50.0),
        completed_p99: percentile(&mut completed, 99.0),
        refused: load.refused,
    })
}
