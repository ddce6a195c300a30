//! Two-phase payment: authorize, reserve the stock, capture. Every path is
//! checked against the gateway's ledger: what was held, taken and released.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{DEADLINE, Options, System};

/// An order body that asks for `method`.
fn paid_by(method: &str, token: &str, items: &[(&str, i64)]) -> Value {
    let mut body = System::order_body(token, items);
    body["capture_method"] = json!(method);
    body
}

/// Places `body` and returns the new order's id.
async fn place(system: &System, key: &str, body: &Value) -> String {
    let response = system.post_order(key, body).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let order: Value = response.json().await.unwrap();
    order["id"].as_str().unwrap().to_owned()
}

/// The ledger's entries of `kind` for `order`, with their amounts.
async fn amounts(system: &System, order: &str, kind: &str) -> Vec<i64> {
    system
        .ledger_for(order, kind)
        .await
        .iter()
        .map(|e| e["amount"].as_i64().unwrap())
        .collect()
}

/// The attempts of `order`'s task of `kind` that failed so far.
async fn failed_attempts(system: &System, order: &str, kind: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM task_attempts a JOIN tasks t ON t.id = a.task_id \
         WHERE t.order_id = $1::uuid AND t.kind = $2 AND a.outcome <> 'succeeded'",
    )
    .bind(order)
    .bind(kind)
    .fetch_one(&system.pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_manual_order_is_authorized_reserved_captured_and_completed(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("manual_happy_path", &db, Options::default()).await;
    system.create_product("TSHIRT-M", 1999, 25).await;

    let accepted = system
        .post_order(
            "order-1",
            &paid_by("manual", "tok_visa", &[("TSHIRT-M", 2)]),
        )
        .await;
    assert_eq!(accepted.status(), 202);
    let accepted: Value = accepted.json().await.unwrap();
    assert_eq!(accepted["payment"]["capture_method"], "manual");
    assert_eq!(accepted["tasks"][0]["kind"], "authorize_payment");
    let id = accepted["id"].as_str().unwrap().to_owned();
    let order = system.settled(&id).await;

    assert_eq!(
        System::statuses(&order),
        [
            "pending",
            "authorized",
            "reserved",
            "confirmed",
            "completed"
        ]
    );
    let holds = system.ledger_for(&id, "authorization").await;
    assert_eq!(holds.len(), 1, "one authorization");
    assert_eq!(holds[0]["amount"], 3998);
    assert_eq!(
        order["payment"]["authorization_id"],
        holds[0]["payment_intent"]
    );
    let captures = system.ledger_for(&id, "capture").await;
    assert_eq!(captures.len(), 1, "one capture");
    assert_eq!(captures[0]["amount"], 3998);
    assert_eq!(order["payment"]["charge_id"], captures[0]["id"]);
    assert!(amounts(&system, &id, "void").await.is_empty());
    assert!(amounts(&system, &id, "charge").await.is_empty());
    assert!(amounts(&system, &id, "refund").await.is_empty());
    assert_eq!(system.stock("TSHIRT-M").await, 23);
    let mails = system.mail.messages();
    assert_eq!(mails.iter().filter(|m| m.contains(&id)).count(), 1);
}

/// `CAPTURE_METHOD` is the deployment's default; a request may override it.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_deployment_default_applies_unless_the_order_says_otherwise(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let options = Options {
        api_env: vec![("CAPTURE_METHOD", "manual".to_owned())],
        ..Options::default()
    };
    let system = System::start("manual_default", &db, options).await;
    system.create_product("MUG", 1250, 5).await;

    let by_default = system.place("default", "tok_visa", &[("MUG", 1)]).await;
    let automatic = place(
        &system,
        "automatic",
        &paid_by("automatic", "tok_visa", &[("MUG", 1)]),
    )
    .await;
    let by_default = system.settled(&by_default).await;
    let automatic = system.settled(&automatic).await;

    assert_eq!(by_default["payment"]["capture_method"], "manual");
    assert_eq!(
        System::statuses(&by_default),
        [
            "pending",
            "authorized",
            "reserved",
            "confirmed",
            "completed"
        ]
    );
    assert_eq!(automatic["payment"]["capture_method"], "automatic");
    assert_eq!(
        System::statuses(&automatic),
        ["pending", "paid", "confirmed", "completed"]
    );
    let id = automatic["id"].as_str().unwrap();
    assert_eq!(amounts(&system, id, "charge").await, [1250]);
    assert!(amounts(&system, id, "authorization").await.is_empty());

    let unknown = system
        .post_order("bad", &paid_by("later", "tok_visa", &[("MUG", 1)]))
        .await;
    assert_eq!(
        unknown.status(),
        422,
        "an unknown capture method is the client's error"
    );
    let problem = unknown.text().await.unwrap();
    assert!(
        problem.contains("CaptureMethod") && problem.contains("later"),
        "{problem}"
    );
}

/// Stock short after the authorization: the hold is voided, nothing is
/// ever charged or refunded, and the stock is untouched.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_shortfall_voids_the_hold_and_nothing_is_charged(_: PgPoolOptions, db: PgConnectOptions) {
    let system = System::start("manual_shortfall", &db, Options::default()).await;
    system.create_product("MUG", 1250, 1).await;

    let id = place(
        &system,
        "short",
        &paid_by("manual", "tok_visa", &[("MUG", 2)]),
    )
    .await;
    let order = system.settled(&id).await;

    assert_eq!(
        System::statuses(&order),
        ["pending", "authorized", "voiding", "failed"]
    );
    assert_eq!(order["failure"]["code"], "out_of_stock", "{order:#}");
    assert_eq!(amounts(&system, &id, "authorization").await, [2500]);
    assert_eq!(amounts(&system, &id, "void").await, [2500]);
    assert!(amounts(&system, &id, "capture").await.is_empty());
    assert!(amounts(&system, &id, "charge").await.is_empty());
    assert!(amounts(&system, &id, "refund").await.is_empty());
    assert_eq!(system.stock("MUG").await, 1);
    assert!(system.mail.messages().is_empty());
}

/// A capture that fails twice (503) and then loses its answer (done, never
/// answered) is retried with the same key: one capture, order completed.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_capture_that_fails_then_succeeds_captures_once(_: PgPoolOptions, db: PgConnectOptions) {
    let system = System::start("manual_capture_retried", &db, Options::default()).await;
    system.create_product("MUG", 1250, 5).await;
    system.pause_kind("capture_payment", "pause").await;

    let id = place(
        &system,
        "retried",
        &paid_by("manual", "tok_visa", &[("MUG", 1)]),
    )
    .await;
    system.wait_for_status(&id, "reserved").await;
    system
        .set_faults(json!({ "fail_next": 2, "lose_next": 1 }))
        .await;
    system.pause_kind("capture_payment", "resume").await;
    let order = system.settled(&id).await;

    assert_eq!(order["status"], "completed", "{order:#}");
    assert_eq!(failed_attempts(&system, &id, "capture_payment").await, 3);
    assert_eq!(amounts(&system, &id, "capture").await, [1250]);
    assert!(amounts(&system, &id, "void").await.is_empty());
    assert_eq!(system.stock("MUG").await, 4);
}

/// The hold lapses while its capture keeps failing: the order ends
/// `failed` with the stock put back, never shipped without money.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_authorization_that_expires_before_capture_fails_the_order_and_puts_the_stock_back(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let options = Options {
        gateway_env: vec![("GATEWAY_AUTHORIZATION_TTL_SECS", "2".to_owned())],
        // The capture is to fail until the hold lapses, not be held by the
        // gateway's breaker (tests/saga/circuit_breaker.rs has that).
        worker_env: vec![("CIRCUIT_BREAKER", "false".to_owned())],
        ..Options::default()
    };
    let system = System::start("manual_expired", &db, options).await;
    system.create_product("MUG", 1250, 5).await;
    system.pause_kind("capture_payment", "pause").await;

    let id = place(
        &system,
        "lapsing",
        &paid_by("manual", "tok_visa", &[("MUG", 2)]),
    )
    .await;
    system.wait_for_status(&id, "reserved").await;
    assert_eq!(
        system.stock("MUG").await,
        3,
        "the stock is held for the order"
    );
    // The gateway goes down; the capture fails until the hold has lapsed.
    system.set_faults(json!({ "fail_rate": 1.0 })).await;
    system.pause_kind("capture_payment", "resume").await;
    let hold = system.ledger_for(&id, "authorization").await;
    let expires_at: chrono::DateTime<chrono::Utc> =
        hold[0]["expires_at"].as_str().unwrap().parse().unwrap();
    let until = tokio::time::Instant::now() + DEADLINE;
    while failed_attempts(&system, &id, "capture_payment").await < 2
        || chrono::Utc::now() <= expires_at
    {
        assert!(
            tokio::time::Instant::now() < until,
            "the capture never failed past the expiry"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    system.set_faults(json!({})).await;
    let order = system.settled(&id).await;

    assert_eq!(
        System::statuses(&order),
        ["pending", "authorized", "reserved", "voiding", "failed"]
    );
    assert_eq!(
        order["failure"]["code"], "authorization_expired",
        "{order:#}"
    );
    assert!(amounts(&system, &id, "capture").await.is_empty());
    assert!(amounts(&system, &id, "charge").await.is_empty());
    assert_eq!(system.stock("MUG").await, 5, "the stock is put back");
    assert!(system.mail.messages().is_empty(), "nothing confirmed");
}

/// Lost answers on the authorization and on the void: each is retried with
/// its key, and the ledger holds one authorization and one void.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn lost_answers_on_authorize_and_void_leave_one_of_each(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("manual_lost_answers", &db, Options::default()).await;
    system.create_product("MUG", 1250, 1).await;
    system.pause_kind("void_authorization", "pause").await;

    system.set_faults(json!({ "lose_next": 1 })).await;
    let id = place(
        &system,
        "lost",
        &paid_by("manual", "tok_visa", &[("MUG", 3)]),
    )
    .await;
    system.wait_for_status(&id, "voiding").await;
    assert_eq!(failed_attempts(&system, &id, "authorize_payment").await, 1);
    system.set_faults(json!({ "lose_next": 1 })).await;
    system.pause_kind("void_authorization", "resume").await;
    let order = system.settled(&id).await;

    assert_eq!(order["status"], "failed", "{order:#}");
    assert_eq!(failed_attempts(&system, &id, "void_authorization").await, 1);
    assert_eq!(amounts(&system, &id, "authorization").await, [3750]);
    assert_eq!(amounts(&system, &id, "void").await, [3750]);
    assert!(amounts(&system, &id, "capture").await.is_empty());
    assert_eq!(system.stock("MUG").await, 1);
}
