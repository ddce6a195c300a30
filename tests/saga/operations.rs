//! The operations endpoints: tasks with their attempts, retrying a dead task,
//! queue statistics.

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{Options, System};

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_operator_sees_a_dead_task_with_its_attempts_and_retries_it(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    // No workers: the test plays the worker that gave up.
    let system = System::start(
        "operations",
        &db,
        Options {
            workers: 0,
            ..Options::default()
        },
    )
    .await;
    system.create_product("MUG", 1250, 5).await;
    let order = system.place("ops-1", "tok_visa", &[("MUG", 1)]).await;
    sqlx::query(
        "WITH spent AS (
             UPDATE tasks SET state = 'dead', attempts = 1, max_attempts = 1, finished_at = now(),
                              last_error = 'gateway timed out', attempted_at = now()
             WHERE order_id = $1::uuid RETURNING id)
         INSERT INTO task_attempts (task_id, attempt, worker_id, started_at, finished_at, outcome, error)
         SELECT id, 1, 'worker-a', now(), now(), 'failed', 'gateway timed out' FROM spent",
    )
    .bind(&order)
    .execute(&system.pool)
    .await
    .unwrap();

    let dead: Value = system
        .http
        .get(format!(
            "{}/v1/tasks?state=dead&order_id={order}",
            system.api
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let task = &dead["items"][0];
    assert_eq!(task["kind"], "charge_payment");
    assert_eq!(task["history"][0]["outcome"], "failed");
    assert_eq!(task["history"][0]["worker_id"], "worker-a");
    assert_eq!(task["last_error"], "gateway timed out");
    let stats: Value = system
        .http
        .get(format!("{}/v1/queue/stats", system.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["totals"]["dead"], 1);

    let id = task["id"].as_i64().unwrap();
    let retried = system
        .http
        .post(format!("{}/v1/tasks/{id}/retry", system.api))
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 200);
    let retried: Value = retried.json().await.unwrap();
    assert_eq!(retried["state"], "available");
    assert_eq!(
        retried["history"].as_array().unwrap().len(),
        1,
        "history kept"
    );
    let again = system
        .http
        .post(format!("{}/v1/tasks/{id}/retry", system.api))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409, "only a dead task can be retried");
    let missing = system
        .http
        .post(format!("{}/v1/tasks/999999/retry", system.api))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let stats: Value = system
        .http
        .get(format!("{}/v1/queue/stats", system.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["totals"]["available"], 1);
    assert!(stats["totals"].get("dead").is_none());
    let available = stats["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["state"] == "available")
        .unwrap();
    assert_eq!(available["kind"], "charge_payment");
    assert!(available["oldest_run_at"].is_string());
}
