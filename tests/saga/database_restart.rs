//! PostgreSQL down mid-load, on a private cluster this test owns: it is
//! crashed (no shutdown checkpoint) while shoppers keep placing orders, kept
//! down while more requests arrive, and started again while requests are in
//! flight. Every request the API answers meanwhile is a 503 with
//! Retry-After, never a 500; the API and the workers reconnect on their own,
//! no process exits, and every order that was accepted completes.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use shared::db::bootstrap::PrivateCluster;
use sqlx::postgres::PgConnectOptions;
use testkit::cluster::ClusterFaults;

use crate::system::{DEADLINE, Options, System};

/// Places an order, retrying with the same key until the API accepts it;
/// counts the 503s it was answered in `unavailable`.
pub(crate) async fn place_until_accepted(
    system: &System,
    key: &str,
    unavailable: &AtomicUsize,
) -> String {
    let body = System::order_body("tok_visa", &[("MUG", 1)]);
    let until = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Ok(response) = system
            .http
            .post(format!("{}/v1/orders", system.api))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
        {
            if response.status() == 202 {
                let order: serde_json::Value = response.json().await.unwrap();
                return order["id"].as_str().unwrap().to_owned();
            }
            // The database away is a 503 to retry, never a 500.
            assert_eq!(response.status(), 503, "refused: {}", response.status());
            assert!(response.headers().contains_key("retry-after"));
            unavailable.fetch_add(1, Ordering::Relaxed);
        }
        assert!(
            tokio::time::Instant::now() < until,
            "order {key} was never accepted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A fresh private cluster in `target/tmp/<folder>` with a migrated
/// database, and the options to reach it.
pub(crate) async fn private_database(folder: &str) -> (PrivateCluster, PgConnectOptions) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(folder);
    // A fresh cluster: also where the bootstrap keeps it when the server's
    // user cannot reach target/ (a checkout in a 0700 folder, as root).
    if let Ok(resolved) = dir.canonicalize() {
        let _ = std::fs::remove_dir_all(shared::db::bootstrap::fallback_home(&resolved));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let cluster = tokio::task::spawn_blocking(move || PrivateCluster::start_in(&dir))
        .await
        .unwrap()
        .unwrap();
    let url = cluster.url("restart_test");
    shared::db::ensure_database_exists(&url).await.unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    shared::MIGRATOR.run(&pool).await.unwrap();
    pool.close().await;
    (cluster, url.parse().unwrap())
}

#[tokio::test]
async fn a_postgres_outage_mid_load_is_answered_503_and_loses_no_accepted_order() {
    let (cluster, db) = private_database("restart-cluster").await;

    let mut system = System::start(
        "database_restart",
        &db,
        Options {
            workers: 2,
            ..Options::default()
        },
    )
    .await;
    system.create_product("MUG", 1250, 1_000).await;
    let unavailable = AtomicUsize::new(0);
    let mut accepted = Vec::new();
    for i in 0..20 {
        accepted.push(place_until_accepted(&system, &format!("before-{i}"), &unavailable).await);
    }
    assert_eq!(
        unavailable.load(Ordering::Relaxed),
        0,
        "503s with the database up"
    );

    // Shoppers keep placing orders through the whole outage.
    let stop = AtomicBool::new(false);
    let placed = AtomicUsize::new(0);
    let shoppers = async {
        let mut ids = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let key = format!("during-{}", ids.len());
            ids.push(place_until_accepted(&system, &key, &unavailable).await);
            placed.fetch_add(1, Ordering::Relaxed);
        }
        ids
    };
    let cluster = Arc::new(cluster);
    let outage = async {
        let down = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || down.crash())
            .await
            .unwrap()
            .unwrap();
        // While it is down: every answer is a 503 with Retry-After.
        let body = System::order_body("tok_visa", &[("MUG", 1)]);
        let posts = (0..10).map(|i| {
            system
                .http
                .post(format!("{}/v1/orders", system.api))
                .header("Idempotency-Key", format!("while-down-{i}"))
                .json(&body)
                .send()
        });
        for response in futures::future::join_all(posts).await {
            let response = response.unwrap();
            assert_eq!(response.status(), 503, "{}", response.text().await.unwrap());
            assert!(response.headers().contains_key("retry-after"));
        }
        let ready = system
            .http
            .get(format!("{}/readyz", system.api))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 503, "readyz while the database is down");
        // Started again while the shoppers' requests are in flight; they
        // get through once it is up.
        let before = placed.load(Ordering::Relaxed);
        let up = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || up.start_again())
            .await
            .unwrap()
            .unwrap();
        let until = tokio::time::Instant::now() + DEADLINE;
        while placed.load(Ordering::Relaxed) < before + 20 {
            assert!(
                tokio::time::Instant::now() < until,
                "no orders after the restart"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.store(true, Ordering::Relaxed);
    };
    let (during, ()) = tokio::join!(shoppers, outage);
    accepted.extend(during);
    assert!(
        unavailable.load(Ordering::Relaxed) > 0,
        "no shopper request met the outage"
    );

    for id in &accepted {
        assert_eq!(
            system.settled(id).await["status"],
            "completed",
            "order {id}"
        );
    }
    for worker in &mut system.workers {
        assert!(worker.try_wait().unwrap().is_none(), "a worker exited");
    }
    let ready = reqwest::get(format!("{}/readyz", system.api))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    drop(system);
    drop(cluster);
}
