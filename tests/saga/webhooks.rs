//! Webhooks end to end: endpoints created over the API, every order event
//! POSTed to each endpoint subscribed to its type, each request checked by
//! a receiver with the Standard Webhooks reference library (not our code),
//! and a failing endpoint retried on its schedule, disabled by a 410, and
//! re-sent by hand.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::webhook_receiver::{Received, Reply, WebhookReceiver};

use crate::system::{DEADLINE, Options, System};

/// Webhooks to a receiver on 127.0.0.1 over http, as in development.
fn local_webhooks(worker: &[(&'static str, &str)]) -> Options {
    let open = [
        ("WEBHOOK_ALLOW_PRIVATE_URLS", "true".to_owned()),
        ("WEBHOOK_ALLOW_HTTP", "true".to_owned()),
    ];
    let mut worker_env: Vec<(&'static str, String)> = open.to_vec();
    worker_env.extend(worker.iter().map(|(k, v)| (*k, (*v).to_owned())));
    Options {
        api_env: open.to_vec(),
        worker_env,
        ..Options::default()
    }
}

impl System {
    /// Creates an endpoint; returns its id and secret.
    async fn create_endpoint(&self, url: &str, types: &[&str]) -> (String, String) {
        let response = self
            .http
            .post(format!("{}/v1/webhook-endpoints", self.api))
            .json(&json!({ "url": url, "event_types": types, "description": "test" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let created: Value = response.json().await.unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!(location, format!("/v1/webhook-endpoints/{id}"));
        let secret = created["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_"), "{secret}");
        (id, secret)
    }

    async fn endpoint(&self, id: &str) -> Value {
        self.get_json(format!("{}/v1/webhook-endpoints/{id}", self.api))
            .await
    }

    /// Waits until endpoint `id`'s one delivery has failed for good: the
    /// worker writes that last, after the receiver has seen its request.
    async fn failed_delivery(&self, id: &str) -> Vec<Value> {
        let until = tokio::time::Instant::now() + DEADLINE;
        loop {
            let deliveries = self.deliveries(id).await;
            if deliveries.iter().any(|d| d["state"] == "failed") {
                return deliveries;
            }
            assert!(
                tokio::time::Instant::now() < until,
                "no delivery failed: {deliveries:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn deliveries(&self, id: &str) -> Vec<Value> {
        let page = self
            .get_json(format!(
                "{}/v1/webhook-endpoints/{id}/deliveries?limit=100",
                self.api
            ))
            .await;
        page["items"].as_array().unwrap().clone()
    }

    /// Every event so far, oldest first.
    async fn all_events(&self) -> Vec<Value> {
        let page = self
            .get_json(format!("{}/v1/events?limit=100", self.api))
            .await;
        page["items"].as_array().unwrap().clone()
    }

    /// Waits until every history entry of `orders` is an event, and returns
    /// the events.
    async fn settled_events(&self, orders: &[&str]) -> Vec<Value> {
        let mut expected = 0;
        for order in orders {
            expected += self.settled(order).await["history"]
                .as_array()
                .unwrap()
                .len();
        }
        let until = tokio::time::Instant::now() + DEADLINE;
        loop {
            let events = self.all_events().await;
            if events.len() >= expected {
                return events;
            }
            assert!(
                tokio::time::Instant::now() < until,
                "{} of {expected} events",
                events.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

fn ids(received: &[Received]) -> Vec<String> {
    received.iter().map(|r| r.webhook_id.clone()).collect()
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn every_event_reaches_each_subscribed_endpoint_signed_verifiably(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("webhooks_signed", &db, local_webhooks(&[])).await;
    let everything = WebhookReceiver::start().await.unwrap();
    let outcomes = WebhookReceiver::start().await.unwrap();
    let (all_id, all_secret) = system.create_endpoint(&everything.url, &[]).await;
    let (_, outcome_secret) = system
        .create_endpoint(&outcomes.url, &["order.completed", "order.failed"])
        .await;
    everything.trust(&all_secret);
    outcomes.trust(&outcome_secret);
    // The secret is shown once, never read back.
    let shown = system.endpoint(&all_id).await;
    assert_eq!(shown["secret"], Value::Null);
    assert_eq!(shown["enabled"], true);
    assert_eq!(shown["event_types"], json!([]));

    system.create_product("MUG", 1250, 10).await;
    let completed = system.place("wh-1", "tok_visa", &[("MUG", 1)]).await;
    let declined = system
        .place("wh-2", "tok_chargeDeclined", &[("MUG", 1)])
        .await;
    let events = system.settled_events(&[&completed, &declined]).await;

    let received = everything
        .wait_for(DEADLINE, |r| r.len() >= events.len())
        .await
        .unwrap_or_else(|r| panic!("{} of {} events delivered", r.len(), events.len()));
    // Each event once (no retries were needed), signed with the endpoint's
    // secret as the reference library checks it, `webhook-id` its id, and
    // the body the event `GET /v1/events` shows.
    let mut delivered = ids(&received);
    delivered.sort_by_key(|id| id.parse::<i64>().unwrap());
    let expected: Vec<String> = events.iter().map(|e| e["id"].to_string()).collect();
    assert_eq!(delivered, expected);
    for r in &received {
        assert_eq!(
            r.verified_with,
            [0],
            "request {} failed verification",
            r.webhook_id
        );
        assert_eq!(r.body["id"].to_string(), r.webhook_id);
        let event = events.iter().find(|e| e["id"] == r.body["id"]).unwrap();
        assert_eq!(r.body["type"], event["type"]);
        assert_eq!(r.body["data"]["object"], event["data"]["object"]);
        let created = |v: &Value| {
            chrono::DateTime::parse_from_rfc3339(v["created"].as_str().unwrap()).unwrap()
        };
        assert_eq!(created(&r.body), created(event));
    }

    // The other endpoint got the outcomes only.
    let outcome_events: Vec<&Value> = events
        .iter()
        .filter(|e| ["order.completed", "order.failed"].contains(&e["type"].as_str().unwrap()))
        .collect();
    assert_eq!(outcome_events.len(), 2);
    let received = outcomes.wait_for(DEADLINE, |r| r.len() >= 2).await.unwrap();
    let mut types: Vec<&str> = received
        .iter()
        .map(|r| r.body["type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(types, ["order.completed", "order.failed"]);
    assert!(received.iter().all(|r| r.verified_with == [0]));

    // Every delivery is listed, succeeded at its first attempt.
    let deliveries = system.deliveries(&all_id).await;
    assert_eq!(deliveries.len(), events.len());
    for d in &deliveries {
        assert_eq!(d["state"], "succeeded", "{d}");
        let attempts = d["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "{d}");
        assert_eq!(attempts[0]["status_code"], 200);
    }

    // A rotated secret signs beside the new one until it expires, so both
    // the receiver's old and new configuration verify.
    let rotated: Value = system
        .http
        .post(format!(
            "{}/v1/webhook-endpoints/{all_id}/rotate-secret",
            system.api
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_secret = rotated["secret"].as_str().unwrap();
    assert_ne!(new_secret, all_secret);
    assert!(rotated["previous_secret_expires_at"].is_string());
    everything.trust(new_secret);
    let before = everything.received().len();
    let third = system.place("wh-3", "tok_visa", &[("MUG", 1)]).await;
    let history = system.settled(&third).await["history"]
        .as_array()
        .unwrap()
        .len();
    let received = everything
        .wait_for(DEADLINE, |r| r.len() >= before + history)
        .await
        .unwrap();
    for r in &received[before..] {
        assert_eq!(r.verified_with, [0, 1], "request {}", r.webhook_id);
        assert_eq!(r.signature.split(' ').count(), 2);
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_failing_endpoint_is_retried_then_disabled_by_410_and_resent_by_hand(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let options = local_webhooks(&[
        ("WEBHOOK_RETRY_SCHEDULE", "1s,2s,1s,1s,1s"),
        ("WEBHOOK_TIMEOUT_SECS", "1"),
    ]);
    let system = System::start("webhooks_failing", &db, options).await;
    let receiver = WebhookReceiver::start().await.unwrap();
    let (id, secret) = system
        .create_endpoint(&receiver.url, &["order.completed"])
        .await;
    receiver.trust(&secret);
    receiver.script([
        Reply::Status(503, Some(3)),
        Reply::Hang(Duration::from_secs(5)),
        Reply::Status(500, None),
        Reply::Status(410, None),
    ]);

    system.create_product("MUG", 1250, 10).await;
    let order = system.place("wh-fail", "tok_visa", &[("MUG", 1)]).await;
    system.settled(&order).await;
    let received = receiver
        .wait_for(DEADLINE * 2, |r| r.len() >= 4)
        .await
        .unwrap_or_else(|r| panic!("only {} requests", r.len()));
    // The same event each time, each signed.
    assert!(
        received
            .iter()
            .all(|r| r.webhook_id == received[0].webhook_id)
    );
    assert!(received.iter().all(|r| r.verified_with == [0]));
    // The 503's Retry-After (3 s) outweighed the schedule's 1 s; after the
    // hang (cut at the 1 s timeout) the schedule's 2 s.
    let gap = |i: usize| received[i + 1].at - received[i].at;
    assert!(
        gap(0) >= Duration::from_secs(3),
        "after the 503: {:?}",
        gap(0)
    );
    assert!(
        gap(1) >= Duration::from_secs(3),
        "after the hang: {:?}",
        gap(1)
    );

    // The 410 disabled the endpoint at once (no retry), saying why.
    let deliveries = system.failed_delivery(&id).await;
    let endpoint = system.endpoint(&id).await;
    assert_eq!(endpoint["enabled"], false);
    assert!(
        endpoint["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410"),
        "{endpoint}"
    );
    assert_eq!(deliveries.len(), 1);
    let delivery = &deliveries[0];
    assert_eq!(delivery["state"], "failed");
    assert_eq!(delivery["event_id"].to_string(), received[0].webhook_id);
    let statuses: Vec<Value> = delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].clone())
        .collect();
    assert_eq!(statuses, [json!(503), Value::Null, json!(500), json!(410)]);
    let hang = &delivery["attempts"][1];
    assert!(
        hang["error"].as_str().unwrap().contains("timeout"),
        "{hang}"
    );
    assert_eq!(delivery["attempts"][0]["response_body"], "answered 503");

    // A disabled endpoint is sent nothing new.
    let later = system.place("wh-later", "tok_visa", &[("MUG", 1)]).await;
    system.settled_events(&[&order, &later]).await;
    assert_eq!(system.deliveries(&id).await.len(), 1);

    // Enabled again and the failed delivery re-sent by hand: it arrives,
    // with the same webhook-id, and succeeds.
    let enabled: Value = system
        .http
        .patch(format!("{}/v1/webhook-endpoints/{id}", system.api))
        .json(&json!({ "enabled": true }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(enabled["enabled"], true);
    assert_eq!(enabled["disabled_reason"], Value::Null);
    let delivery_id = delivery["id"].as_i64().unwrap();
    let resent = system
        .http
        .post(format!(
            "{}/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/retry",
            system.api
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resent.status(), 202);
    let received = receiver.wait_for(DEADLINE, |r| r.len() >= 5).await.unwrap();
    assert_eq!(received[4].webhook_id, received[0].webhook_id);
    assert_eq!(received[4].answered, 200);
    let until = tokio::time::Instant::now() + DEADLINE;
    loop {
        let delivery = system.deliveries(&id).await.remove(0);
        if delivery["state"] == "succeeded" {
            assert_eq!(delivery["attempts"].as_array().unwrap().len(), 5);
            break;
        }
        assert!(tokio::time::Instant::now() < until, "{delivery}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn private_and_plain_http_urls_are_refused_unless_allowed(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    // The API as deployed by default: https to public addresses only.
    let system = System::start("webhooks_urls", &db, Options::without_workers()).await;
    for (url, says) in [
        ("http://shop.example/hooks", "https"),
        ("https://127.0.0.1:9000/hooks", "private"),
        ("https://localhost:9000/hooks", "private"),
        ("https://[::1]/hooks", "private"),
        ("https://user:pw@shop.example/hooks", "password"),
        ("not a url", "absolute URL"),
    ] {
        let response = system
            .http
            .post(format!("{}/v1/webhook-endpoints", system.api))
            .json(&json!({ "url": url }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{url}");
        let problem: Value = response.json().await.unwrap();
        let detail = problem.to_string();
        assert!(detail.contains(says), "{url}: {detail}");
    }
    let response = system
        .http
        .post(format!("{}/v1/webhook-endpoints", system.api))
        .json(&json!({ "url": "https://shop.example/hooks", "event_types": ["order.shipped"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_worker_checks_the_address_again_when_it_delivers(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    // The API let the URL through (say DNS pointed elsewhere then); the
    // worker, which allows no private address, must not call it now.
    let mut options = local_webhooks(&[("WEBHOOK_RETRY_SCHEDULE", "100ms")]);
    options
        .worker_env
        .retain(|(name, _)| *name != "WEBHOOK_ALLOW_PRIVATE_URLS");
    let system = System::start("webhooks_recheck", &db, options).await;
    let receiver = WebhookReceiver::start().await.unwrap();
    let url = receiver.url.replace("127.0.0.1", "localhost");
    let (id, _) = system.create_endpoint(&url, &["order.pending"]).await;

    system.create_product("MUG", 1250, 10).await;
    system.place("wh-private", "tok_visa", &[("MUG", 1)]).await;
    let until = tokio::time::Instant::now() + DEADLINE;
    let delivery = loop {
        let deliveries = system.deliveries(&id).await;
        if deliveries.first().is_some_and(|d| d["state"] == "failed") {
            break deliveries[0].clone();
        }
        assert!(tokio::time::Instant::now() < until, "{deliveries:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{delivery}");
    for attempt in attempts {
        assert_eq!(attempt["status_code"], Value::Null);
        let error = attempt["error"].as_str().unwrap();
        assert!(error.contains("private"), "{error}");
    }
    assert!(receiver.received().is_empty());
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_slow_endpoint_gets_its_share_of_slots_and_no_more(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let options = local_webhooks(&[
        ("WEBHOOK_CONCURRENCY", "8"),
        ("WEBHOOK_ENDPOINT_CONCURRENCY", "2"),
        ("WEBHOOK_TIMEOUT_SECS", "5"),
    ]);
    let system = System::start("webhooks_share", &db, options).await;
    let slow = WebhookReceiver::start().await.unwrap();
    let fast = WebhookReceiver::start().await.unwrap();
    // Every answer from the slow one takes a second.
    slow.script((0..100).map(|_| Reply::Hang(Duration::from_secs(1))));
    system.create_endpoint(&slow.url, &[]).await;
    system.create_endpoint(&fast.url, &[]).await;

    system.create_product("MUG", 1250, 10).await;
    let mut orders = Vec::new();
    for i in 0..4 {
        orders.push(
            system
                .place(&format!("wh-share-{i}"), "tok_visa", &[("MUG", 1)])
                .await,
        );
    }
    let order_refs: Vec<&str> = orders.iter().map(String::as_str).collect();
    let events = system.settled_events(&order_refs).await.len();

    // The fast endpoint gets everything while the slow one, two at a time,
    // is still working through its backlog...
    fast.wait_for(DEADLINE, |r| r.len() >= events)
        .await
        .unwrap();
    assert!(
        slow.received().len() < events,
        "the slow endpoint kept up: the test shows nothing"
    );
    // ...which it gets too, never more than two at once.
    slow.wait_for(DEADLINE, |r| r.len() >= events)
        .await
        .unwrap();
    assert_eq!(slow.max_in_flight(), 2);
}

/// A webhook is sent only once its event is readable: while a transaction
/// that began writing before the event is still open, a merchant paging
/// `GET /v1/events` after the webhook's id could otherwise skip an event
/// that the open transaction writes later with a smaller id.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_webhook_waits_until_its_event_is_readable(_: PgPoolOptions, db: PgConnectOptions) {
    let system = System::start(
        "webhooks_readable",
        &db,
        local_webhooks(&[("WEBHOOK_RETRY_SCHEDULE", "100ms")]),
    )
    .await;
    let receiver = WebhookReceiver::start().await.unwrap();
    let (_, secret) = system
        .create_endpoint(&receiver.url, &["order.pending"])
        .await;
    receiver.trust(&secret);
    system.create_product("MUG", 1250, 10).await;

    // A transaction that has begun writing (it holds a transaction id) and
    // stays open.
    let mut open = system.pool.begin().await.unwrap();
    let _: String = sqlx::query_scalar("SELECT pg_current_xact_id()::text")
        .fetch_one(&mut *open)
        .await
        .unwrap();

    let order = system.place("wh-readable", "tok_visa", &[("MUG", 1)]).await;
    // The delivery gives up waiting once, saying why; nothing was sent.
    system
        .wait_for_count(
            "SELECT count(*) FROM tasks
             WHERE kind = 'deliver_webhook' AND last_error LIKE $1",
            "%not readable yet%",
            1,
            "the delivery waiting for its event",
        )
        .await;
    assert!(receiver.received().is_empty(), "sent before readable");

    // The transaction ends: the webhook goes, and its event is readable.
    open.commit().await.unwrap();
    let received = receiver
        .wait_for(DEADLINE, |received| !received.is_empty())
        .await
        .unwrap();
    assert_eq!(received[0].verified_with, [0]);
    let id: i64 = received[0].webhook_id.parse().unwrap();
    let page = system
        .get_json(format!("{}/v1/events?after={}&limit=1", system.api, id - 1))
        .await;
    assert_eq!(page["items"][0]["id"], id);
    assert_eq!(page["items"][0]["data"]["object"]["id"], order.as_str());
}
