//! What every answer of the API carries, whatever route or failure produced
//! it: an `X-Request-Id`, problem+json for errors, `Allow` on a 405, and a
//! 503 with `Retry-After` for a request that runs out of time.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{Options, System};

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn every_answer_carries_a_request_id_and_a_405_its_allow(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("http_edges", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 5).await;
    let api = &system.api;
    let anonymous = reqwest::Client::new();
    let requests = vec![
        ("200", system.http.get(format!("{api}/v1/products/MUG"))),
        (
            "202",
            system
                .http
                .post(format!("{api}/v1/orders"))
                .header("Idempotency-Key", "rid-1")
                .json(&System::order_body("tok_visa", &[("MUG", 1)])),
        ),
        (
            "400",
            system
                .http
                .post(format!("{api}/v1/orders"))
                .header("content-type", "application/json")
                .body("{"),
        ),
        ("401", anonymous.get(format!("{api}/v1/orders"))),
        ("404", system.http.get(format!("{api}/v1/nothing-here"))),
        ("405", system.http.delete(format!("{api}/v1/orders"))),
        (
            "415",
            system
                .http
                .post(format!("{api}/v1/products"))
                .header("content-type", "text/plain")
                .body("hi"),
        ),
        (
            "422",
            system
                .http
                .post(format!("{api}/v1/products"))
                .json(&json!({ "sku": "" })),
        ),
        ("docs", anonymous.get(format!("{api}/docs"))),
        ("spec", anonymous.get(format!("{api}/openapi.json"))),
        ("healthz", anonymous.get(format!("{api}/healthz"))),
    ];
    let mut ids = std::collections::HashSet::new();
    for (what, request) in requests {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        if what.parse::<u16>().is_ok() {
            assert_eq!(status.to_string(), what, "{what}");
        }
        let id = response
            .headers()
            .get("x-request-id")
            .unwrap_or_else(|| panic!("no X-Request-Id on the {what} answer"))
            .to_str()
            .unwrap()
            .to_owned();
        assert!(ids.insert(id), "a request id was used twice");
        if status == 405 {
            assert_eq!(response.headers()["allow"], "GET, POST");
        }
        if status >= 400 {
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json",
                "{what}"
            );
        }
    }
    // One the client sends is echoed.
    let echoed = system
        .http
        .get(format!("{api}/v1/products/MUG"))
        .header("x-request-id", "my-trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "my-trace-123");

    // An order reads as a person reads it: its id first, then its status.
    let placed = system
        .post_order("rid-order", &System::order_body("tok_visa", &[("MUG", 1)]))
        .await
        .text()
        .await
        .unwrap();
    assert!(placed.starts_with(r#"{"id":""#), "{placed}");
    assert!(
        placed.contains(r#"","status":"pending","customer_email":"#),
        "{placed}"
    );

    // The bare address sends a person to the docs.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let root = no_redirects.get(format!("{api}/")).send().await.unwrap();
    assert_eq!(root.status(), 303);
    assert_eq!(root.headers()["location"], "/docs");

    // Logs written to a file carry no terminal colour codes.
    let log = system.log("api");
    assert!(log.contains("API listening"), "{log}");
    assert!(!log.contains('\u{1b}'), "ANSI escapes in a log file");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_request_past_its_deadline_is_a_503_with_retry_after(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start(
        "request_timeout",
        &db,
        Options {
            workers: 0,
            api_env: vec![("REQUEST_TIMEOUT_SECS", "1".to_owned())],
            ..Options::default()
        },
    )
    .await;
    system.create_product("MUG", 1250, 5).await;
    // A transaction of ours holds the product: the API's update waits on it.
    let mut holder = system.pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM products WHERE sku = 'MUG' FOR UPDATE")
        .execute(&mut *holder)
        .await
        .unwrap();

    let response = system
        .http
        .patch(format!("{}/v1/products/MUG", system.api))
        .json(&json!({ "name": "Renamed mug" }))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert!(response.headers().contains_key("x-request-id"));
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/service-unavailable");
    holder.rollback().await.unwrap();

    // Once the lock is gone the API answers again, and the update (which
    // may or may not have taken effect: the 503 says so) goes through.
    let retried = system
        .http
        .patch(format!("{}/v1/products/MUG", system.api))
        .json(&json!({ "name": "Renamed mug" }))
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 200);
    let product: Value = retried.json().await.unwrap();
    assert_eq!(product["name"], "Renamed mug");
}

/// A client that writes a whole oversized body before it reads, as Python's
/// urllib does, gets the 413 rather than a reset connection.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_body_too_large_sent_in_one_go_still_gets_its_413(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let system = System::start("too_large_in_one_go", &db, Options::without_workers()).await;
    let body = vec![b'x'; 4 * 1024 * 1024];
    let address = system.api.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /v1/products HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        system.admin_key,
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket
        .write_all(&body)
        .await
        .expect("the server kept reading the body");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), socket.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("/problems/payload-too-large"), "{answer}");
}
