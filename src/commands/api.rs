//! `asynccheckout api`: serve the HTTP API until SIGTERM/SIGINT.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::cli::{ApiArgs, ApiServing};
use crate::{database, metrics_port, shutdown};

pub async fn run(args: ApiArgs) -> anyhow::Result<()> {
    let settings = &args.serving;
    let shutdown = shutdown::on_signal()?;
    let recorder = metrics_port::install_recorder()?;
    let db = database::open(&settings.database, "asynccheckout-api").await?;
    // The event feed's own connection.
    database::state_connection_budget(&db.pool, 1);
    super::keys::register_bootstrap(&db.pool, &settings.bootstrap).await?;
    let metrics = metrics_port::bind(&settings.metrics.metrics_addr).await?;
    let bound = api::bind(&settings.listen.listen_addr)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (LISTEN_ADDR)",
                settings.listen.listen_addr
            )
        })?;
    tracing::info!(addr = %bound.addr, metrics = %metrics.addr, "API listening");
    // One line for scripts and tests that start the API on port 0.
    println!(
        "ready api=http://{} metrics=http://{}",
        bound.addr, metrics.addr
    );
    let metrics_port = tokio::spawn(metrics_port::serve(
        metrics,
        recorder,
        db.pool.clone(),
        shutdown.clone(),
    ));
    let state = state(&db.pool, settings);
    let feed = tokio::spawn(api::events::feed::run(
        db.pool.clone(),
        std::sync::Arc::clone(&state.feed),
        shutdown.clone(),
    ));
    let wake_workers = tokio::spawn(
        state
            .wake_workers
            .clone()
            .send_until(db.pool.clone(), shutdown.clone()),
    );
    api::serve(
        bound,
        state,
        shutdown,
        Duration::from_secs(args.shutdown_grace_secs),
    )
    .await?;
    metrics_port.await.context("the metrics port failed")?;
    feed.await.context("the order events feed failed")?;
    wake_workers
        .await
        .context("the workers' wake-up sender failed")?;
    db.pool.close().await;
    tracing::info!("API stopped");
    Ok(())
}

/// What the API's handlers share, from its settings.
pub fn state(pool: &sqlx::PgPool, serving: &ApiServing) -> api::AppState {
    let max_wait = Duration::from_secs(serving.admission.admission_max_queue_age_secs);
    let connections = &serving.connections;
    let descriptors = api::server::raise_descriptor_limit();
    let pool_size = serving.database.database_max_connections;
    let max_connections = match connections.max_connections {
        Some(cap) => usize::try_from(cap).unwrap_or(usize::MAX),
        None => api::server::default_max_connections(descriptors, pool_size),
    };
    let needed = (max_connections as u64)
        .saturating_add(api::server::descriptors_besides_connections(pool_size));
    if needed > descriptors {
        tracing::warn!(
            max_connections,
            descriptors,
            "MAX_CONNECTIONS and what the process needs besides ({needed} descriptors) exceed \
             its file descriptor limit: connections will fail with EMFILE before the cap \
             refuses them; raise the limit (`ulimit -n`) or lower MAX_CONNECTIONS"
        );
    }
    let default_limit = shared::keys::RateLimit::new(
        serving.rate_limit.rate_limit_per_second,
        serving.rate_limit.rate_limit_burst,
    );
    api::AppState {
        pool: pool.clone(),
        admission: api::admission::Admission::new(max_wait).map(Arc::new),
        request_timeout: Duration::from_secs(serving.request_timeout_secs),
        rate_limiter: api::http::rate_limit::RateLimiter::new(default_limit),
        connection_limits: api::server::ConnectionLimits {
            header_read_timeout: Duration::from_secs(connections.header_read_timeout_secs),
            body_read_timeout: Duration::from_secs(connections.body_read_timeout_secs),
            idle_timeout: Duration::from_secs(connections.idle_timeout_secs),
        },
        open_connections: api::server::OpenConnections::new(max_connections),
        feed: api::events::feed::Feed::new(),
        webhook_urls: serving.webhook_urls.policy(),
        wake_workers: api::wake_workers::WorkerWakeUps::new(),
        default_capture_method: serving.capture_method,
    }
}
