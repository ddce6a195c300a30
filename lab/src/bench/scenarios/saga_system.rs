//! What the saga-shaped scenarios (`saga`, `latency`, `soak`) start: the
//! gateway, the API and the workers, with a shop seeded to order from.

use std::time::Duration;

use sqlx::PgPool;
use testkit::process::admin_key;
use testkit::system::System;

use crate::bench::Bench;
use crate::bench::load::Shop;

/// Load before the measured load, not counted.
pub const WARM_UP: Duration = Duration::from_secs(1);

/// Starts the gateway, the API and the workers, and seeds a shop.
/// Workers get `worker_env` on top of the bench's settings.
pub async fn start_saga(
    bench: &Bench,
    pool: &PgPool,
    system: &mut System,
    worker_env: &[(&str, String)],
) -> anyhow::Result<Shop> {
    let gateway = system.start_gateway().await?;
    let key = admin_key();
    let api = system.start_api(&key, bench.args.api_connections).await?;
    for i in 0..bench.args.workers {
        let mut env = vec![
            ("GATEWAY_URL", gateway.clone()),
            (
                "WORKER_CONCURRENCY",
                bench.args.saga_concurrency.to_string(),
            ),
            ("DATABASE_MAX_CONNECTIONS", "16".to_owned()),
        ];
        env.extend(worker_env.iter().cloned());
        system.start_worker(i, &env).await?;
    }
    Shop::seed(pool, &api, &key, 1_000).await
}
