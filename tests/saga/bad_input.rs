//! Hostile and careless input gets a 4xx problem+json, never a 5xx.

use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{Options, System};

async fn expect_problem(response: reqwest::Response, status: u16, problem: &str) -> Value {
    let got = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap();
    assert_eq!(got, status, "{body:#}");
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    assert_eq!(body["type"], format!("/problems/{problem}"), "{body:#}");
    assert_eq!(body["status"], status);
    body
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn bad_orders_get_a_clear_4xx_problem_never_a_5xx(_: PgPoolOptions, db: PgConnectOptions) {
    let system = System::start("bad_input", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 5).await;
    let order = |items: Value| json!({ "customer_email": "ada@example.com", "items": items, "payment_token": "tok_visa" });
    let item = |sku: &str, quantity: i64| json!({ "sku": sku, "quantity": quantity });

    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "unknown sku",
            order(json!([item("NOPE", 1)])),
            "items[0].sku",
        ),
        (
            "quantity 0",
            order(json!([item("MUG", 0)])),
            "items[0].quantity",
        ),
        (
            "quantity 1001",
            order(json!([item("MUG", 1001)])),
            "items[0].quantity",
        ),
        (
            "101 lines",
            order(Value::Array((0..101).map(|_| item("MUG", 1)).collect())),
            "items",
        ),
        ("no lines", order(json!([])), "items"),
        (
            "a sku twice",
            order(json!([item("MUG", 1), item("MUG", 2)])),
            "items[1].sku",
        ),
        (
            "bad email",
            json!({ "customer_email": "not-an-email", "items": [item("MUG", 1)], "payment_token": "tok_visa" }),
            "customer_email",
        ),
        (
            "unknown field",
            json!({ "customer_email": "ada@example.com", "items": [item("MUG", 1)], "payment_token": "tok_visa", "price": 1 }),
            "body",
        ),
        (
            "null items",
            json!({ "customer_email": "ada@example.com", "items": null, "payment_token": "tok_visa" }),
            "body",
        ),
        (
            "huge quantity",
            order(json!([item("MUG", i64::MAX)])),
            "items[0].quantity",
        ),
    ];
    for (i, (case, body, field)) in cases.into_iter().enumerate() {
        let response = system.post_order(&format!("bad-{i}"), &body).await;
        let problem = expect_problem(response, 422, "validation-error").await;
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&field),
            "{case}: expected an error on {field}, got {problem:#}"
        );
        // Messages are for people: no Rust debug formatting of our types.
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            !detail.contains("Sku(") && !detail.contains("Some("),
            "{case}: {detail}"
        );
        if case == "unknown sku" {
            assert_eq!(detail, r#"items[0].sku no product has sku "NOPE""#);
        }
    }

    let url = format!("{}/v1/orders", system.api);
    let malformed = system
        .http
        .post(&url)
        .header("Idempotency-Key", "m")
        .header("content-type", "application/json")
        .body("{\"customer_email\": ")
        .send()
        .await
        .unwrap();
    expect_problem(malformed, 400, "malformed-request").await;
    let text = system
        .http
        .post(&url)
        .header("Idempotency-Key", "t")
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    expect_problem(text, 415, "unsupported-media-type").await;
    let huge = system
        .http
        .post(&url)
        .header("Idempotency-Key", "h")
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    expect_problem(huge, 413, "payload-too-large").await;
    let long_key = system
        .post_order(&"k".repeat(256), &order(json!([item("MUG", 1)])))
        .await;
    expect_problem(long_key, 422, "validation-error").await;

    for id in [
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
        "%00",
        "1' OR '1'='1",
    ] {
        let response = system.http.get(format!("{url}/{id}")).send().await.unwrap();
        expect_problem(response, 404, "not-found").await;
    }
    let cancel_unknown = system
        .http
        .post(format!("{url}/not-a-uuid/cancel"))
        .send()
        .await
        .unwrap();
    expect_problem(cancel_unknown, 404, "not-found").await;
    let bad_limit = system
        .http
        .get(format!("{url}?limit=0"))
        .send()
        .await
        .unwrap();
    expect_problem(bad_limit, 422, "validation-error").await;
    let bad_status = system
        .http
        .get(format!("{url}?status=lost"))
        .send()
        .await
        .unwrap();
    expect_problem(bad_status, 422, "validation-error").await;

    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&system.pool)
        .await
        .unwrap();
    assert_eq!(orders, 0, "nothing invalid was accepted");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_catalog_validates_products_and_pages_through_them(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("catalog", &db, Options::without_workers()).await;
    let url = format!("{}/v1/products", system.api);
    for sku in ["A", "B", "C"] {
        system.create_product(sku, 100, 1).await;
    }
    let duplicate = system
        .http
        .post(&url)
        .json(&json!({ "sku": "A", "name": "A", "price_cents": 1, "currency": "USD", "stock": 1 }))
        .send()
        .await
        .unwrap();
    expect_problem(duplicate, 409, "conflict").await;
    let invalid = system.http.post(&url).json(&json!({ "sku": "has space", "name": "", "price_cents": -1, "currency": "usd", "stock": -1 })).send().await.unwrap();
    let problem = expect_problem(invalid, 422, "validation-error").await;
    assert_eq!(
        problem["errors"].as_array().unwrap().len(),
        5,
        "{problem:#}"
    );

    let first: Value = system
        .http
        .get(format!("{url}?limit=2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = system
        .http
        .get(format!("{url}?limit=2&cursor={cursor}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["items"][0]["sku"], "C");
    assert!(second["next_cursor"].is_null());

    let patched: Value = system
        .http
        .patch(format!("{url}/A"))
        .json(&json!({ "price_cents": 250 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (patched["price_cents"].as_i64(), patched["name"].as_str()),
        (Some(250), Some("A"))
    );
    let numeric_name = system
        .http
        .patch(format!("{url}/A"))
        .json(&json!({ "name": 1.5 }))
        .send()
        .await
        .unwrap();
    expect_problem(numeric_name, 422, "validation-error").await;
    let restocked: Value = system
        .http
        .post(format!("{url}/A/restock"))
        .json(&json!({ "quantity": 10 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(restocked["stock"], 11);
    let too_many = system
        .http
        .post(format!("{url}/A/restock"))
        .json(&json!({ "quantity": 1_000_001 }))
        .send()
        .await
        .unwrap();
    expect_problem(too_many, 422, "validation-error").await;
    let missing = system.http.get(format!("{url}/NOPE")).send().await.unwrap();
    expect_problem(missing, 404, "not-found").await;
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn orders_are_listed_newest_first_by_status_in_pages_and_the_spec_is_served(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("order_list", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 50).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            system
                .place(&format!("list-{i}"), "tok_visa", &[("MUG", 1)])
                .await,
        );
    }
    let cancel = system
        .http
        .post(format!("{}/v1/orders/{}/cancel", system.api, ids[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), 200);

    let url = format!("{}/v1/orders", system.api);
    let first: Value = system
        .http
        .get(format!("{url}?limit=3"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = system
        .http
        .get(format!("{url}?limit=3&cursor={cursor}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    let newest_first: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    assert_eq!(listed, newest_first);
    assert!(second["next_cursor"].is_null());
    let cancelled: Value = system
        .http
        .get(format!("{url}?status=cancelled"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cancelled: Vec<&str> = cancelled["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(cancelled, [ids[0].as_str()]);

    let served = system
        .http
        .get(format!("{}/openapi.json", system.api))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json")).unwrap();
    assert!(
        served == committed,
        "/openapi.json differs from the committed openapi.json"
    );
    let docs = system
        .http
        .get(format!("{}/docs", system.api))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    assert!(
        docs.text().await.unwrap().contains("swagger"),
        "Swagger UI at /docs"
    );
}
