//! Rolling workers under load: one is SIGKILLed, another SIGTERMed, while
//! orders keep coming. Nothing accepted is lost: every order ends terminal,
//! the killed worker's tasks are rescued after their lease, and the stopped
//! one drains and exits 0.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use testkit::process::signal;

use crate::system::{DEADLINE, Options, System};

async fn running_on(system: &System, worker: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM tasks WHERE state = 'running' AND locked_by = $1")
        .bind(worker)
        .fetch_one(&system.pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_killed_and_a_stopped_worker_mid_load_lose_no_order(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let options = Options {
        workers: 3,
        worker_env: vec![
            ("TASK_LEASE_SECS", "2".into()),
            ("RESCUE_INTERVAL_SECS", "1".into()),
            ("SHUTDOWN_GRACE_SECS", "10".into()),
        ],
        ..Options::default()
    };
    let mut system = System::start("rollout", &db, options).await;
    system.create_product("MUG", 1250, 1_000).await;
    // Slow payments keep steps in flight on every worker.
    system.set_faults(json!({ "latency_ms": 150 })).await;

    let mut placed = Vec::new();
    for i in 0..40 {
        placed.push(
            system
                .place(&format!("load-{i}"), "tok_visa", &[("MUG", 1)])
                .await,
        );
    }
    // The victim must hold leases when it dies.
    let until = tokio::time::Instant::now() + DEADLINE;
    while running_on(&system, "worker-0").await == 0 {
        assert!(
            tokio::time::Instant::now() < until,
            "worker-0 never ran anything"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    signal(system.workers[0].id().unwrap(), "-KILL").unwrap();
    tokio::time::timeout(DEADLINE, system.workers[0].wait())
        .await
        .unwrap()
        .unwrap();
    // Counted once it is dead, not before: a step that finished between a
    // count and the kill was no lease to rescue.
    let killed_with = running_on(&system, "worker-0").await;
    assert!(killed_with >= 1, "worker-0 held no lease when it died");
    let draining = system.workers[1].id().unwrap();
    signal(draining, "-TERM").unwrap();

    // Orders keep coming while one worker is dead and one drains.
    for i in 40..80 {
        placed.push(
            system
                .place(&format!("load-{i}"), "tok_visa", &[("MUG", 1)])
                .await,
        );
    }
    let status = tokio::time::timeout(DEADLINE, system.workers[1].wait())
        .await
        .unwrap()
        .unwrap();
    assert!(
        status.success(),
        "the SIGTERMed worker exited with {status}"
    );
    // It drained: every step it had started finished within the grace, and
    // none was cut short and handed back.
    let interrupted: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM task_attempts WHERE worker_id = 'worker-1' AND outcome = 'interrupted'",
    )
    .fetch_one(&system.pool)
    .await
    .unwrap();
    assert_eq!(interrupted, 0, "the stopping worker interrupted steps");

    let mut settled = Vec::new();
    for id in &placed {
        settled.push(system.settled(id).await);
    }
    assert!(
        settled.iter().all(|o| o["status"] == "completed"),
        "every order completed"
    );
    let (running, rescued): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM tasks WHERE state = 'running'),
                (SELECT count(*) FROM task_attempts WHERE outcome = 'lease_expired' AND worker_id = 'worker-0')",
    )
    .fetch_one(&system.pool)
    .await
    .unwrap();
    assert_eq!(running, 0, "no task is left running");
    assert!(
        rescued >= 1,
        "worker-0 died holding {killed_with} leases; they were rescued"
    );
    let ledger: Vec<Value> = system.ledger().await;
    for id in &placed {
        let charges = ledger
            .iter()
            .filter(|e| e["order_id"] == id.as_str() && e["kind"] == "charge")
            .count();
        assert_eq!(charges, 1, "order {id} charged once");
    }
    println!(
        "80 orders; worker-0 SIGKILLed with {killed_with} steps in flight ({rescued} rescued); \
         worker-1 SIGTERMed, drained and exited 0"
    );
}
