//! Order events (`GET /v1/events`): one per status an order took, written
//! with the move itself, read in the order they became readable (no later
//! commit ever lands below an id that was read), each carrying the order as
//! the API showed it then.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use testkit::sse::{SseEvent, SseReader};

use crate::system::{DEADLINE, Options, System};

impl System {
    /// Every event after `after`, paging `limit` at a time.
    async fn events_after(&self, after: i64, query: &str, limit: usize) -> Vec<Value> {
        let mut events = Vec::new();
        let mut cursor = after;
        loop {
            let page = self
                .get_json(format!(
                    "{}/v1/events?after={cursor}&limit={limit}{query}",
                    self.api
                ))
                .await;
            let items = page["items"].as_array().unwrap().clone();
            if items.is_empty() {
                assert_eq!(page["next_after"], Value::Null);
                return events;
            }
            cursor = page["next_after"].as_i64().unwrap();
            assert_eq!(Some(cursor), items.last().unwrap()["id"].as_i64());
            events.extend(items);
        }
    }

    /// Waits until `count` events can be read, and returns them all.
    async fn wait_for_events(&self, count: usize) -> Vec<Value> {
        let until = tokio::time::Instant::now() + DEADLINE;
        loop {
            let events = self.events_after(0, "", 100).await;
            if events.len() >= count {
                return events;
            }
            assert!(
                tokio::time::Instant::now() < until,
                "only {} of {count} events appeared",
                events.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn every_status_an_order_takes_is_an_event_in_order(_: PgPoolOptions, db: PgConnectOptions) {
    let system = System::start("events_order", &db, Options::default()).await;
    system.create_product("MUG", 1250, 1).await;
    let completed = system.place("ev-1", "tok_visa", &[("MUG", 1)]).await;
    let declined = system
        .place("ev-2", "tok_chargeDeclined", &[("MUG", 1)])
        .await;
    let mut settled = HashMap::new();
    for id in [&completed, &declined] {
        settled.insert(id.clone(), system.settled(id).await);
    }
    let histories: usize = settled
        .values()
        .map(|o| o["history"].as_array().unwrap().len())
        .sum();
    let events = system.wait_for_events(histories).await;

    // Ids that only grow, and the same events read in pages of 3.
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_eq!(ids.len(), histories);
    assert_eq!(system.events_after(0, "", 3).await, events);

    // Per order, the events follow its history, each with the order as it
    // stood: its status, and its history up to that point.
    for (id, order) in &settled {
        let history: Vec<&str> = order["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["status"].as_str().unwrap())
            .collect();
        let own: Vec<&Value> = events
            .iter()
            .filter(|e| e["data"]["object"]["id"] == *id.as_str())
            .collect();
        let types: Vec<String> = own
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<String> = history.iter().map(|s| format!("order.{s}")).collect();
        assert_eq!(types, expected, "order {id}");
        for (n, event) in own.iter().enumerate() {
            let object = &event["data"]["object"];
            assert_eq!(object["status"], history[n], "{event:#}");
            assert_eq!(object["history"].as_array().unwrap().len(), n + 1);
            assert_eq!(event["created"], order["history"][n]["at"], "{event:#}");
        }
        // The last event's order is the order as it is now, but for its
        // tasks, which moved on after the status did.
        let mut last = own.last().unwrap()["data"]["object"].clone();
        let mut now = order.clone();
        for order in [&mut last, &mut now] {
            order.as_object_mut().unwrap().remove("tasks");
        }
        assert_eq!(last, now);
    }
    assert_eq!(settled[&completed]["status"], "completed");
    assert_eq!(settled[&declined]["status"], "failed");

    // Filtered by type.
    let finished = system
        .events_after(0, "&types=order.completed,order.failed", 100)
        .await;
    let finished: std::collections::BTreeSet<(&str, &str)> = finished
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["data"]["object"]["id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        finished,
        [
            ("order.completed", completed.as_str()),
            ("order.failed", declined.as_str())
        ]
        .into_iter()
        .collect()
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_reader_never_misses_an_event_that_commits_after_a_later_one(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("events_late_commit", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 5).await;
    let first = system.place("late-1", "tok_visa", &[("MUG", 1)]).await;
    let second = system.place("late-2", "tok_visa", &[("MUG", 1)]).await;
    let read = system.wait_for_events(2).await;
    let mut cursor = read.last().unwrap()["id"].as_i64().unwrap();

    // The first order's move is written first and committed last.
    let mut slow = system.pool.begin().await.unwrap();
    sqlx::query("UPDATE orders SET status = 'cancelled' WHERE id = $1::uuid")
        .bind(&first)
        .execute(&mut *slow)
        .await
        .unwrap();
    sqlx::query("INSERT INTO order_history (order_id, status, reason) VALUES ($1::uuid, 'cancelled', 'slow')")
        .bind(&first)
        .execute(&mut *slow)
        .await
        .unwrap();
    let mut fast = system.pool.begin().await.unwrap();
    sqlx::query("UPDATE orders SET status = 'cancelled' WHERE id = $1::uuid")
        .bind(&second)
        .execute(&mut *fast)
        .await
        .unwrap();
    sqlx::query("INSERT INTO order_history (order_id, status, reason) VALUES ($1::uuid, 'cancelled', 'fast')")
        .bind(&second)
        .execute(&mut *fast)
        .await
        .unwrap();
    fast.commit().await.unwrap();

    // The fast one has committed, but the slow one, which began writing
    // first, is still open: a reader is shown neither, for the slow one's
    // event may yet take an id below the fast one's.
    let held = system.events_after(cursor, "", 100).await;
    assert_eq!(
        held,
        Vec::<serde_json::Value>::new(),
        "served past an open transaction"
    );

    // The slow one commits: a reader resuming after what it saw gets both,
    // the slow one's first (its transaction's id is the smaller).
    slow.commit().await.unwrap();
    let mut seen = Vec::new();
    let until = tokio::time::Instant::now() + DEADLINE;
    while seen.len() < 2 {
        let new = system.events_after(cursor, "", 100).await;
        if let Some(last) = new.last() {
            cursor = last["id"].as_i64().unwrap();
        }
        seen.extend(new);
        assert!(
            tokio::time::Instant::now() < until,
            "an event that committed late was missed: {seen:#?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(seen.len(), 2, "{seen:#?}");
    assert_eq!(seen[0]["data"]["object"]["id"], first.as_str());
    assert_eq!(seen[0]["data"]["object"]["history"][1]["reason"], "slow");
    assert_eq!(seen[1]["data"]["object"]["id"], second.as_str());
    assert_eq!(seen[1]["data"]["object"]["history"][1]["reason"], "fast");
    assert!(seen[0]["id"].as_i64() < seen[1]["id"].as_i64());
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn event_queries_are_checked(_: PgPoolOptions, db: PgConnectOptions) {
    let system = System::start("events_queries", &db, Options::without_workers()).await;
    for query in [
        "after=-1",
        "limit=0",
        "limit=101",
        "types=order.shipped",
        "after=x",
    ] {
        let response = system
            .http
            .get(format!("{}/v1/events?{query}", system.api))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{query}");
    }
    let anonymous = reqwest::get(format!("{}/v1/events", system.api))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

/// A Server-Sent Events client on one response, reading events as they come.
pub(crate) struct SseClient(SseReader);

impl SseClient {
    pub(crate) async fn open(system: &System, path: &str, last_event_id: Option<i64>) -> Self {
        let mut request = system.http.get(format!("{}{path}", system.api));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        Self::from_response(request.send().await.unwrap())
    }

    /// Reads the stream `response` holds.
    fn from_response(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self(SseReader::new(response))
    }

    /// The next event; `None` when the server ended the stream. Comment
    /// lines (keep-alives) are skipped, but do not extend the deadline.
    pub(crate) async fn next(&mut self) -> Option<SseEvent> {
        tokio::time::timeout(DEADLINE, self.0.next())
            .await
            .expect("no event within the deadline")
            .unwrap()
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_shopper_follows_an_order_and_resumes_where_it_left_off(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("events_follow", &db, Options::default()).await;
    system.create_product("MUG", 1250, 5).await;
    // Slow payments: the saga is still running when the shopper's page drops.
    system
        .set_faults(serde_json::json!({ "latency_ms": 300 }))
        .await;
    let order = system.place("follow-1", "tok_visa", &[("MUG", 1)]).await;
    let path = format!("/v1/orders/{order}/events");

    let mut first = SseClient::open(&system, &path, None).await;
    let placed = first.next().await.unwrap();
    assert_eq!(placed.event, "order.pending");
    assert_eq!(placed.data["id"], placed.id);
    assert_eq!(placed.data["data"]["object"]["id"], order.as_str());
    drop(first);

    // Back with the id it saw last: the rest, once each, then the end.
    let mut resumed = SseClient::open(&system, &path, Some(placed.id)).await;
    let mut rest = Vec::new();
    while let Some(event) = resumed.next().await {
        rest.push(event);
    }
    let types: Vec<&str> = rest.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(types, ["order.paid", "order.confirmed", "order.completed"]);
    assert!(rest.windows(2).all(|w| w[0].id < w[1].id), "{rest:?}");
    assert!(rest[0].id > placed.id);
    for event in &rest {
        assert_eq!(event.data["type"], event.event.as_str());
        assert_eq!(event.data["data"]["object"]["id"], order.as_str());
    }

    // Opened after the end: the whole story, then the end at once.
    let mut late = SseClient::open(&system, &path, None).await;
    let mut story = Vec::new();
    while let Some(event) = late.next().await {
        story.push(event.event);
    }
    assert_eq!(
        story,
        [
            "order.pending",
            "order.paid",
            "order.confirmed",
            "order.completed"
        ]
    );

    // An order that does not exist, and a Last-Event-ID that is no id.
    let missing = system
        .http
        .get(format!(
            "{}/v1/orders/01a21436-b906-7687-8cd3-6050832ab317/events",
            system.api
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let garbled = system
        .http
        .get(format!("{}{path}", system.api))
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(garbled.status(), 422);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_dashboard_follows_every_order_live(_: PgPoolOptions, db: PgConnectOptions) {
    let system = System::start("events_dashboard", &db, Options::default()).await;
    system.create_product("MUG", 1250, 5).await;
    let mut everything = SseClient::open(&system, "/v1/events/stream", None).await;
    let mut finished = SseClient::open(
        &system,
        "/v1/events/stream?types=order.completed,order.failed",
        None,
    )
    .await;
    let orders = [
        system.place("dash-1", "tok_visa", &[("MUG", 1)]).await,
        system
            .place("dash-2", "tok_chargeDeclined", &[("MUG", 1)])
            .await,
        system.place("dash-3", "tok_visa", &[("MUG", 1)]).await,
    ];
    for order in &orders {
        system.settled(order).await;
    }
    let total: usize = {
        let mut total = 0;
        for order in &orders {
            total += system.order(order).await["history"]
                .as_array()
                .unwrap()
                .len();
        }
        total
    };
    let mut seen = Vec::new();
    while seen.len() < total {
        seen.push(everything.next().await.unwrap());
    }
    // Every event once, in id order, with none missed: what the database
    // holds from the first one on.
    let ids: Vec<i64> = seen.iter().map(|e| e.id).collect();
    let stored: Vec<i64> = system
        .events_after(ids[0] - 1, "", 100)
        .await
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, stored);
    let mut terminal = Vec::new();
    while terminal.len() < 3 {
        terminal.push(finished.next().await.unwrap());
    }
    let mut ends: Vec<(String, String)> = terminal
        .iter()
        .map(|e| {
            (
                e.data["data"]["object"]["id"].as_str().unwrap().to_owned(),
                e.event.clone(),
            )
        })
        .collect();
    ends.sort();
    let mut expected = vec![
        (orders[0].clone(), "order.completed".to_owned()),
        (orders[1].clone(), "order.failed".to_owned()),
        (orders[2].clone(), "order.completed".to_owned()),
    ];
    expected.sort();
    assert_eq!(ends, expected);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_browser_follows_an_order_with_a_stream_token_and_no_key(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("events_token", &db, Options::default()).await;
    system.create_product("MUG", 1250, 5).await;
    let (key_id, key) = system
        .create_key("storefront backend", &["orders:read"])
        .await;
    let order = system.place("token-1", "tok_visa", &[("MUG", 1)]).await;
    let other = system.place("token-2", "tok_visa", &[("MUG", 1)]).await;

    // The merchant's backend mints a token with its key...
    let minted = reqwest::Client::new()
        .post(format!("{}/v1/orders/{order}/stream-tokens", system.api))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(minted.status(), 201);
    let minted: Value = minted.json().await.unwrap();
    let token = minted["token"].as_str().unwrap();
    assert!(token.starts_with("st_"), "{minted}");
    assert_eq!(
        minted["events_url"],
        format!("/v1/orders/{order}/events?token={token}")
    );

    // ...and the shopper's browser, which holds no key and sends no
    // Authorization header, follows the order to its end with it.
    let browser = reqwest::Client::new();
    let events_url = format!("{}{}", system.api, minted["events_url"].as_str().unwrap());
    let mut stream = SseClient::from_response(browser.get(&events_url).send().await.unwrap());
    let mut story = Vec::new();
    while let Some(event) = stream.next().await {
        story.push(event.event);
    }
    assert_eq!(
        story,
        [
            "order.pending",
            "order.paid",
            "order.confirmed",
            "order.completed"
        ]
    );

    // It is good for that order's events and nothing else.
    let status = |url: String| {
        let browser = browser.clone();
        async move { browser.get(url).send().await.unwrap().status() }
    };
    let api = system.api.clone();
    assert_eq!(
        status(format!("{api}/v1/orders/{other}/events?token={token}")).await,
        403
    );
    assert_eq!(
        status(format!("{api}/v1/orders/{order}?token={token}")).await,
        401
    );
    assert_eq!(
        status(format!("{api}/v1/events/stream?token={token}")).await,
        401
    );
    assert_eq!(
        status(format!(
            "{api}/v1/orders/{order}/events?token=st_00000000000000000000000000000000"
        ))
        .await,
        401
    );

    // Revoking the key that minted it ends the token too.
    assert!(system.keys_command(&["revoke", &key_id]).await);
    assert_eq!(status(events_url).await, 401);
}

#[tokio::test]
async fn a_postgres_restart_mid_stream_loses_no_event() {
    let (cluster, db) = crate::database_restart::private_database("stream-restart-cluster").await;
    let system = System::start("events_restart", &db, Options::default()).await;
    system.create_product("MUG", 1250, 100).await;
    // Slow payments: sagas are in flight when the database goes.
    system
        .set_faults(serde_json::json!({ "latency_ms": 200 }))
        .await;
    let mut dashboard = SseClient::open(&system, "/v1/events/stream", None).await;
    let unavailable = std::sync::atomic::AtomicUsize::new(0);
    let mut orders = Vec::new();
    for i in 0..5 {
        let key = format!("before-{i}");
        orders
            .push(crate::database_restart::place_until_accepted(&system, &key, &unavailable).await);
    }
    // The first event is through: the stream is live, then the server restarts
    // under it (every connection dropped, the feed's too).
    let first = dashboard.next().await.unwrap();
    let cluster = std::sync::Arc::new(cluster);
    let restarting = std::sync::Arc::clone(&cluster);
    tokio::task::spawn_blocking(move || {
        use testkit::cluster::ClusterFaults;
        restarting.restart()
    })
    .await
    .unwrap()
    .unwrap();
    for i in 0..5 {
        let key = format!("after-{i}");
        orders
            .push(crate::database_restart::place_until_accepted(&system, &key, &unavailable).await);
    }
    let mut events = 0;
    for order in &orders {
        events += system.settled(order).await["history"]
            .as_array()
            .unwrap()
            .len();
    }

    // The stream that was open all along has every event once, in order:
    // those written while the listener was away were caught up on.
    let mut ids = vec![first.id];
    while ids.len() < events {
        ids.push(dashboard.next().await.expect("the stream ended").id);
    }
    let stored: Vec<i64> = system
        .events_after(0, "", 100)
        .await
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(stored.len(), events);
    assert_eq!(ids, stored);
    drop(system);
    drop(cluster);
}
