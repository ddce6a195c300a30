//! Order events (`GET /v1/events`): one per status an order took, written
//! with the move itself, numbered in commit order, each carrying the order
//! as the API showed it then.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

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
async fn every_status_an_order_takes_is_an_event_in_commit_order(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
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

    // Numbered 1, 2, 3, … with no gap, and read the same in pages of 3.
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, (1..=histories as i64).collect::<Vec<_>>());
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

    // A reader sees the fast one as soon as it is numbered, and moves on.
    let mut seen = Vec::new();
    let until = tokio::time::Instant::now() + DEADLINE;
    while seen.is_empty() {
        shared::events::sequencer::sequence(&system.pool)
            .await
            .unwrap();
        let new = system.events_after(cursor, "", 100).await;
        if let Some(last) = new.last() {
            cursor = last["id"].as_i64().unwrap();
        }
        seen.extend(new);
        assert!(
            tokio::time::Instant::now() < until,
            "the fast event never appeared"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["data"]["object"]["id"], second.as_str());

    // The slow one commits: the same reader, resuming after what it saw,
    // still gets it.
    slow.commit().await.unwrap();
    let until = tokio::time::Instant::now() + DEADLINE;
    while seen.len() < 2 {
        shared::events::sequencer::sequence(&system.pool)
            .await
            .unwrap();
        let new = system.events_after(cursor, "", 100).await;
        if let Some(last) = new.last() {
            cursor = last["id"].as_i64().unwrap();
        }
        seen.extend(new);
        assert!(
            tokio::time::Instant::now() < until,
            "the event that committed late was missed: {seen:#?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1]["data"]["object"]["id"], first.as_str());
    assert_eq!(seen[1]["data"]["object"]["history"][1]["reason"], "slow");
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
