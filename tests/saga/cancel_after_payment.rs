//! Cancelling after the payment was taken or held, until the confirmation is
//! sent: the money is given back (the hold voided, or the charge refunded),
//! the stock put back, and the order ends `cancelled`; checked against the
//! gateway's ledger.

use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{DEADLINE, Options, System};

async fn cancel(system: &System, id: &str) -> reqwest::Response {
    system
        .http
        .post(format!("{}/v1/orders/{id}/cancel", system.api))
        .send()
        .await
        .unwrap()
}

/// Places an order for `quantity` mugs paid by `method`, and waits until it
/// is `at` (the kind after it paused).
async fn order_at(system: &System, key: &str, method: &str, quantity: i64, at: &str) -> String {
    let mut body = System::order_body("tok_visa", &[("MUG", quantity)]);
    body["capture_method"] = json!(method);
    let response = system.post_order(key, &body).await;
    assert_eq!(response.status(), 202);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    system.wait_for_status(&id, at).await;
    id
}

/// The sum of the ledger's entries of `kind` for `order`.
async fn total(system: &System, order: &str, kind: &str) -> i64 {
    system
        .ledger_for(order, kind)
        .await
        .iter()
        .map(|e| e["amount"].as_i64().unwrap())
        .sum()
}

/// Cancels `id` (answered 202, `cancelling`) and returns it settled.
async fn cancelled(system: &System, id: &str) -> Value {
    let answer = cancel(system, id).await;
    assert_eq!(answer.status(), 202, "{}", answer.text().await.unwrap());
    let cancelling: Value = answer.json().await.unwrap();
    assert_eq!(cancelling["status"], "cancelling");
    let order = system.settled(id).await;
    assert_eq!(order["status"], "cancelled", "{order:#}");
    order
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_paid_and_confirmed_order_cancelled_is_refunded_and_its_stock_put_back(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("cancel_confirmed", &db, Options::default()).await;
    system.create_product("MUG", 1250, 5).await;
    system.pause_kind("send_confirmation", "pause").await;
    let id = order_at(&system, "confirmed", "automatic", 2, "confirmed").await;
    assert_eq!(system.stock("MUG").await, 3);

    let order = cancelled(&system, &id).await;

    assert_eq!(
        System::statuses(&order),
        ["pending", "paid", "confirmed", "cancelling", "cancelled"]
    );
    assert_eq!(total(&system, &id, "charge").await, 2500);
    assert_eq!(total(&system, &id, "refund").await, 2500);
    assert_eq!(
        order["payment"]["refund_id"],
        system.ledger_for(&id, "refund").await[0]["id"]
    );
    assert_eq!(system.stock("MUG").await, 5, "the stock is put back");
    let confirmation = order["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "send_confirmation")
        .unwrap();
    assert_eq!(
        confirmation["state"], "cancelled",
        "the confirmation is withdrawn, never to be sent: {order:#}"
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn manual_orders_cancelled_held_or_captured_give_the_money_and_the_stock_back(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("cancel_manual", &db, Options::default()).await;
    system.create_product("MUG", 1250, 10).await;

    // Authorized, its stock not yet taken: the hold is voided.
    system.pause_kind("reserve_inventory", "pause").await;
    let authorized = order_at(&system, "authorized", "manual", 1, "authorized").await;
    let order = cancelled(&system, &authorized).await;
    assert_eq!(
        System::statuses(&order),
        ["pending", "authorized", "cancelling", "cancelled"]
    );
    assert_eq!(total(&system, &authorized, "void").await, 1250);
    assert_eq!(total(&system, &authorized, "capture").await, 0);
    assert_eq!(system.stock("MUG").await, 10);
    system.pause_kind("reserve_inventory", "resume").await;

    // Reserved, not captured: voided, and its stock put back.
    system.pause_kind("capture_payment", "pause").await;
    let reserved = order_at(&system, "reserved", "manual", 2, "reserved").await;
    assert_eq!(system.stock("MUG").await, 8);
    cancelled(&system, &reserved).await;
    assert_eq!(total(&system, &reserved, "void").await, 2500);
    assert_eq!(total(&system, &reserved, "capture").await, 0);
    assert_eq!(system.stock("MUG").await, 10);
    system.pause_kind("capture_payment", "resume").await;

    // Captured and confirmed: the capture is refunded.
    system.pause_kind("send_confirmation", "pause").await;
    let captured = order_at(&system, "captured", "manual", 3, "confirmed").await;
    assert_eq!(system.stock("MUG").await, 7);
    cancelled(&system, &captured).await;
    assert_eq!(total(&system, &captured, "capture").await, 3750);
    assert_eq!(total(&system, &captured, "refund").await, 3750);
    assert_eq!(total(&system, &captured, "void").await, 0);
    assert_eq!(system.stock("MUG").await, 10);
}

/// A capture in flight when the cancel lands: exactly one of them wins the
/// order, and the money and the stock follow the cancel.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_cancel_racing_a_capture_in_flight_gives_everything_back(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    // Calls slower than the gateway's latency below, yet answered.
    let options = Options {
        gateway_timeout_ms: 5_000,
        ..Options::default()
    };
    let system = System::start("cancel_race", &db, options).await;
    system.create_product("MUG", 1250, 5).await;
    system.pause_kind("capture_payment", "pause").await;
    let id = order_at(&system, "race", "manual", 1, "reserved").await;
    // The gateway is slow: the capture is still in flight when the cancel lands.
    system.set_faults(json!({ "latency_ms": 2_000 })).await;
    system.pause_kind("capture_payment", "resume").await;
    system
        .wait_for_count(
            "SELECT count(*) FROM tasks WHERE order_id = $1::uuid \
             AND kind = 'capture_payment' AND state = 'running'",
            &id,
            1,
            "the capture running",
        )
        .await;

    let order = cancelled(&system, &id).await;

    let captured = total(&system, &id, "capture").await;
    let refunded = total(&system, &id, "refund").await;
    let voided = total(&system, &id, "void").await;
    assert_eq!(captured - refunded, 0, "nothing kept: {order:#}");
    assert!(
        (captured == 1250 && voided == 0) || (captured == 0 && voided == 1250),
        "the hold was captured and refunded, or voided: captured {captured}, voided {voided}"
    );
    assert_eq!(system.stock("MUG").await, 5);
    assert!(
        !System::statuses(&order).contains(&"confirmed".to_owned()),
        "{order:#}"
    );
    // The capture that lost the race has nothing to do: completed, not dead
    // (a dead task would page an operator for nothing).
    let capture = order["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "capture_payment")
        .unwrap();
    assert_eq!(capture["state"], "completed", "{order:#}");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_completed_order_or_one_being_refunded_cannot_be_cancelled(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("cancel_refused", &db, Options::default()).await;
    system.create_product("MUG", 1250, 1).await;
    let completed = system.place("done", "tok_visa", &[("MUG", 1)]).await;
    system.settled(&completed).await;

    let refused = cancel(&system, &completed).await;
    assert_eq!(refused.status(), 409);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/order-not-cancellable");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("its confirmation was sent"),
        "{problem:#}"
    );

    // Out of stock after the charge: refunding, then refunded; never both.
    system.pause_kind("refund_payment", "pause").await;
    let short = system.place("short", "tok_visa", &[("MUG", 1)]).await;
    system.wait_for_status(&short, "refunding").await;
    let refused = cancel(&system, &short).await;
    assert_eq!(refused.status(), 409);
    system.pause_kind("refund_payment", "resume").await;
    let until = tokio::time::Instant::now() + DEADLINE;
    while system.order(&short).await["status"] != "refunded" {
        assert!(tokio::time::Instant::now() < until, "never refunded");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(total(&system, &short, "refund").await, 1250);
}
