//! `asynccheckout dev`: the whole system in one process, for development.
//!
//! For now that is the database bootstrap, the migrations and a worker; the
//! API, the mock gateway and the demo catalog join with the order saga.

use worker::{Worker, WorkerConfig};

use crate::cli::DatabaseArgs;
use crate::{database, shutdown};

pub async fn run(args: DatabaseArgs, config: WorkerConfig) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal()?;
    let db = database::open(&args, "asynccheckout-dev").await?;
    let worker = Worker::new(db.pool.clone(), super::worker::registry(), config);
    // The one line scripts wait for (shared/spec/config.md); the API fields
    // join it when the API exists.
    println!(
        "ready worker={} (the API arrives with the order saga; no key is needed yet)",
        worker.id()
    );
    worker.run(shutdown).await?;
    db.pool.close().await;
    Ok(())
}
