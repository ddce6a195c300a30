//! `queue` and `chain`: worker processes draining a backlog of no-op tasks
//! inserted before they start, counted by durable completions.

use std::time::Duration;

use anyhow::bail;

use super::{finish, prepare};
use crate::bench::ceiling::{BATCH_100, BATCH_100_PRODUCT};
use crate::bench::progress::bar;
use crate::bench::report::{Measure, Target};
use crate::bench::{Bench, SAMPLE_EVERY, ScenarioResult};

/// Longest a drain may take before the scenario gives up.
const DRAIN_DEADLINE: Duration = Duration::from_secs(1_800);

/// `queue`: a backlog of no-op tasks, one worker process then two.
pub async fn queue(bench: &Bench) -> anyhow::Result<ScenarioResult> {
    let mut outcome = ScenarioResult::default();
    for workers in [1, 2] {
        let label = format!("queue-{workers}w");
        let drain = drain(bench, &label, workers, bench.args.tasks, 0).await?;
        outcome.measures.push(
            Measure::new(
                format!("queue, {workers} worker process(es)"),
                drain.tasks_per_sec,
                "tasks/s",
            )
            .of_ceiling(&bench.ceiling, BATCH_100)
            .target(Target::RatioAtLeast(0.60)),
        );
        outcome.measures.push(
            Measure::new(
                format!("queue, {workers} worker process(es), against its own SQL"),
                drain.tasks_per_sec,
                "tasks/s",
            )
            .of_ceiling(&bench.ceiling, BATCH_100_PRODUCT),
        );
        outcome.peak_rss_mb.extend(drain.peak_rss_mb);
    }
    Ok(outcome)
}

/// `chain`: three-hop chains, each hop enqueued by its predecessor's
/// completion, with one worker process then two.
pub async fn chain(bench: &Bench) -> anyhow::Result<ScenarioResult> {
    let mut outcome = ScenarioResult::default();
    for workers in [1, 2] {
        let label = format!("chain-{workers}w");
        let chains = bench.args.chains;
        let drain = drain(bench, &label, workers, chains, 2).await?;
        let chains_per_sec = drain.tasks_per_sec / 3.0;
        outcome.measures.push(
            Measure::new(
                format!("chain, {workers} worker process(es)"),
                chains_per_sec,
                "chains/s",
            )
            .target(Target::AtLeast(4_500.0)),
        );
        outcome.measures.push(
            Measure::new(
                format!("chain hops, {workers} worker process(es)"),
                drain.tasks_per_sec,
                "tasks/s",
            )
            .of_ceiling(&bench.ceiling, BATCH_100),
        );
        outcome.peak_rss_mb.extend(drain.peak_rss_mb);
    }
    Ok(outcome)
}

struct Drain {
    tasks_per_sec: f64,
    peak_rss_mb: std::collections::BTreeMap<String, f64>,
}

/// Inserts `first` no-op tasks, each starting a chain of `chain` more, then
/// runs `workers` worker processes until every task has completed.
async fn drain(
    bench: &Bench,
    label: &str,
    workers: usize,
    first: u64,
    chain: u64,
) -> anyhow::Result<Drain> {
    let (db, pool, mut system) = prepare(bench, label).await?;
    let total = first * (chain + 1);
    sqlx::query(
        "INSERT INTO tasks (kind, payload, max_attempts)
         SELECT 'noop', jsonb_build_object('chain', $2::bigint), 5 FROM generate_series(1, $1::bigint)",
    )
    .bind(first as i64)
    .bind(chain as i64)
    .execute(&pool)
    .await?;
    sqlx::raw_sql("VACUUM ANALYZE tasks").execute(&pool).await?;
    let progress = bench.progress.add(bar(total, label.to_owned()));
    for i in 0..workers {
        system
            .start_worker(
                i,
                &[
                    (
                        "WORKER_CONCURRENCY",
                        bench.args.worker_concurrency.to_string(),
                    ),
                    ("DATABASE_MAX_CONNECTIONS", "8".to_owned()),
                ],
            )
            .await?;
    }
    let until = tokio::time::Instant::now() + DRAIN_DEADLINE;
    loop {
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks WHERE state = 'completed'")
            .fetch_one(&pool)
            .await?;
        progress.set_position(done as u64);
        system.sample_memory();
        if done as u64 >= total {
            break;
        }
        if tokio::time::Instant::now() > until {
            bail!("{label}: {done} of {total} tasks completed within {DRAIN_DEADLINE:?}");
        }
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    progress.finish();
    // From the first claim to the last commit, by the database's clock.
    let (count, seconds): (i64, f64) = sqlx::query_as(
        "SELECT count(*), extract(epoch FROM max(finished_at) - min(attempted_at))::float8
         FROM tasks WHERE state = 'completed'",
    )
    .fetch_one(&pool)
    .await?;
    let peak_rss_mb = finish(label, db, pool, system).await?;
    Ok(Drain {
        tasks_per_sec: count as f64 / seconds.max(1e-6),
        peak_rss_mb,
    })
}
