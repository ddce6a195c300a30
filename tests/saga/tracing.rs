//! One trace from POST to completed: the `traceparent` sent with the order
//! is stored with each task, carried by each step's span, and passed on to
//! the payment gateway.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{DEADLINE, Options, System};

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

/// A stand-in OpenTelemetry collector: records every OTLP/HTTP trace export.
async fn collector() -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let store = Arc::clone(&received);
    let app = poem::Route::new().at(
        "/v1/traces",
        poem::post(poem::endpoint::make(move |req: poem::Request| {
            let store = Arc::clone(&store);
            async move {
                let body = req.into_body().into_vec().await.unwrap_or_default();
                store.lock().unwrap().push(body);
                poem::Response::builder()
                    .content_type("application/x-protobuf")
                    .body(Vec::<u8>::new())
            }
        })),
    );
    let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).unwrap();
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
    (format!("http://{addr}"), received)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn spans_are_exported_over_otlp_as_one_trace_when_a_collector_is_configured(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let (endpoint, exports) = collector().await;
    let otel = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.clone()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
    ];
    let options = Options {
        api_env: otel.clone(),
        worker_env: otel,
        ..Options::default()
    };
    let system = System::start("otlp", &db, options).await;
    system.create_product("MUG", 1250, 5).await;

    let response = system
        .http
        .post(format!("{}/v1/orders", system.api))
        .header("Idempotency-Key", "exported")
        .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
        .json(&System::order_body("tok_visa", &[("MUG", 1)]))
        .send()
        .await
        .unwrap();
    let order: Value = response.json().await.unwrap();
    assert_eq!(
        system.settled(order["id"].as_str().unwrap()).await["status"],
        "completed"
    );

    let trace_id: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&TRACE_ID[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let until = tokio::time::Instant::now() + DEADLINE;
    loop {
        let (api, worker) = {
            let exports = exports.lock().unwrap();
            let in_trace = |service: &str| {
                exports
                    .iter()
                    .any(|body| contains(body, &trace_id) && contains(body, service.as_bytes()))
            };
            (
                in_trace("asynccheckout-api"),
                in_trace("asynccheckout-worker"),
            )
        };
        if api && worker {
            break;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "spans of trace {TRACE_ID} were not exported by both the API ({api}) and the worker ({worker})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
