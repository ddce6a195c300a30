//! `asynccheckout worker`: run saga steps from the queue until SIGTERM/SIGINT.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use worker::breaker::Breakers;
use worker::gateway::{GatewayClient, GatewayConfig};
use worker::mailer::{MailConfig, Mailer};
use worker::steps::{self, SagaDeps};
use worker::{NoopHandler, Registry, Worker, webhooks};

use crate::cli::WorkerArgs;
use crate::{database, metrics_port, shutdown};

pub async fn run(args: WorkerArgs) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal()?;
    let recorder = metrics_port::install_recorder()?;
    args.worker
        .check_deadline_against(Duration::from_millis(args.gateway.calls.gateway_timeout_ms))
        .map_err(anyhow::Error::msg)?;
    let mut breakers = Breakers::new(args.worker.breakers.clone());
    let deps = saga_deps(&args.gateway, &args.mail, &mut breakers)?;
    let db = database::open(&args.database, "asynccheckout-worker").await?;
    // The wake-up listener.
    database::state_connection_budget(&db.pool, 1);
    let port = metrics_port::bind(&args.metrics.metrics_addr).await?;
    let mut registry = registry(deps);
    webhooks::register(&mut registry, &args.webhooks, &args.webhook_urls)
        .context("cannot build the webhook client")?;
    let worker = webhooks::lane(
        Worker::new(db.pool.clone(), registry, args.worker).with_breakers(Arc::new(breakers)),
        &args.webhooks,
    );
    // One line for scripts and tests: who this worker is and where its metrics are.
    println!("ready worker={} metrics=http://{}", worker.id(), port.addr);
    // The port outlives the drain, so probes and scrapes see it to the end.
    let port_stop = tokio_util::sync::CancellationToken::new();
    let metrics_port = tokio::spawn(metrics_port::serve(
        port,
        recorder,
        db.pool.clone(),
        port_stop.clone(),
    ));
    let worked = worker.run(shutdown).await;
    port_stop.cancel();
    metrics_port.await.context("the metrics port failed")?;
    worked?;
    db.pool.close().await;
    Ok(())
}

/// The saga's gateway client and mailer, each with its circuit breaker in
/// `breakers`.
pub fn saga_deps(
    gateway: &GatewayConfig,
    mail: &MailConfig,
    breakers: &mut Breakers,
) -> anyhow::Result<Arc<SagaDeps>> {
    let gateway = GatewayClient::new(gateway).context("cannot build the gateway client")?;
    let mailer = Mailer::new(mail)?;
    tracing::info!(mail = %mailer.describe(), "confirmation emails go to");
    Ok(Arc::new(SagaDeps::with_breakers(gateway, mailer, breakers)))
}

/// Every step handler this binary's workers run: the saga, and `noop` for
/// benchmarks and smoke tests.
pub fn registry(deps: Arc<SagaDeps>) -> Registry {
    let mut registry = Registry::new();
    steps::register(&mut registry, deps);
    registry.register(NoopHandler::KIND, NoopHandler);
    registry
}
