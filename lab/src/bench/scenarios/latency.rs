//! `latency`: POST → `completed` at a moderate fixed rate on an otherwise
//! idle system (three hops, the gateway call and the email included), and
//! how long each hop waited between its enqueue and its claim.

use std::time::Duration;

use anyhow::bail;

use super::saga_system::{WARM_UP, start_saga};
use super::{finish, prepare};
use crate::bench::load::{completion_latencies, hop_latencies, percentile};
use crate::bench::progress::bar;
use crate::bench::report::{Measure, Target};
use crate::bench::{Bench, ScenarioResult};
use testkit::queue::drained;

pub async fn run(bench: &Bench) -> anyhow::Result<ScenarioResult> {
    let (db, pool, mut system) = prepare(bench, "latency").await?;
    let shop = start_saga(bench, &pool, &mut system, &[]).await?;
    let rate = bench.args.latency_rate;
    let seconds = Duration::from_secs(bench.args.latency_seconds);
    // Warm up (connections opened, statements prepared), then measure.
    shop.open_loop(
        rate,
        WARM_UP,
        1_000_000_000,
        &indicatif::ProgressBar::hidden(),
    )
    .await;
    drained(&pool, Duration::from_secs(60)).await?;
    let progress = bench.progress.add(bar(
        (rate * seconds.as_secs_f64()) as u64,
        format!("latency: {rate} orders/s"),
    ));
    let load = shop.open_loop(rate, seconds, 0, &progress).await;
    progress.finish_and_clear();
    if drained(&pool, Duration::from_secs(60)).await?.is_none() {
        bail!("latency: the orders did not finish within 60 s of the last POST");
    }
    system.sample_memory();
    let mut total: Vec<f64> = completion_latencies(&pool, &load.placed)
        .await?
        .into_iter()
        .map(|(_, ms)| ms)
        .collect();
    let mut post: Vec<f64> = load.placed.iter().map(|p| p.post_ms).collect();
    let mut measures = vec![
        Measure::new("POST → completed p50", percentile(&mut total, 50.0), "ms")
            .target(Target::AtMost(10.0)),
        Measure::new("POST → completed p99", percentile(&mut total, 99.0), "ms")
            .target(Target::AtMost(25.0)),
        Measure::new("POST → completed max", percentile(&mut total, 100.0), "ms"),
        Measure::new("POST answered p50", percentile(&mut post, 50.0), "ms"),
        Measure::new("POST answered p99", percentile(&mut post, 99.0), "ms"),
        Measure::new("orders completed", total.len() as f64, "orders")
            .target(Target::AtLeast(load.placed.len() as f64)),
    ];
    for (kind, p50, p99) in hop_latencies(&pool, &load.placed).await? {
        measures.push(Measure::new(
            format!("enqueue → claim {kind} p50"),
            p50,
            "ms",
        ));
        measures.push(Measure::new(
            format!("enqueue → claim {kind} p99"),
            p99,
            "ms",
        ));
    }
    let peak_rss_mb = finish("latency", db, pool, system).await?;
    Ok(ScenarioResult {
        measures,
        peak_rss_mb,
        details: None,
    })
}
