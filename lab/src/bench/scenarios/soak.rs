//! `soak`: the saga at a fixed rate for a long time (30 minutes documented,
//! below `saga`'s maximum), with completed tasks pruned as they would be
//! in production: throughput and p99 per window, and the tasks table's size
//! and dead tuples over time.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use super::saga_system::start_saga;
use super::{finish, prepare};
use crate::bench::ceiling::API_WRITE;
use crate::bench::load::{completion_latencies, percentile};
use crate::bench::progress::bar;
use crate::bench::report::{Measure, Target};
use crate::bench::{Bench, ScenarioResult};
use testkit::queue::drained;

/// One sample of the tasks table.
#[derive(Debug, Clone, Serialize)]
struct TableSample {
    at: DateTime<Utc>,
    total_bytes: i64,
    live_tuples: i64,
    dead_tuples: i64,
}

async fn sample_table(pool: &PgPool) -> anyhow::Result<TableSample> {
    let (total_bytes, live_tuples, dead_tuples): (i64, i64, i64) = sqlx::query_as(
        "SELECT pg_total_relation_size('tasks'), n_live_tup, n_dead_tup
         FROM pg_stat_user_tables WHERE relname = 'tasks'",
    )
    .fetch_one(pool)
    .await?;
    Ok(TableSample {
        at: Utc::now(),
        total_bytes,
        live_tuples,
        dead_tuples,
    })
}

pub async fn run(bench: &Bench) -> anyhow::Result<ScenarioResult> {
    let (db, pool, mut system) = prepare(bench, "soak").await?;
    // Completed tasks are pruned at each retention pass (every minute)
    // rather than kept for a week, so the soak shows the table bounded.
    let prune_at_once = [("TASK_RETENTION_HOURS", "0".to_owned())];
    let shop = start_saga(bench, &pool, &mut system, &prune_at_once).await?;
    let duration = Duration::from_secs_f64(bench.args.soak_minutes * 60.0);
    let window = (duration / 6).min(Duration::from_secs(300));
    let rate = bench.args.soak_rate;
    let progress = bench.progress.add(bar(
        (rate * duration.as_secs_f64()) as u64,
        format!("soak: {rate} orders/s"),
    ));
    let loader = {
        let shop = shop.clone();
        let progress = progress.clone();
        tokio::spawn(async move { shop.open_loop(rate, duration, 0, &progress).await })
    };
    let started = Utc::now();
    let mut samples = vec![sample_table(&pool).await?];
    let sample_every = (duration / 30).max(Duration::from_secs(1));
    while !loader.is_finished() {
        tokio::time::sleep(sample_every).await;
        samples.push(sample_table(&pool).await?);
        system.sample_memory();
    }
    let load = loader.await?;
    progress.finish_and_clear();
    drained(&pool, Duration::from_secs(120)).await?;
    samples.push(sample_table(&pool).await?);
    let completions = completion_latencies(&pool, &load.placed).await?;

    // Throughput by completion time, p99 by completion time, per window.
    let window_secs = window.as_secs_f64();
    let windows = (duration.as_secs_f64() / window_secs).floor().max(1.0) as usize;
    let mut per_window: Vec<Vec<f64>> = vec![Vec::new(); windows];
    for (at, ms) in &completions {
        let offset = (*at - started).num_milliseconds() as f64 / 1e3;
        if offset >= 0.0 {
            let w = (offset / window_secs) as usize;
            if w < windows {
                per_window[w].push(*ms);
            }
        }
    }
    let throughput: Vec<f64> = per_window
        .iter()
        .map(|w| w.len() as f64 / window_secs)
        .collect();
    let first = throughput.first().copied().unwrap_or(0.0);
    let last = throughput.last().copied().unwrap_or(0.0);
    let mut measures = vec![
        Measure::new("offered rate", rate, "orders/s").of_ceiling(&bench.ceiling, API_WRITE),
        Measure::new("completed, first window", first, "orders/s"),
        Measure::new("completed, last window", last, "orders/s"),
        Measure::new(
            "last window / first window",
            if first > 0.0 { last / first } else { 0.0 },
            "ratio",
        )
        .target(Target::AtLeast(0.90)),
    ];
    for (i, latencies) in per_window.iter_mut().enumerate() {
        measures.push(Measure::new(
            format!("p99 POST → completed, window {}", i + 1),
            percentile(latencies, 99.0),
            "ms",
        ));
    }
    let max_bytes = samples.iter().map(|s| s.total_bytes).max().unwrap_or(0);
    let third = samples.len() / 3;
    let max_after_first_third = samples[third..]
        .iter()
        .map(|s| s.total_bytes)
        .max()
        .unwrap_or(0);
    let max_in_first_two_thirds = samples[..(2 * third).max(1)]
        .iter()
        .map(|s| s.total_bytes)
        .max()
        .unwrap_or(0);
    measures.push(Measure::new(
        "tasks table, largest",
        max_bytes as f64 / 1_048_576.0,
        "MB",
    ));
    measures.push(Measure::new(
        "tasks table, last third vs first two",
        max_after_first_third as f64 / (max_in_first_two_thirds.max(1)) as f64,
        "ratio",
    ));
    measures.push(Measure::new(
        "dead tuples, largest",
        samples.iter().map(|s| s.dead_tuples).max().unwrap_or(0) as f64,
        "rows",
    ));
    measures.push(
        Measure::new("refused (not 202)", load.refused as f64, "requests")
            .target(Target::AtMost(0.0)),
    );
    let details = serde_json::json!({
        "window_secs": window_secs,
        "completed_per_sec_by_window": throughput,
        "tasks_table": samples,
    });
    let peak_rss_mb = finish("soak", db, pool, system).await?;
    Ok(ScenarioResult {
        measures,
        peak_rss_mb,
        details: Some(details),
    })
}
