//! Metrics and probes on each process's metrics port, and admission control.

use std::time::Duration;

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{DEADLINE, Options, System, sample};

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn metrics_count_every_request_step_and_order(_: PgPoolOptions, db: PgConnectOptions) {
    let system = System::start(
        "metrics",
        &db,
        Options {
            workers: 2,
            ..Options::default()
        },
    )
    .await;
    system.create_product("MUG", 1250, 100).await;
    let mut ids = Vec::new();
    for (i, token) in [
        "tok_visa",
        "tok_visa",
        "tok_visa",
        "tok_visa",
        "tok_chargeDeclined",
        "tok_chargeDeclined",
    ]
    .iter()
    .enumerate()
    {
        ids.push(
            system
                .place(&format!("metrics-{i}"), token, &[("MUG", 1)])
                .await,
        );
    }
    for id in &ids {
        system.settled(id).await;
    }

    let workers = [system.scrape(1).await, system.scrape(2).await];
    let total = |name: &str, labels: &[(&str, &str)]| {
        let found: Vec<f64> = workers
            .iter()
            .filter_map(|w| sample(w, name, labels))
            .collect();
        (!found.is_empty()).then(|| found.iter().sum::<f64>())
    };
    assert_eq!(
        total(
            "asynccheckout_tasks_claimed_total",
            &[("kind", "charge_payment")]
        ),
        Some(6.0)
    );
    assert_eq!(
        total(
            "asynccheckout_tasks_succeeded_total",
            &[("kind", "charge_payment")]
        ),
        Some(6.0)
    );
    assert_eq!(
        total(
            "asynccheckout_tasks_succeeded_total",
            &[("kind", "reserve_inventory")]
        ),
        Some(4.0)
    );
    assert_eq!(
        total(
            "asynccheckout_tasks_succeeded_total",
            &[("kind", "send_confirmation")]
        ),
        Some(4.0)
    );
    // No task died, so no dead counter was ever emitted (the operations
    // test sees it count a real dead task).
    assert_eq!(total("asynccheckout_tasks_dead_total", &[]), None);
    assert_eq!(
        total(
            "asynccheckout_orders_finished_total",
            &[("status", "completed")]
        ),
        Some(4.0)
    );
    assert_eq!(
        total(
            "asynccheckout_orders_finished_total",
            &[("status", "failed")]
        ),
        Some(2.0)
    );
    assert_eq!(
        total(
            "asynccheckout_step_duration_seconds_count",
            &[("kind", "send_confirmation"), ("outcome", "succeeded")]
        ),
        Some(4.0)
    );
    assert!(
        workers
            .iter()
            .all(|w| w.contains("asynccheckout_queue_depth{kind=\"charge_payment\"}"))
    );
    assert!(
        workers
            .iter()
            .all(|w| w.contains("asynccheckout_db_pool_connections{state=\"idle\"}"))
    );

    let api = system.scrape(0).await;
    let accepted = [
        ("method", "POST"),
        ("route", "/v1/orders"),
        ("status", "202"),
    ];
    assert_eq!(
        sample(&api, "asynccheckout_http_requests_total", &accepted),
        Some(6.0)
    );
    let reads = [
        ("method", "GET"),
        ("route", "/v1/orders/{id}"),
        ("status", "200"),
    ];
    assert!(sample(&api, "asynccheckout_http_requests_total", &reads).is_some_and(|n| n >= 6.0));
    assert!(
        sample(
            &api,
            "asynccheckout_http_request_duration_seconds_count",
            &[("route", "/v1/orders")]
        )
        .is_some_and(|n| n >= 6.0)
    );

    for port in &system.metrics {
        for probe in ["healthz", "readyz"] {
            let response = reqwest::get(format!("{port}/{probe}")).await.unwrap();
            assert_eq!(response.status(), 200, "{port}/{probe}");
        }
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn orders_are_shed_with_retry_after_while_the_backlog_is_too_old(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let options = Options {
        workers: 0,
        admission_max_queue_age_secs: 2,
        ..Options::default()
    };
    let mut system = System::start("admission", &db, options).await;
    system.create_product("MUG", 1250, 100).await;
    system.place("first", "tok_visa", &[("MUG", 1)]).await;
    // Nobody works the queue: its oldest task is made a minute old.
    sqlx::query("UPDATE tasks SET run_at = now() - interval '60 seconds'")
        .execute(&system.pool)
        .await
        .unwrap();

    let body = System::order_body("tok_visa", &[("MUG", 1)]);
    let until = tokio::time::Instant::now() + DEADLINE;
    let shed = loop {
        let response = system
            .post_order(&uuid::Uuid::new_v4().to_string(), &body)
            .await;
        if response.status() == 503 {
            break response;
        }
        assert_eq!(response.status(), 202);
        assert!(
            tokio::time::Instant::now() < until,
            "orders were never shed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    assert_eq!(shed.headers()["retry-after"], "2");
    let problem: Value = shed.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/service-unavailable");
    let api = system.scrape(0).await;
    assert!(sample(&api, "asynccheckout_orders_shed_total", &[]).is_some_and(|n| n >= 1.0));

    // A worker clears the backlog: shedding stops on its own.
    system.start_worker(0, &[]).await;
    let until = tokio::time::Instant::now() + DEADLINE;
    loop {
        let response = system
            .post_order(&uuid::Uuid::new_v4().to_string(), &body)
            .await;
        if response.status() == 202 {
            break;
        }
        assert_eq!(response.status(), 503);
        assert!(
            tokio::time::Instant::now() < until,
            "orders were still shed after the backlog cleared"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
