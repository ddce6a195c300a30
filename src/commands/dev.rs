//! `asynccheckout dev`: the whole system in one process, for development.
//!
//! The database bootstrap and migrations, a small demo catalog, the mock
//! payment gateway on a free port (unless GATEWAY_URL points elsewhere), a
//! worker, and the API. Emails go to MAIL_DIR unless SMTP_URL is set. Once
//! ready it prints the one line scripts wait for: `ready api=… key=… …`.

use anyhow::Context;
use mock_gateway::MockGateway;
use shared::catalog::{self, CatalogError, NewProduct, Sku};
use shared::keys::{self, Scope};
use shared::money::{Cents, Currency};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use worker::Worker;
use worker::gateway::GatewayConfig;

use super::worker::{registry, saga_deps};
use crate::cli::DevArgs;
use crate::{database, metrics_port, shutdown};

/// sku, name, price in cents, stock. The poster is scarce on purpose: order
/// two at once to see a refund.
const DEMO_CATALOG: [(&str, &str, i64, i32); 4] = [
    ("TSHIRT-M", "T-shirt, size M", 1999, 100),
    ("MUG", "Mug", 1250, 50),
    ("STICKER", "Sticker", 300, 1000),
    ("POSTER-LTD", "Limited poster", 2500, 1),
];

pub async fn run(settings: DevArgs) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal()?;
    let recorder = metrics_port::install_recorder()?;
    let db = database::open(&settings.serving.database, "asynccheckout-dev").await?;
    seed(&db.pool).await?;
    let key = match super::keys::register_bootstrap(&db.pool, &settings.serving.bootstrap).await? {
        Some(key) => key,
        None => {
            let mut conn = db.pool.acquire().await?;
            keys::create(&mut conn, "dev", &[Scope::Admin])
                .await?
                .secret
        }
    };

    // The gateway outlives the worker's drain: steps in flight still call it.
    let gateway_stop = CancellationToken::new();
    let (gateway_url, gateway) = match settings.gateway_url {
        Some(url) => (url, None),
        None => {
            let gateway = MockGateway::bind("127.0.0.1:0", settings.faults).await?;
            let url = format!("http://{}", gateway.local_addr());
            (url, Some(tokio::spawn(gateway.run(gateway_stop.clone()))))
        }
    };
    tracing::info!(gateway = %gateway_url, "payment gateway");
    let gateway_config = GatewayConfig {
        gateway_url,
        calls: settings.gateway_calls,
    };
    let deps = saga_deps(&gateway_config, &settings.mail)?;
    let grace = settings.worker.shutdown_grace();
    let worker = Worker::new(db.pool.clone(), registry(deps), settings.worker);

    let bound = api::bind(&settings.serving.listen.listen_addr)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (LISTEN_ADDR)",
                settings.serving.listen.listen_addr
            )
        })?;
    let addr = bound.addr;
    let port = metrics_port::bind(&settings.serving.metrics.metrics_addr).await?;
    let metrics = port.addr;
    let port_stop = CancellationToken::new();
    let metrics_port = tokio::spawn(metrics_port::serve(
        port,
        recorder,
        db.pool.clone(),
        port_stop.clone(),
    ));
    let state = super::api::state(&db.pool, &settings.serving);
    let api = tokio::spawn(api::serve(bound, state, shutdown.clone(), grace));

    println!("ready api=http://{addr} docs=http://{addr}/docs key={key} metrics=http://{metrics}");
    let worked = worker.run(shutdown).await;
    gateway_stop.cancel();
    port_stop.cancel();
    metrics_port.await.context("the metrics port failed")?;
    if let Some(gateway) = gateway {
        gateway.await.context("the mock gateway task failed")??;
    }
    api.await.context("the API task failed")??;
    worked?;
    db.pool.close().await;
    Ok(())
}

/// Adds the demo products that are missing; leaves existing ones alone.
async fn seed(pool: &PgPool) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    let usd: Currency = "USD".parse()?;
    for (sku, name, price, stock) in DEMO_CATALOG {
        let product = NewProduct {
            sku: Sku::parse(sku)?,
            name: name.to_owned(),
            price: Cents::new(price).context("demo prices are not negative")?,
            currency: usd,
            stock,
        };
        match catalog::insert(&mut conn, &product).await {
            Ok(_) | Err(CatalogError::SkuTaken(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    tracing::info!(products = DEMO_CATALOG.len(), "demo catalog in place");
    Ok(())
}
