//! The workers' registry as an operator reads it (`GET /v1/queue/workers`):
//! a started worker shows alive with its kinds, slots and pid; a SIGTERMed
//! one shows stopped once drained; a SIGKILLed one says nothing, and shows
//! vanished once its silence outlasts three heartbeats.

use std::time::Duration;

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::process::signal;

use crate::system::{DEADLINE, Options, System};

/// Waits until worker `id` shows `liveness` in the registry; returns it.
async fn wait_for(system: &System, id: &str, liveness: &str) -> Value {
    let until = tokio::time::Instant::now() + DEADLINE;
    loop {
        let list = system
            .get_json(format!("{}/v1/queue/workers", system.api))
            .await;
        let found = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["id"] == id)
            .cloned();
        if let Some(worker) = &found {
            if worker["liveness"] == liveness {
                return worker.clone();
            }
        }
        assert!(
            tokio::time::Instant::now() < until,
            "{id} never showed {liveness}: {list:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_registry_shows_who_runs_who_stopped_and_who_vanished(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let mut system = System::start("workers_registry", &db, Options::default()).await;
    system.start_worker(1, &[]).await;

    let alive = wait_for(&system, "worker-0", "alive").await;
    assert_eq!(alive["pid"], system.workers[0].id().unwrap());
    assert!(alive["slots"].as_i64().unwrap() > 0, "{alive:#}");
    let kinds: Vec<&str> = alive["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    for kind in [
        "charge_payment",
        "reserve_inventory",
        "send_confirmation",
        "refund_payment",
    ] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
    assert!(alive["stopped_at"].is_null());

    // A clean stop says so.
    signal(system.workers[0].id().unwrap(), "-TERM").unwrap();
    tokio::time::timeout(DEADLINE, system.workers[0].wait())
        .await
        .unwrap()
        .unwrap();
    let stopped = wait_for(&system, "worker-0", "stopped").await;
    assert!(stopped["stopped_at"].is_string());

    // A killed one says nothing: it still shows alive until its silence
    // outlasts three heartbeats (15 s; here its last heartbeat is moved back
    // rather than waited for).
    wait_for(&system, "worker-1", "alive").await;
    signal(system.workers[1].id().unwrap(), "-KILL").unwrap();
    tokio::time::timeout(DEADLINE, system.workers[1].wait())
        .await
        .unwrap()
        .unwrap();
    let after_kill = wait_for(&system, "worker-1", "alive").await;
    assert!(after_kill["stopped_at"].is_null());
    sqlx::query(
        "UPDATE queue_workers SET last_seen_at = now() - interval '16 seconds' WHERE id = 'worker-1'",
    )
    .execute(&system.pool)
    .await
    .unwrap();
    wait_for(&system, "worker-1", "vanished").await;
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn what_the_workers_did_reaches_the_last_hours_minutes(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("workers_minutes", &db, Options::default()).await;
    system.create_product("MUG", 1250, 5).await;
    for key in ["minutes-1", "minutes-2"] {
        let order = system.place(key, "tok_visa", &[("MUG", 1)]).await;
        assert_eq!(system.settled(&order).await["status"], "completed");
    }
    // Each step of both sagas, once, with the wait of its first attempt;
    // added with the worker's next heartbeat.
    let until = tokio::time::Instant::now() + DEADLINE;
    let counted = loop {
        let counted: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT kind, sum(succeeded)::int8, sum(started)::int8, sum(retried + dead)::int8
             FROM queue_minutes GROUP BY kind ORDER BY kind",
        )
        .fetch_all(&system.pool)
        .await
        .unwrap();
        if counted
            .iter()
            .filter(|(_, succeeded, ..)| *succeeded == 2)
            .count()
            == 3
        {
            break counted;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "the minutes never counted both sagas: {counted:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let saga: Vec<_> = counted
        .into_iter()
        .filter(|(kind, ..)| kind != "deliver_webhook")
        .collect();
    assert_eq!(
        saga,
        [
            ("charge_payment".to_owned(), 2, 2, 0),
            ("reserve_inventory".to_owned(), 2, 2, 0),
            ("send_confirmation".to_owned(), 2, 2, 0),
        ]
    );
    let longest: i64 = sqlx::query_scalar("SELECT max(wait_ms_max) FROM queue_minutes")
        .fetch_one(&system.pool)
        .await
        .unwrap();
    assert!((0..10_000).contains(&longest), "{longest}");
}
