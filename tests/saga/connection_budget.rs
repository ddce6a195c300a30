//! Each process holds at most the PostgreSQL connections it says it may
//! (README, "Connection budget"): its pool, `DATABASE_MAX_CONNECTIONS`, plus
//! its dedicated ones (the API: the event feed's; a worker: its wake-up
//! listener), however hard it is driven.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{Options, System};

const POOL: i64 = 3;

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn no_process_holds_more_connections_than_it_states(_: PgPoolOptions, db: PgConnectOptions) {
    let pool = || vec![("DATABASE_MAX_CONNECTIONS", POOL.to_string())];
    let mut system = System::start(
        "connection_budget",
        &db,
        Options {
            api_env: pool(),
            worker_env: pool(),
            ..Options::without_workers()
        },
    )
    .await;
    system.start_worker(0, &[]).await;
    system.start_worker(1, &[]).await;
    system.create_product("MUG", 1250, 1_000).await;

    // What each says of itself.
    let stated = |text: String| {
        text.lines()
            .find_map(|l| l.strip_prefix("asynccheckout_db_connections_max "))
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let api_budget = POOL + 1;
    let worker_budget = POOL + 1;
    assert_eq!(stated(system.scrape(0).await), Some(api_budget as f64));
    assert_eq!(stated(system.scrape(1).await), Some(worker_budget as f64));
    assert_eq!(stated(system.scrape(2).await), Some(worker_budget as f64));

    // The most connections each role held at once, sampled from the server
    // while 60 orders are placed 20 at a time (far more than the pools).
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (pool, done) = (system.pool.clone(), Arc::clone(&done));
        tokio::spawn(async move {
            let (mut api, mut workers) = (0_i64, 0_i64);
            while !done.load(Ordering::Relaxed) {
                let (a, w): (i64, i64) = sqlx::query_as(
                    "SELECT count(*) FILTER (WHERE application_name = 'asynccheckout-api'),
                            count(*) FILTER (WHERE application_name = 'asynccheckout-worker')
                     FROM pg_stat_activity WHERE datname = current_database()",
                )
                .fetch_one(&pool)
                .await
                .unwrap();
                (api, workers) = (api.max(a), workers.max(w));
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            (api, workers)
        })
    };
    let mut placed: Vec<String> = Vec::new();
    for batch in 0..3 {
        let orders = (0..20).map(|i| {
            let key = format!("budget-{batch}-{i}");
            let system = &system;
            async move { system.place(&key, "tok_visa", &[("MUG", 1)]).await }
        });
        placed.extend(futures::future::join_all(orders).await);
    }
    for id in &placed {
        system.wait_for_status(id, "completed").await;
    }
    done.store(true, Ordering::Relaxed);
    let (api, workers) = sampler.await.unwrap();

    assert!(
        api <= api_budget,
        "the API held {api} connections, more than its {api_budget}"
    );
    assert!(
        workers <= 2 * worker_budget,
        "two workers held {workers} connections, more than their 2 × {worker_budget}"
    );
    // The load filled the API's pool: the bound was met at its edge.
    assert!(api > POOL, "the API never held more than {api} connections");
}
