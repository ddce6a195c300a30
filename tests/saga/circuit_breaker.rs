//! The payment gateway down for longer than an order's whole retry budget:
//! with the circuit breaker, the payment steps wait (spending no attempt)
//! and every order completes once the gateway is back; without it, each
//! order spends its attempts against the outage and is given up on.

use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{DEADLINE, Options, System, sample};

/// The charge's retry budget (`TaskKind::ChargePayment.max_attempts()`).
const CHARGE_ATTEMPTS: i64 = 8;
const ORDERS: usize = 6;

fn options(breaker: bool) -> Options {
    Options {
        worker_env: vec![
            ("CIRCUIT_BREAKER", breaker.to_string()),
            ("BREAKER_MIN_CALLS", "4".to_owned()),
            ("BREAKER_COOL_DOWN_SECS", "1".to_owned()),
            // A charge's whole budget: about 2.3 to 4.5 s of retries.
            ("RETRY_BASE_MS", "100".to_owned()),
        ],
        ..Options::default()
    }
}

async fn place_orders(system: &System) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..ORDERS {
        ids.push(
            system
                .place(&format!("outage-{i}"), "tok_visa", &[("MUG", 1)])
                .await,
        );
    }
    ids
}

async fn charge_attempts(system: &System, order: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT attempts::bigint FROM tasks WHERE order_id = $1::uuid AND kind = 'charge_payment'",
    )
    .bind(order)
    .fetch_one(&system.pool)
    .await
    .unwrap()
}

async fn breaker(system: &System) -> Value {
    let stats = system
        .get_json(format!("{}/v1/queue/stats", system.api))
        .await;
    stats["breakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["downstream"] == "payment_gateway")
        .cloned()
        .unwrap_or(Value::Null)
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn with_the_breaker_an_outage_longer_than_the_retry_budget_costs_no_order(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("breaker_on", &db, options(true)).await;
    system.create_product("MUG", 1250, 50).await;
    system.set_faults(json!({ "fail_rate": 1.0 })).await;

    let ids = place_orders(&system).await;
    // Down until eight probes have failed: eight cool-downs, longer than
    // the whole of a charge's retries.
    system
        .wait_for_count(
            "SELECT count(*) FROM circuit_breakers WHERE downstream = $1 AND probes >= 8",
            "payment_gateway",
            1,
            "eight probes while the gateway is down",
        )
        .await;
    let open = breaker(&system).await;
    assert_eq!(open["state"], "open", "{open:#}");
    assert!(
        open["kinds"]
            .as_array()
            .unwrap()
            .contains(&json!("charge_payment")),
        "{open:#}"
    );
    assert!(open["reason"].as_str().unwrap().contains("503"), "{open:#}");
    let metrics = system.scrape(1).await;
    assert_eq!(
        sample(
            &metrics,
            "asynccheckout_circuit_breaker_open",
            &[("downstream", "payment_gateway")]
        ),
        Some(1.0),
        "the worker shows the breaker open"
    );
    for id in &ids {
        assert_eq!(system.order(id).await["status"], "pending");
    }
    let (cookie, _) = crate::console::sign_in(&system, &system.admin_key, false).await;
    let page = crate::console::get_page(&system, "/ui", &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Circuit breakers") && page.contains("payment_gateway</a> is down"),
        "the console shows the breaker and what it holds"
    );
    system.set_faults(json!({})).await;

    let mut spent = 0;
    for id in &ids {
        let order = system.settled(id).await;
        assert_eq!(order["status"], "completed", "{order:#}");
        let attempts = charge_attempts(&system, id).await;
        assert!(
            attempts < CHARGE_ATTEMPTS,
            "{id}: {attempts} attempts of {CHARGE_ATTEMPTS}: the breaker should have held it"
        );
        spent += attempts;
        assert_eq!(system.ledger_for(id, "charge").await.len(), 1);
    }
    // Each order's success, the calls that opened the breaker and the eight
    // probes: well under what the orders could have spent.
    assert!(
        spent < ORDERS as i64 * CHARGE_ATTEMPTS * 2 / 3,
        "{spent} attempts in all, of {} the orders could spend",
        ORDERS as i64 * CHARGE_ATTEMPTS
    );
    let until = tokio::time::Instant::now() + DEADLINE;
    while breaker(&system).await["state"] != "closed" {
        assert!(
            tokio::time::Instant::now() < until,
            "the breaker never closed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn without_the_breaker_the_same_outage_spends_every_retry_and_gives_the_orders_up(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("breaker_off", &db, options(false)).await;
    system.create_product("MUG", 1250, 50).await;
    system.set_faults(json!({ "fail_rate": 1.0 })).await;

    let ids = place_orders(&system).await;
    for id in &ids {
        system.wait_for_status(id, "refunding").await;
    }
    system.set_faults(json!({})).await;

    for id in &ids {
        let order = system.settled(id).await;
        assert_eq!(order["status"], "refunded", "{order:#}");
        assert_eq!(charge_attempts(&system, id).await, CHARGE_ATTEMPTS);
        assert!(system.ledger_for(id, "charge").await.is_empty());
    }
    assert_eq!(
        breaker(&system).await,
        Value::Null,
        "no breaker ever opened"
    );
}
