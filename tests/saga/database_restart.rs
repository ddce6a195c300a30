//! PostgreSQL restarted mid-load, on a private cluster this test owns: the
//! API and the workers reconnect on their own, no process exits, and every
//! order that was accepted completes. Requests that arrive while the server
//! is down get a 503 with Retry-After (or no answer while the connection is
//! being refused); a client retries them with the same Idempotency-Key.

use std::path::Path;
use std::time::Duration;

use shared::db::bootstrap::PrivateCluster;
use sqlx::postgres::PgConnectOptions;
use testkit::cluster::ClusterFaults;

use crate::system::{DEADLINE, Options, System};

/// Places an order, retrying with the same key until the API accepts it.
async fn place_until_accepted(system: &System, key: &str) -> String {
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
        }
        assert!(
            tokio::time::Instant::now() < until,
            "order {key} was never accepted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_postgres_restart_mid_load_loses_no_accepted_order() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("restart-cluster");
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
    let db: PgConnectOptions = url.parse().unwrap();

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
    let mut accepted = Vec::new();
    for i in 0..20 {
        accepted.push(place_until_accepted(&system, &format!("before-{i}")).await);
    }

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.restart().unwrap();
        cluster
    })
    .await
    .unwrap();
    for i in 0..20 {
        accepted.push(place_until_accepted(&system, &format!("after-{i}")).await);
    }

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
