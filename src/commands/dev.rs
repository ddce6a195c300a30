//! `asynccheckout dev`: the whole system in one process, for development.
//!
//! The database bootstrap and migrations, a small demo catalog, the mock
//! payment gateway on a free port (unless GATEWAY_URL points elsewhere), a
//! worker, and the API. Emails go to MAIL_DIR unless SMTP_URL is set. Once
//! ready it prints the one line scripts wait for: `ready api=… key=… …`.

use anyhow::Context;
use mock_gateway::MockGateway;
use shared::catalog::{self, CatalogError, NewProduct, Sku};
use shared::db::Session;
use shared::keys::{self, Scope};
use shared::money::{Cents, Currency};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use worker::Worker;
use worker::gateway::GatewayConfig;
use worker::webhooks::{self, UrlPolicyArgs};

use super::worker::{registry, saga_deps};
use crate::cli::DevArgs;
use crate::database::{self, Start};
use crate::{metrics_port, shutdown};
use worker::breaker::Breakers;

/// sku, name, price in cents, stock. The poster is scarce on purpose: order
/// two at once to see a refund.
const DEMO_CATALOG: [(&str, &str, i64, i32); 4] = [
    ("TSHIRT-M", "T-shirt, size M", 1999, 100),
    ("MUG", "Mug", 1250, 50),
    ("STICKER", "Sticker", 300, 1000),
    ("POSTER-LTD", "Limited poster", 2500, 1),
];

pub async fn run(mut settings: DevArgs) -> anyhow::Result<()> {
    // Development sends webhooks to a receiver on the same laptop.
    settings.serving.webhook_urls = UrlPolicyArgs {
        webhook_allow_private_urls: true,
        webhook_allow_http: true,
    };
    let shutdown = shutdown::on_signal()?;
    let recorder = metrics_port::install_recorder()?;
    let data_dir = &settings.serving.database.data_dir;
    let start = if settings.reset {
        if settings.serving.database.configured_url().is_some() && !settings.yes {
            anyhow::bail!(
                "dev --reset would drop the database DATABASE_URL names, with every connection \
                 to it; add --yes to confirm, or unset DATABASE_URL to reset the development \
                 database dev finds itself"
            );
        }
        let _ = std::fs::remove_file(data_dir.join(DEV_KEY_FILE));
        if settings.mail.smtp_url.is_none() {
            remove_confirmations(&settings.mail.mail_dir);
        }
        Start::Afresh
    } else {
        Start::AsItIs
    };
    let mut database = settings.serving.database.clone();
    database.create_database = true;
    let db = database::open_with(&database, "asynccheckout-dev", start).await?;
    // The API's event feed, and the worker's listener.
    database::state_connection_budget(&db.pool, 2);
    seed(&db.pool).await?;
    let key = match super::keys::register_bootstrap(&db.pool, &settings.serving.bootstrap).await? {
        Some(key) => key,
        None => dev_key(&db.pool, data_dir).await?,
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
    settings
        .worker
        .check_deadline_against(std::time::Duration::from_millis(
            gateway_config.calls.gateway_timeout_ms,
        ))
        .map_err(anyhow::Error::msg)?;
    let mut breakers = Breakers::new(settings.worker.breakers.clone());
    let deps = saga_deps(&gateway_config, &settings.mail, &mut breakers)?;
    let grace = settings.worker.shutdown_grace();
    let mut registry = registry(deps);
    webhooks::register(
        &mut registry,
        &settings.webhooks,
        &settings.serving.webhook_urls,
    )
    .context("cannot build the webhook client")?;
    let worker = webhooks::lane(
        Worker::new(db.pool.clone(), registry, settings.worker)
            .with_breakers(std::sync::Arc::new(breakers)),
        &settings.webhooks,
    );

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
    let feed = tokio::spawn(api::events::feed::run(
        db.pool.clone(),
        std::sync::Arc::clone(&state.feed),
        port_stop.clone(),
    ));
    let wake_workers = tokio::spawn(
        state
            .wake_workers
            .clone()
            .send_until(db.pool.clone(), port_stop.clone()),
    );
    let api = tokio::spawn(api::serve(bound, state, shutdown.clone(), grace));

    println!(
        "ready api=http://{addr} docs=http://{addr}/docs ui=http://{addr}/ui key={key} metrics=http://{metrics}"
    );
    let worked = worker.run(shutdown).await;
    gateway_stop.cancel();
    port_stop.cancel();
    metrics_port.await.context("the metrics port failed")?;
    feed.await.context("the order events feed failed")?;
    wake_workers
        .await
        .context("the workers' wake-up sender failed")?;
    if let Some(gateway) = gateway {
        gateway.await.context("the mock gateway task failed")??;
    }
    api.await.context("the API task failed")??;
    worked?;
    db.pool.close().await;
    Ok(())
}

/// Where `dev` keeps its admin key between starts, beside the development
/// database's folder (mode 0600).
const DEV_KEY_FILE: &str = "dev-admin-key";

/// The development admin key: the one kept from an earlier start while the
/// database still knows it, else a new one, kept for the next start. One key
/// serves every start instead of a new live admin key each time.
async fn dev_key(pool: &PgPool, data_dir: &std::path::Path) -> anyhow::Result<String> {
    let path = data_dir.join(DEV_KEY_FILE);
    let mut conn = Session::acquire(pool).await?;
    if let Ok(kept) = std::fs::read_to_string(&path) {
        let kept = kept.trim();
        let known = keys::authenticate(&mut conn, kept).await?;
        if known.is_some_and(|key| key.scopes.contains(&Scope::Admin)) {
            return Ok(kept.to_owned());
        }
    }
    let secret = keys::create(&mut conn, "dev", &[Scope::Admin], None)
        .await?
        .secret;
    conn.finish().await?;
    if let Err(e) = keep_secret(&path, &secret) {
        tracing::warn!(error = %e, file = %path.display(), "could not keep the development key; the next start makes another");
    }
    Ok(secret)
}

/// Writes `secret` to `path`, readable by its owner only: written to a new
/// file of mode 0600 and renamed over `path`, so neither an older file's
/// mode nor a link at `path` decides where the key goes or who reads it.
fn keep_secret(path: &std::path::Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let fresh = path.with_extension("new");
    let _ = std::fs::remove_file(&fresh);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&fresh)?;
    file.write_all(secret.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&fresh, path)
}

/// Deletes the confirmations `dev` wrote to `mail_dir` (`order-*.eml`),
/// and nothing else a person may keep there.
fn remove_confirmations(mail_dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(mail_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("order-") && name.ends_with(".eml") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Adds the demo products that are missing; leaves existing ones alone.
async fn seed(pool: &PgPool) -> anyhow::Result<()> {
    let usd: Currency = "USD".parse()?;
    for (sku, name, price, stock) in DEMO_CATALOG {
        let product = NewProduct {
            sku: Sku::parse(sku)?,
            name: name.to_owned(),
            price: Cents::new(price).context("demo prices are not negative")?,
            currency: usd,
            stock,
        };
        // A session each: a product already there ends its session's
        // transaction behind a pooler.
        let mut conn = Session::acquire(pool).await?;
        match catalog::insert(&mut conn, &product).await {
            Ok(_) => conn.finish().await?,
            Err(CatalogError::SkuTaken(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    tracing::info!(products = DEMO_CATALOG.len(), "demo catalog in place");
    Ok(())
}
