//! Leases through the real worker: a step that runs longer than its lease
//! keeps it (the heartbeat renews it), and a worker that lost its lease
//! (frozen past it while another took the task over) is stopped, and
//! nothing it does afterwards is written.

use std::time::Duration;

use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use testkit::process::signal;

use crate::system::{DEADLINE, Options, System};

fn short_leases() -> Vec<(&'static str, String)> {
    vec![
        ("TASK_LEASE_SECS", "1".to_owned()),
        ("RESCUE_INTERVAL_SECS", "1".to_owned()),
    ]
}

/// The attempts of the order's charge task: (worker, outcome), in order.
async fn charge_attempts(system: &System, order: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT a.worker_id, a.outcome::text
         FROM task_attempts AS a JOIN tasks AS t ON t.id = a.task_id
         WHERE t.order_id = $1::uuid AND t.kind = 'charge_payment'
         ORDER BY a.attempt",
    )
    .bind(order)
    .fetch_all(&system.pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_step_longer_than_its_lease_keeps_it(_: PgPoolOptions, db: PgConnectOptions) {
    let options = Options {
        workers: 1,
        worker_env: short_leases(),
        gateway_timeout_ms: 10_000,
        ..Options::default()
    };
    let system = System::start("long_step", &db, options).await;
    system.create_product("MUG", 1250, 5).await;
    // Every payment call takes 2.5 leases; the worker's own rescuer looks
    // for expired leases every second.
    system.set_faults(json!({ "latency_ms": 2_500 })).await;

    let id = system.place("long-1", "tok_visa", &[("MUG", 1)]).await;
    let order = system.settled(&id).await;

    assert_eq!(order["status"], "completed");
    assert_eq!(
        charge_attempts(&system, &id).await,
        [("worker-0".to_owned(), "succeeded".to_owned())],
        "one attempt, never rescued"
    );
    assert_eq!(system.ledger_for(&id, "charge").await.len(), 1);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_worker_that_lost_its_lease_is_stopped_and_writes_nothing(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let options = Options {
        workers: 1,
        worker_env: short_leases(),
        gateway_timeout_ms: 10_000,
        ..Options::default()
    };
    let mut system = System::start("lost_lease", &db, options).await;
    system.create_product("MUG", 1250, 5).await;
    system.set_faults(json!({ "latency_ms": 1_500 })).await;

    let id = system.place("lost-1", "tok_visa", &[("MUG", 1)]).await;
    // Freeze worker-0 (heartbeat and all) while its charge is in flight.
    system
        .wait_for_count(
            "SELECT count(*) FROM tasks WHERE order_id = $1::uuid
               AND kind = 'charge_payment' AND state = 'running' AND locked_by = 'worker-0'",
            &id,
            1,
            "worker-0 taking the charge",
        )
        .await;
    let frozen = system.workers[0].id().unwrap();
    signal(frozen, "-STOP").unwrap();
    // Another worker rescues the expired lease and finishes the order.
    system.start_worker(1, &[]).await;
    let order = system.settled(&id).await;
    assert_eq!(order["status"], "completed");

    // Thawed, worker-0 finds its lease gone: it stops the step or its
    // fenced write is refused. Either way the attempt ends by saying so,
    // and only then is it safe to look for what it wrote.
    signal(frozen, "-CONT").unwrap();
    let until = tokio::time::Instant::now() + DEADLINE;
    loop {
        let log = system.log("worker-0");
        if log.contains("lease lost before the outcome was recorded; nothing was written") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "worker-0 never noticed its lease was lost"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let order = system.settled(&id).await;
    assert_eq!(
        System::statuses(&order),
        ["pending", "paid", "confirmed", "completed"],
        "each move once"
    );
    let attempts = charge_attempts(&system, &id).await;
    assert_eq!(
        attempts,
        [
            ("worker-0".to_owned(), "lease_expired".to_owned()),
            ("worker-1".to_owned(), "succeeded".to_owned()),
        ]
    );
    assert_eq!(
        system.ledger_for(&id, "charge").await.len(),
        1,
        "charged once"
    );
    assert!(
        system.workers[0].try_wait().unwrap().is_none(),
        "worker-0 lives on"
    );
}
