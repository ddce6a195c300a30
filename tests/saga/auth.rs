//! API keys: every operation refuses a missing, unknown or revoked key (401)
//! and a key without its scope (403), and accepts the right one.

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{Options, System};

/// Every operation, with a request that passes validation, and the scope it needs.
fn operations(
    order: &str,
    task: i64,
) -> Vec<(Method, String, Option<Value>, Option<&'static str>)> {
    let product = json!({ "sku": format!("P-{}", uuid::Uuid::new_v4().simple()), "name": "P", "price_cents": 1, "currency": "USD", "stock": 1 });
    let place = System::order_body("tok_visa", &[("MUG", 1)]);
    vec![
        (
            Method::POST,
            "/v1/products".into(),
            Some(product),
            Some("catalog:write"),
        ),
        (Method::GET, "/v1/products/MUG".into(), None, None),
        (Method::GET, "/v1/products".into(), None, None),
        (
            Method::PATCH,
            "/v1/products/MUG".into(),
            Some(json!({ "name": "Mug" })),
            Some("catalog:write"),
        ),
        (
            Method::POST,
            "/v1/products/MUG/restock".into(),
            Some(json!({ "quantity": 1 })),
            Some("catalog:write"),
        ),
        (
            Method::POST,
            "/v1/orders".into(),
            Some(place),
            Some("orders:write"),
        ),
        (
            Method::GET,
            format!("/v1/orders/{order}"),
            None,
            Some("orders:read"),
        ),
        (Method::GET, "/v1/orders".into(), None, Some("orders:read")),
        (
            Method::POST,
            format!("/v1/orders/{order}/cancel"),
            None,
            Some("orders:write"),
        ),
        (Method::GET, "/v1/tasks".into(), None, Some("admin")),
        (
            Method::POST,
            format!("/v1/tasks/{task}/retry"),
            None,
            Some("admin"),
        ),
        (Method::GET, "/v1/queue/stats".into(), None, Some("admin")),
        (Method::GET, "/v1/queue/workers".into(), None, Some("admin")),
        (
            Method::POST,
            "/v1/queue/kinds/auth_test_kind/pause".into(),
            None,
            Some("admin"),
        ),
        (
            Method::POST,
            "/v1/queue/kinds/auth_test_kind/resume".into(),
            None,
            Some("admin"),
        ),
    ]
}

async fn call(
    system: &System,
    key: Option<&str>,
    method: &Method,
    path: &str,
    body: &Option<Value>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .request(method.clone(), format!("{}{path}", system.api))
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn every_operation_checks_the_key_and_its_scope(_: PgPoolOptions, db: PgConnectOptions) {
    let system = System::start("auth_matrix", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 100).await;
    let order = system
        .place("matrix-order", "tok_visa", &[("MUG", 1)])
        .await;
    let task: i64 = sqlx::query_scalar("SELECT id FROM tasks LIMIT 1")
        .fetch_one(&system.pool)
        .await
        .unwrap();
    let scopes = ["orders:write", "orders:read", "catalog:write", "admin"];
    let mut keys = Vec::new();
    for scope in scopes {
        keys.push((scope, system.create_key(scope, &[scope]).await.1));
    }

    for (method, path, body, needed) in operations(&order, task) {
        let anonymous = call(&system, None, &method, &path, &body).await;
        assert_eq!(anonymous.status(), 401, "{method} {path} without a key");
        assert!(
            anonymous.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        assert_eq!(
            anonymous.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = anonymous.json().await.unwrap();
        assert_eq!(problem["type"], "/problems/unauthorized");
        let unknown = call(
            &system,
            Some("ak_00000000000000000000000000000000"),
            &method,
            &path,
            &body,
        )
        .await;
        assert_eq!(unknown.status(), 401, "{method} {path} with an unknown key");

        for (scope, key) in &keys {
            let allowed = needed.is_none_or(|needed| needed == *scope || *scope == "admin");
            let response = call(&system, Some(key), &method, &path, &body).await;
            let status = response.status().as_u16();
            if allowed {
                assert!(
                    status != 401 && status != 403,
                    "{method} {path} with {scope}: {status}"
                );
            } else {
                assert_eq!(status, 403, "{method} {path} with {scope}");
                let problem: Value = response.json().await.unwrap();
                assert_eq!(problem["type"], "/problems/forbidden");
            }
        }
    }
    for open in ["/healthz", "/readyz", "/openapi.json", "/docs"] {
        let response = reqwest::get(format!("{}{open}", system.api)).await.unwrap();
        assert_eq!(response.status(), 200, "{open} needs no key");
    }
}

/// The slips people make pasting a key get a 401 that names the slip.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_key_pasted_with_bearer_or_key_equals_gets_a_401_naming_the_mistake(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("pasting_mistakes", &db, Options::without_workers()).await;
    let key = &system.admin_key;
    let cases = [
        (format!("Bearer Bearer {key}"), "says Bearer twice"),
        (format!("Bearer key={key}"), "`key=` label"),
    ];
    for (header, mistake) in cases {
        let response = reqwest::Client::new()
            .get(format!("{}/v1/orders", system.api))
            .header("authorization", &header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{header}");
        let problem: Value = response.json().await.unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains(mistake),
            "{header}: {problem:#}"
        );
    }
    // The key itself works.
    let fine = reqwest::Client::new()
        .get(format!("{}/v1/orders", system.api))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(fine.status(), 200);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_revoked_key_stops_working_at_once(_: PgPoolOptions, db: PgConnectOptions) {
    let system = System::start("revoked_key", &db, Options::without_workers()).await;
    let (id, key) = system.create_key("storefront", &["orders:read"]).await;
    let read = || {
        reqwest::Client::new()
            .get(format!("{}/v1/orders", system.api))
            .bearer_auth(&key)
            .send()
    };
    assert_eq!(read().await.unwrap().status(), 200);

    assert!(system.keys_command(&["revoke", &id]).await);

    assert_eq!(read().await.unwrap().status(), 401);
    assert!(
        !system.keys_command(&["revoke", &id]).await,
        "revoking twice is an error"
    );
    let listed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL")
            .fetch_one(&system.pool)
            .await
            .unwrap();
    assert_eq!(listed, 1);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys WHERE position($1 in encode(secret_hash, 'escape')) > 0 OR prefix = $1")
        .bind(&key)
        .fetch_one(&system.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "the secret itself is never stored");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn idempotency_keys_are_scoped_to_the_api_key_that_used_them(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("scoped_idempotency", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 5).await;
    let (_, first) = system.create_key("shop-a", &["orders:write"]).await;
    let (_, second) = system.create_key("shop-b", &["orders:write"]).await;
    let body = System::order_body("tok_visa", &[("MUG", 1)]);
    let place = |key: String| {
        reqwest::Client::new()
            .post(format!("{}/v1/orders", system.api))
            .bearer_auth(key)
            .header("Idempotency-Key", "same-key")
            .json(&body)
            .send()
    };

    let a = place(first).await.unwrap();
    let b = place(second).await.unwrap();
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (202, 202));
    assert!(a.headers().get("idempotent-replayed").is_none());
    assert!(
        b.headers().get("idempotent-replayed").is_none(),
        "not a replay"
    );
    let a: Value = a.json().await.unwrap();
    let b: Value = b.json().await.unwrap();
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    assert_ne!(a, b, "two clients, two orders");
}
