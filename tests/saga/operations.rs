//! The operations endpoints: tasks with their attempts, retrying a dead task,
//! queue statistics.

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{Options, System, sample};

async fn queue_stats(system: &System) -> Value {
    system
        .get_json(format!("{}/v1/queue/stats", system.api))
        .await
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_operator_sees_a_dead_task_with_its_attempts_and_retries_it(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    // The worker's mail server refuses every connection: the confirmation
    // step fails every attempt and dies, and the order stays `confirmed`.
    let mut system = System::start("operations", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 5).await;
    system.start_worker_that_cannot_mail(0).await;
    let order = system.place("ops-1", "tok_visa", &[("MUG", 1)]).await;
    let dead_task = system.dead_task_of(&order).await;
    assert_eq!(system.order(&order).await["status"], "confirmed");
    assert_eq!(
        sample(
            &system.scrape(1).await,
            "asynccheckout_tasks_dead_total",
            &[("kind", "send_confirmation")]
        ),
        Some(1.0)
    );
    // The broken worker leaves; the task waits for an operator.
    system.workers[0].kill().await.unwrap();

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
    assert_eq!(task["id"], dead_task);
    assert_eq!(task["kind"], "send_confirmation");
    let history = task["history"].as_array().unwrap();
    assert_eq!(history.len(), 12, "every attempt is recorded");
    let outcomes: Vec<&str> = history
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert!(
        outcomes[..11].iter().all(|&o| o == "retried") && outcomes[11] == "failed",
        "{outcomes:?}"
    );
    assert_eq!(history[0]["worker_id"], "worker-0");
    assert!(
        task["last_error"].as_str().unwrap().contains("SMTP"),
        "{task:#}"
    );
    let stats = queue_stats(&system).await;
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
        12,
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

    let stats = queue_stats(&system).await;
    assert_eq!(stats["totals"]["available"], 1);
    assert!(stats["totals"].get("dead").is_none());
    let available = stats["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["state"] == "available")
        .unwrap();
    assert_eq!(available["kind"], "send_confirmation");
    assert!(available["oldest_run_at"].is_string());

    // With the mail server fixed, a worker runs the retried task: the order
    // completes and its confirmation arrives.
    system.start_worker(1, &[]).await;
    let settled = system.settled(&order).await;
    assert_eq!(settled["status"], "completed");
    assert_eq!(system.mail.messages().len(), 1);
}

/// The state of `order`'s task of `kind`, and its attempts so far.
async fn task_of(system: &System, order: &str, kind: &str) -> Option<(String, i32)> {
    sqlx::query_as(
        "SELECT state::text, attempts FROM tasks WHERE order_id = $1::uuid AND kind = $2",
    )
    .bind(order)
    .bind(kind)
    .fetch_optional(&system.pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_paused_kind_waits_while_the_saga_runs_around_it_and_runs_on_resume(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("pause_kind", &db, Options::default()).await;
    system.create_product("MUG", 1250, 5).await;
    let pause = |action: &'static str| {
        let url = format!("{}/v1/queue/kinds/send_confirmation/{action}", system.api);
        let http = system.http.clone();
        async move { http.post(url).send().await.unwrap() }
    };
    let paused = pause("pause").await;
    assert_eq!(paused.status(), 200);
    let paused: Value = paused.json().await.unwrap();
    assert_eq!(paused["kind"], "send_confirmation");
    assert_eq!(paused["paused"], true);
    assert!(paused["paused_at"].is_string());
    let stats = queue_stats(&system).await;
    assert_eq!(stats["paused"][0]["kind"], "send_confirmation", "{stats:#}");

    // The first order is paid and its stock reserved; its confirmation,
    // which the reservation would have handed on to run at once, waits.
    let first = system.place("pause-1", "tok_visa", &[("MUG", 1)]).await;
    system.wait_for_status(&first, "confirmed").await;
    // A second order is placed after it, and goes as far: its payment was
    // claimed after the first order's confirmation became due, so a worker
    // that took due tasks in order would have taken the confirmation first.
    let second = system.place("pause-2", "tok_visa", &[("MUG", 1)]).await;
    system.wait_for_status(&second, "confirmed").await;
    assert_eq!(
        task_of(&system, &first, "send_confirmation").await,
        Some(("available".to_owned(), 0)),
        "the paused kind's task must wait, unattempted"
    );
    assert!(system.mail.messages().is_empty());

    let resumed = pause("resume").await;
    assert_eq!(resumed.status(), 200);
    let resumed: Value = resumed.json().await.unwrap();
    assert_eq!(resumed["paused"], false);
    assert_eq!(system.settled(&first).await["status"], "completed");
    assert_eq!(system.settled(&second).await["status"], "completed");
    assert_eq!(system.mail.messages().len(), 2);
    let stats = queue_stats(&system).await;
    assert_eq!(stats["paused"], serde_json::json!([]));

    let bad = system
        .http
        .post(format!("{}/v1/queue/kinds/Not-A-Kind/pause", system.api))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
}
