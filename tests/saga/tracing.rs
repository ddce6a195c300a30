//! One trace from POST to completed: the `traceparent` sent with the order
//! is stored with each task, carried by each step's span, and passed on to
//! the payment gateway.

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{Options, System};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_traceparent_of_the_post_follows_every_step(_: PgPoolOptions, db: PgConnectOptions) {
    let options = Options {
        worker_env: vec![
            ("LOG_FORMAT", "json".into()),
            ("RUST_LOG", "info,worker=debug".into()),
        ],
        ..Options::default()
    };
    let system = System::start("tracing", &db, options).await;
    system.create_product("MUG", 1250, 5).await;

    let response = system
        .http
        .post(format!("{}/v1/orders", system.api))
        .header("Idempotency-Key", "traced")
        .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
        .json(&System::order_body("tok_visa", &[("MUG", 1)]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let order: Value = response.json().await.unwrap();
    let id = order["id"].as_str().unwrap();
    assert_eq!(system.settled(id).await["status"], "completed");

    let contexts: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, traceparent FROM tasks WHERE order_id = $1::uuid ORDER BY id")
            .bind(id)
            .fetch_all(&system.pool)
            .await
            .unwrap();
    assert_eq!(contexts.len(), 3);
    for (kind, traceparent) in &contexts {
        assert!(
            traceparent.starts_with(&format!("00-{TRACE_ID}-")),
            "{kind}: {traceparent}"
        );
    }
    let parents: std::collections::HashSet<&str> =
        contexts.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(parents.len(), 3, "each hop is a new span of the same trace");

    let worker = system.log("worker-0");
    for kind in ["charge_payment", "reserve_inventory", "send_confirmation"] {
        let traced = worker.lines().any(|line| {
            line.contains(&format!("\"trace_id\":\"{TRACE_ID}\""))
                && line.contains(&format!("\"kind\":\"{kind}\""))
        });
        assert!(traced, "no {kind} step logged in trace {TRACE_ID}");
    }
    assert!(
        system.log("gateway").contains(&format!("00-{TRACE_ID}-")),
        "the gateway received the trace"
    );
}
