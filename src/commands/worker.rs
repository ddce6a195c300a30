//! `asynccheckout worker`: run saga steps from the queue until SIGTERM/SIGINT.

use std::sync::Arc;

use anyhow::Context;
use worker::gateway::{GatewayClient, GatewayConfig};
use worker::mailer::{MailConfig, Mailer};
use worker::steps::{self, SagaDeps};
use worker::{NoopHandler, Registry, Worker, WorkerConfig};

use crate::cli::DatabaseArgs;
use crate::{database, shutdown};

pub async fn run(
    args: DatabaseArgs,
    config: WorkerConfig,
    gateway: GatewayConfig,
    mail: MailConfig,
) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal()?;
    let deps = saga_deps(&gateway, &mail)?;
    let db = database::open(&args, "asynccheckout-worker").await?;
    Worker::new(db.pool.clone(), registry(deps), config)
        .run(shutdown)
        .await?;
    db.pool.close().await;
    Ok(())
}

pub fn saga_deps(gateway: &GatewayConfig, mail: &MailConfig) -> anyhow::Result<Arc<SagaDeps>> {
    let gateway = GatewayClient::new(gateway).context("cannot build the gateway client")?;
    let mailer = Mailer::new(mail)?;
    tracing::info!(mail = %mailer.describe(), "confirmation emails go to");
    Ok(Arc::new(SagaDeps { gateway, mailer }))
}

/// Every step handler this binary's workers run: the saga, and `noop` for
/// benchmarks and smoke tests.
pub fn registry(deps: Arc<SagaDeps>) -> Registry {
    let mut registry = Registry::new();
    steps::register(&mut registry, deps);
    registry.register(NoopHandler::KIND, NoopHandler);
    registry
}
