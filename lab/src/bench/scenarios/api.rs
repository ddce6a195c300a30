//! `api`: `POST /v1/orders` alone, from 32 connections, with no workers
//! running: how fast the API writes an order and its first task.

use std::time::Duration;

use super::{finish, prepare};
use crate::bench::ceiling::{self, API_WRITE, API_WRITE_LEAN};
use crate::bench::load::{Shop, percentile};
use crate::bench::progress::spinner;
use crate::bench::report::{Measure, Target};
use crate::bench::{Bench, ScenarioResult};
use testkit::process::admin_key;

pub const CONNECTIONS: usize = 32;
const WARM_UP: Duration = Duration::from_secs(1);

pub async fn run(bench: &Bench) -> anyhow::Result<ScenarioResult> {
    let (db, pool, mut system) = prepare(bench, "api").await?;
    let key = admin_key();
    let api = system.start_api(&key, bench.args.api_connections).await?;
    let shop = Shop::seed(&pool, &api, &key, 100).await?;
    let progress = bench
        .progress
        .add(spinner(format!("api: {CONNECTIONS} connections")));
    shop.closed_loop(CONNECTIONS, WARM_UP, &progress).await;
    progress.set_position(0);
    let load = shop
        .closed_loop(
            CONNECTIONS,
            Duration::from_secs(bench.args.seconds),
            &progress,
        )
        .await;
    progress.finish_and_clear();
    system.sample_memory();
    let mut post_ms: Vec<f64> = load.placed.iter().map(|p| p.post_ms).collect();
    let per_sec = load.placed.len() as f64 / load.elapsed.as_secs_f64();
    let mut measures = vec![
        Measure::new("POST /v1/orders", per_sec, "orders/s")
            .of_ceiling(&bench.ceiling, API_WRITE)
            .target(Target::RatioAtLeast(0.50)),
        // The same rate against the placement's bare bones on a lean schema,
        // the ceiling this target was first set against.
        Measure::new("POST /v1/orders, lean ceiling", per_sec, "orders/s")
            .of_ceiling(&bench.ceiling, API_WRITE_LEAN),
        Measure::new("POST p50", percentile(&mut post_ms, 50.0), "ms"),
        Measure::new("POST p99", percentile(&mut post_ms, 99.0), "ms").target(Target::AtMost(20.0)),
        Measure::new("refused (not 202)", load.refused as f64, "requests")
            .target(Target::AtMost(0.0)),
    ];
    if let Some(first) = &load.first_refusal {
        tracing::warn!(refused = load.refused, first = %first, "the API refused requests");
    }
    let peak_rss_mb = finish("api", db, pool, system).await?;
    // The same placements from the same number of clients with PostgreSQL
    // alone, after the API has stopped: what the latency target is up against.
    let alone =
        ceiling::placements(&bench.server_url, CONNECTIONS as u32, bench.args.seconds).await?;
    measures.extend([
        Measure::new(
            format!("PostgreSQL alone, {CONNECTIONS} clients: placements"),
            alone.per_sec,
            "orders/s",
        ),
        Measure::new(
            format!("PostgreSQL alone, {CONNECTIONS} clients: p50"),
            alone.p50_ms,
            "ms",
        ),
        Measure::new(
            format!("PostgreSQL alone, {CONNECTIONS} clients: p99"),
            alone.p99_ms,
            "ms",
        ),
    ]);
    Ok(ScenarioResult {
        measures,
        peak_rss_mb,
        details: None,
    })
}
