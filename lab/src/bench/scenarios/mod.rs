//! The scenarios, one module each; what they share is here.

mod api;
mod backlog;
mod console;
mod fanout;
mod hostile;
mod latency;
mod saga;
mod saga_system;
mod soak;

use anyhow::Context;
use sqlx::PgPool;

use super::scratch::ScratchDatabase;
use super::{Bench, Scenario, ScenarioResult};
use testkit::system::System;

pub use api::CONNECTIONS as API_CONNECTIONS;

pub async fn run(scenario: Scenario, bench: &Bench) -> anyhow::Result<ScenarioResult> {
    match scenario {
        // Measured before any scenario runs; nothing more to do.
        Scenario::Ceiling | Scenario::All => Ok(ScenarioResult::default()),
        Scenario::Queue => backlog::queue(bench).await,
        Scenario::Chain => backlog::chain(bench).await,
        Scenario::Api => api::run(bench).await,
        Scenario::Latency => latency::run(bench).await,
        Scenario::Saga => saga::run(bench).await,
        Scenario::Soak => soak::run(bench).await,
        Scenario::Hostile => hostile::run(bench).await,
        Scenario::Fanout => fanout::run(bench).await,
        Scenario::Console => console::run(bench).await,
    }
}

/// A scratch database with the schema applied, a pool to it, and a system
/// whose processes log under `label`.
async fn prepare(bench: &Bench, label: &str) -> anyhow::Result<(ScratchDatabase, PgPool, System)> {
    let db = ScratchDatabase::create(&bench.server_url, "bench").await?;
    let pool = db.pool(4).await?;
    shared::MIGRATOR
        .run(&pool)
        .await
        .context("applying the migrations to the scratch database")?;
    let system = System::new(&bench.product, &db.url, &bench.logs.join(label))?;
    Ok((db, pool, system))
}

/// Stops the system, closes the pool and drops the database; returns the
/// processes' peak memory, named `label/<process>`.
async fn finish(
    label: &str,
    db: ScratchDatabase,
    pool: PgPool,
    mut system: System,
) -> anyhow::Result<std::collections::BTreeMap<String, f64>> {
    let peaks = system
        .peak_rss_mb()
        .into_iter()
        .map(|(process, mb)| (format!("{label}/{process}"), mb))
        .collect();
    system.stop("").await;
    pool.close().await;
    db.drop_now().await?;
    Ok(peaks)
}
