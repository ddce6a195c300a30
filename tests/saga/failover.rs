//! A primary failover loses nothing that was accepted. A primary with a
//! synchronous streaming standby, the API and the workers behind PgBouncer
//! (the stable address), orders placed all along; the primary is killed
//! (SIGKILL), the standby promoted and PgBouncer pointed at it. Every order
//! that got a 202 exists on the new primary and settles, none is charged
//! twice, the stock adds up, and the same processes carry on.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::pgbouncer::PgBouncer;
use testkit::replication::ReplicaPair;
use tokio::time::Instant;

use crate::system::{DEADLINE, Options, System};

const STOCK: i64 = 100_000;

/// What the shopper saw: each accepted order with when it was accepted, and
/// the other answers by status.
#[derive(Default)]
struct Seen {
    accepted: Vec<(String, Instant)>,
    refused: Vec<u16>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_killed_under_load_loses_no_accepted_order() {
    let pair = tokio::task::spawn_blocking(ReplicaPair::start)
        .await
        .unwrap()
        .unwrap();
    let mut server = sqlx::PgConnection::connect(&pair.primary_url("postgres"))
        .await
        .unwrap();
    sqlx::raw_sql("CREATE DATABASE failover")
        .execute(&mut server)
        .await
        .unwrap();
    server.close().await.unwrap();
    let primary: PgConnectOptions = pair.primary_url("failover").parse().unwrap();
    let schema = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(primary.clone())
        .await
        .unwrap();
    shared::MIGRATOR.run(&schema).await.unwrap();
    schema.close().await;

    let bouncer = PgBouncer::start(&primary, 10).await.unwrap();
    let behind = vec![("DATABASE_POOLER", "transaction".to_owned())];
    let mut worker_env = behind.clone();
    // A step whose commit died with the primary is rescued soon.
    worker_env.extend([
        ("TASK_LEASE_SECS", "3".to_owned()),
        ("RESCUE_INTERVAL_SECS", "1".to_owned()),
    ]);
    let mut system = System::start(
        "failover",
        &primary,
        Options {
            processes_database_url: Some(bouncer.url.clone()),
            api_env: behind,
            worker_env,
            workers: 2,
            ..Options::default()
        },
    )
    .await;
    system.create_product("MUG", 1250, STOCK).await;

    // A shopper placing an order every 20 ms until told to stop.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = tokio_util::sync::CancellationToken::new();
    let shopper = {
        let (http, api, seen, stop) = (
            system.http.clone(),
            system.api.clone(),
            Arc::clone(&seen),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.is_cancelled() {
                i += 1;
                let answer = http
                    .post(format!("{api}/v1/orders"))
                    .header("Idempotency-Key", format!("order-{i}"))
                    .json(&System::order_body("tok_visa", &[("MUG", 1)]))
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                if let Ok(response) = answer {
                    let status = response.status().as_u16();
                    if status == 202 {
                        let order: Value = response.json().await.unwrap();
                        let id = order["id"].as_str().unwrap().to_owned();
                        seen.lock().unwrap().accepted.push((id, Instant::now()));
                    } else {
                        seen.lock().unwrap().refused.push(status);
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let accepted = || seen.lock().unwrap().accepted.len();
    wait_until(|| accepted() >= 40, "40 orders accepted before the kill").await;

    let before_kill = accepted();
    tokio::task::block_in_place(|| pair.kill_primary()).unwrap();
    let killed_at = Instant::now();
    tokio::task::block_in_place(|| pair.promote_standby()).unwrap();
    bouncer.point_at(pair.standby_port).unwrap();
    let promoted_in = killed_at.elapsed();

    wait_until(
        || accepted() >= before_kill + 40,
        "40 more orders accepted after the failover",
    )
    .await;
    stop.cancel();
    shopper.await.unwrap();
    let seen = std::mem::take(&mut *seen.lock().unwrap());

    // The first order accepted after the kill: when it was accepted, and
    // when it completed, as the shopper would see them.
    let (first_after, accepted_after) = seen
        .accepted
        .iter()
        .find(|(_, at)| *at > killed_at)
        .cloned()
        .unwrap();
    let first_completed = loop {
        let order = system.order(&first_after).await;
        if order["status"] == "completed" {
            break Instant::now();
        }
        assert!(killed_at.elapsed() < DEADLINE, "{order:#}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    eprintln!(
        "failover: standby promoted and PgBouncer repointed {} ms after the kill; first 202 \
         after it at {} ms, first order completed at {} ms; {} accepted, {} refused ({:?})",
        promoted_in.as_millis(),
        (accepted_after - killed_at).as_millis(),
        (first_completed - killed_at).as_millis(),
        seen.accepted.len(),
        seen.refused.len(),
        seen.refused,
    );

    // Every accepted order is on the new primary, and settles.
    let new_primary = PgPoolOptions::new()
        .max_connections(2)
        .connect(&pair.standby_url("failover"))
        .await
        .unwrap();
    for (id, _) in &seen.accepted {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT status::text FROM orders WHERE id = $1::uuid")
                .bind(id)
                .fetch_optional(&new_primary)
                .await
                .unwrap();
        assert!(
            stored.is_some(),
            "order {id} got a 202 and is not on the new primary"
        );
        let order = system.settled(id).await;
        let charges = system.ledger_for(id, "charge").await;
        assert!(
            charges.len() <= 1,
            "order {id} charged {} times",
            charges.len()
        );
        if order["status"] == "completed" {
            assert_eq!(charges.len(), 1, "{order:#}");
        }
    }
    // An order whose POST was in flight at the kill may exist without its
    // 202 (it was answered 503, "may or may not have taken effect"): every
    // order on the new primary settles, and only completed ones hold stock.
    let until = Instant::now() + DEADLINE;
    loop {
        let unsettled: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM orders
             WHERE status NOT IN ('completed', 'failed', 'cancelled', 'refunded')",
        )
        .fetch_one(&new_primary)
        .await
        .unwrap();
        if unsettled == 0 {
            break;
        }
        assert!(Instant::now() < until, "{unsettled} orders never settled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let completed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM orders WHERE status = 'completed'")
            .fetch_one(&new_primary)
            .await
            .unwrap();
    assert!(
        seen.refused.iter().all(|status| *status == 503),
        "while the primary was down the API answered 503 and nothing else: {:?}",
        seen.refused
    );
    let stock: i64 = sqlx::query_scalar("SELECT stock::int8 FROM products WHERE sku = 'MUG'")
        .fetch_one(&new_primary)
        .await
        .unwrap();
    assert_eq!(
        stock,
        STOCK - completed,
        "each completed order took one mug"
    );
    // The same processes carried on: none was restarted, none exited.
    assert!(system.api_process.try_wait().unwrap().is_none());
    for worker in &mut system.workers {
        assert!(worker.try_wait().unwrap().is_none());
    }
}

async fn wait_until(condition: impl Fn() -> bool, what: &str) {
    let until = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < until, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
