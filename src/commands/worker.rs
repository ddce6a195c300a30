//! `asynccheckout worker`: run steps from the queue until SIGTERM/SIGINT.

use worker::{NoopHandler, Registry, Worker, WorkerConfig};

use crate::cli::DatabaseArgs;
use crate::{database, shutdown};

pub async fn run(args: DatabaseArgs, config: WorkerConfig) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal()?;
    let db = database::open(&args, "asynccheckout-worker").await?;
    Worker::new(db.pool.clone(), registry(), config)
        .run(shutdown)
        .await?;
    db.pool.close().await;
    Ok(())
}

/// Every step handler this binary's workers run.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register(NoopHandler::KIND, NoopHandler);
    registry
}
