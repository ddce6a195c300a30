//! Gateway faults: 503s, lost responses, and a gateway that stays down.

use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{Options, System};

fn fast_timeouts() -> Options {
    Options {
        gateway_timeout_ms: 300,
        ..Options::default()
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn gateway_503s_are_retried_with_backoff_until_the_order_completes(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("gateway_503", &db, Options::default()).await;
    system.create_product("MUG", 1250, 5).await;
    system.set_faults(json!({ "fail_next": 2 })).await;

    let id = system.place("order-1", "tok_visa", &[("MUG", 1)]).await;
    let order = system.settled(&id).await;

    assert_eq!(order["status"], "completed");
    let charge = &order["tasks"][0];
    assert_eq!(charge["kind"], "charge_payment");
    assert_eq!(charge["attempts"], 3);
    assert!(
        charge["last_error"].as_str().unwrap().contains("503"),
        "{charge}"
    );
    assert_eq!(system.ledger_for(&id, "charge").await.len(), 1);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_charge_whose_response_was_lost_is_retried_with_the_same_key_and_charged_once(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("lost_response", &db, fast_timeouts()).await;
    system.create_product("MUG", 1250, 5).await;
    system.set_faults(json!({ "lose_next": 1 })).await;

    let id = system.place("order-1", "tok_visa", &[("MUG", 1)]).await;
    let order = system.settled(&id).await;

    assert_eq!(order["status"], "completed");
    assert!(order["tasks"][0]["attempts"].as_i64().unwrap() >= 2);
    let charges = system.ledger_for(&id, "charge").await;
    assert_eq!(charges.len(), 1, "one charge, whatever the retries");
    assert_eq!(order["payment"]["charge_id"], charges[0]["id"]);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn every_charge_response_lost_still_ends_paid_through_the_lookup(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("all_lost", &db, fast_timeouts()).await;
    system.create_product("MUG", 1250, 5).await;
    // All 8 attempts lose their answer; the lookup by key finds the charge.
    system.set_faults(json!({ "lose_next": 8 })).await;

    let id = system.place("order-1", "tok_visa", &[("MUG", 1)]).await;
    let order = system.settled(&id).await;

    assert_eq!(order["status"], "completed");
    assert_eq!(order["tasks"][0]["attempts"], 8);
    assert_eq!(system.ledger_for(&id, "charge").await.len(), 1);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_gateway_down_for_every_attempt_fails_the_order_when_the_lookup_shows_no_charge(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("gateway_down", &db, fast_timeouts()).await;
    system.create_product("MUG", 1250, 5).await;
    system.set_faults(json!({ "fail_next": 8 })).await;

    let id = system.place("order-1", "tok_visa", &[("MUG", 1)]).await;
    let order = system.settled(&id).await;

    assert_eq!(order["status"], "failed");
    assert_eq!(order["failure"]["code"], "payment_unavailable");
    assert!(
        system.ledger_for(&id, "charge").await.is_empty(),
        "never charged-and-failed"
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_charge_made_but_never_answered_and_never_found_is_refunded_in_full(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("charge_lost_lookup_lost", &db, fast_timeouts()).await;
    system.create_product("MUG", 1250, 5).await;
    // The first charge lands at the gateway, and its answer is lost; so is
    // every retry's (the gateway replays the same charge for the same key)
    // and the lookup by key after the last attempt: 8 attempts + 1 lookup.
    // The order must go refunding, and the refund must find the real charge.
    system.set_faults(json!({ "lose_next": 9 })).await;

    let id = system.place("order-1", "tok_visa", &[("MUG", 1)]).await;
    let order = system.settled(&id).await;

    let injected = system
        .get_json(format!("{}/v1/faults/injected", system.gateway))
        .await;
    assert_eq!(injected["lost_responses"], 9, "{injected:#}");
    assert_eq!(order["status"], "refunded", "{order:#}");
    assert_eq!(
        System::statuses(&order),
        ["pending", "refunding", "refunded"]
    );
    assert_eq!(order["failure"]["code"], "payment_unavailable");
    let charges = system.ledger_for(&id, "charge").await;
    assert_eq!(charges.len(), 1, "one real charge: {charges:#?}");
    assert_eq!(charges[0]["amount"], 1250);
    let refunds = system.ledger_for(&id, "refund").await;
    assert_eq!(refunds.len(), 1, "one refund: {refunds:#?}");
    assert_eq!(refunds[0]["amount"], 1250);
    assert_eq!(
        refunds[0]["charge"], charges[0]["id"],
        "the refund is of the real charge"
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_gateway_down_through_the_lookup_too_refunds_whatever_was_charged(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("gateway_down_lookup", &db, fast_timeouts()).await;
    system.create_product("MUG", 1250, 5).await;
    // 8 charge attempts and the lookup all hang: the outcome is unknown.
    system.set_faults(json!({ "hang_next": 9 })).await;

    let id = system.place("order-1", "tok_visa", &[("MUG", 1)]).await;
    let order = system.settled(&id).await;

    assert_eq!(order["status"], "refunded");
    assert_eq!(
        System::statuses(&order),
        ["pending", "refunding", "refunded"]
    );
    assert_eq!(order["failure"]["code"], "payment_unavailable");
    let charged: i64 = system
        .ledger_for(&id, "charge")
        .await
        .iter()
        .map(|c| c["amount"].as_i64().unwrap())
        .sum();
    let refunded: i64 = system
        .ledger_for(&id, "refund")
        .await
        .iter()
        .map(|r| r["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(charged - refunded, 0, "nothing kept for a failed order");
}
