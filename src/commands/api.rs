//! `asynccheckout api`: serve the HTTP API until SIGTERM/SIGINT.

use std::time::Duration;

use anyhow::Context;

use crate::cli::{ApiListen, BootstrapKey, DatabaseArgs};
use crate::{database, shutdown};

pub async fn run(
    args: DatabaseArgs,
    listen: ApiListen,
    bootstrap: BootstrapKey,
    grace_secs: u64,
) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal()?;
    let db = database::open(&args, "asynccheckout-api").await?;
    super::keys::register_bootstrap(&db.pool, &bootstrap).await?;
    let bound = api::bind(&listen.listen_addr)
        .await
        .with_context(|| format!("cannot listen on {} (LISTEN_ADDR)", listen.listen_addr))?;
    tracing::info!(addr = %bound.addr, "API listening");
    // One line for scripts and tests that start the API on port 0.
    println!("ready api=http://{}", bound.addr);
    let state = api::AppState {
        pool: db.pool.clone(),
    };
    api::serve(bound, state, shutdown, Duration::from_secs(grace_secs)).await?;
    db.pool.close().await;
    tracing::info!("API stopped");
    Ok(())
}
