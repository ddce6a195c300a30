//! `Idempotency-Key`: replays, reuse with another body, concurrent requests.

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{Options, System};

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_same_key_and_body_replays_the_order_and_another_body_is_refused(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("replay", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 5).await;
    let body = System::order_body("tok_visa", &[("MUG", 1)]);

    let first = system.post_order("key-1", &body).await;
    assert_eq!(first.status(), 202);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    let first: Value = first.json().await.unwrap();
    assert_eq!(
        location,
        format!("/v1/orders/{}", first["id"].as_str().unwrap())
    );

    let replay = system.post_order("key-1", &body).await;
    assert_eq!(replay.status(), 202);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["id"], first["id"]);

    let other = system
        .post_order("key-1", &System::order_body("tok_visa", &[("MUG", 2)]))
        .await;
    assert_eq!(other.status(), 422);
    assert_eq!(other.headers()["content-type"], "application/problem+json");
    let problem: Value = other.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/idempotency-key-reused");

    let missing = system
        .http
        .post(format!("{}/v1/orders", system.api))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
    let problem: Value = missing.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/idempotency-key-missing");

    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&system.pool)
        .await
        .unwrap();
    assert_eq!(orders, 1);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn fifty_concurrent_posts_with_one_key_make_one_order_and_one_task(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("concurrent_key", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 5).await;
    let body = System::order_body("tok_visa", &[("MUG", 1)]);

    let posts = (0..50).map(|_| system.post_order("same-key", &body));
    let responses = futures::future::join_all(posts).await;

    // The README's promise: later requests wait for the first to commit and
    // get its replay; `idempotency-key-in-use` (409) is never sent.
    let mut ids = std::collections::BTreeSet::new();
    let mut replayed = 0;
    for response in responses {
        let status = response.status().as_u16();
        let is_replay = response.headers().get("idempotent-replayed").is_some();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 202, "{body:#}");
        replayed += usize::from(is_replay);
        ids.insert(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "every answer is the same order: {ids:?}");
    assert_eq!(
        replayed, 49,
        "one request placed the order; 49 got its replay"
    );
    let (orders, tasks): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM tasks)")
            .fetch_one(&system.pool)
            .await
            .unwrap();
    assert_eq!((orders, tasks), (1, 1));
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn idempotency_keys_of_different_bodies_each_make_their_own_order(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("distinct_keys", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 5).await;
    let a = system.place("key-a", "tok_visa", &[("MUG", 1)]).await;
    let b = system.place("key-b", "tok_visa", &[("MUG", 1)]).await;
    assert_ne!(a, b);
}
