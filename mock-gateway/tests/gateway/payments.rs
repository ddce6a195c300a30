//! Charges, refunds and lookups, with their idempotency keys.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::helpers::*;

#[tokio::test]
async fn a_visa_charge_replayed_with_the_same_key_returns_the_stored_charge() {
    let gateway = TestGateway::start().await;

    let first = gateway.charge("key-1", visa(1_250, "order-1")).await;
    assert!(!replayed(&first));
    let (status, charge) = json_of(first).await;
    assert_eq!(status, StatusCode::OK);
    let id = charge["id"].as_str().unwrap();
    assert!(id.starts_with("ch_") && id.len() == 3 + 24, "{id}");
    assert_eq!(charge["status"], "succeeded");
    assert_eq!(charge["amount"], 1_250);
    assert_eq!(charge["idempotency_key"], "key-1");

    let second = gateway.charge("key-1", visa(1_250, "order-1")).await;
    assert!(replayed(&second));
    let (status, replay) = json_of(second).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replay, charge);

    let ledger = gateway.ledger().await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0]["id"], charge["id"]);
    assert_eq!(ledger[0]["kind"], "charge");
    assert_eq!(ledger[0]["order_id"], "order-1");
    assert_eq!(ledger[0]["idempotency_key"], "key-1");
    assert_eq!(ledger[0]["charge"], Value::Null);
    assert!(
        chrono::DateTime::parse_from_rfc3339(ledger[0]["created_at"].as_str().unwrap()).is_ok()
    );
}

#[tokio::test]
async fn the_same_key_with_a_different_amount_is_an_idempotency_error() {
    let gateway = TestGateway::start().await;
    let (status, _) = json_of(gateway.charge("key-1", visa(1_000, "order-1")).await).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = json_of(gateway.charge("key-1", visa(2_000, "order-1")).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["type"], "idempotency_error");
    assert_eq!(gateway.ledger().await.len(), 1);
}

#[tokio::test]
async fn declined_cards_answer_402_with_their_code_and_charge_nothing() {
    let gateway = TestGateway::start().await;
    let cases = [
        (
            "tok_chargeDeclined",
            StatusCode::PAYMENT_REQUIRED,
            "card_error",
            "card_declined",
        ),
        (
            "tok_chargeDeclinedInsufficientFunds",
            StatusCode::PAYMENT_REQUIRED,
            "card_error",
            "insufficient_funds",
        ),
        (
            "tok_bogus",
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_source",
        ),
    ];
    for (source, expected_status, expected_type, expected_code) in cases {
        let body = json!({ "amount": 500, "currency": "usd", "source": source });
        let (status, error) = json_of(gateway.charge(source, body.clone()).await).await;
        assert_eq!(status, expected_status, "{source}");
        assert_eq!(error["error"]["type"], expected_type, "{source}");
        assert_eq!(error["error"]["code"], expected_code, "{source}");

        // The decline is stored under its key like any other answer.
        let again = gateway.charge(source, body).await;
        assert!(replayed(&again), "{source}");
        assert_eq!(json_of(again).await, (status, error));
    }
    assert!(gateway.ledger().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_requests_with_one_key_charge_once() {
    let gateway = std::sync::Arc::new(TestGateway::start().await);
    let mut requests = JoinSet::new();
    for _ in 0..20 {
        let gateway = std::sync::Arc::clone(&gateway);
        requests.spawn(async move {
            let (status, body) = json_of(gateway.charge("one-key", visa(700, "o")).await).await;
            assert_eq!(status, StatusCode::OK);
            body["id"].as_str().unwrap().to_owned()
        });
    }
    let mut ids = Vec::new();
    while let Some(id) = requests.join_next().await {
        ids.push(id.unwrap());
    }
    assert_eq!(ids.len(), 20);
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");

    let ledger = gateway.ledger().await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0]["id"], ids[0].as_str());
}

#[tokio::test]
async fn a_full_refund_matches_its_charge_and_a_second_refund_is_refused() {
    let gateway = TestGateway::start().await;
    let (_, charge) = json_of(gateway.charge("pay-o1", visa(900, "o1")).await).await;

    let (status, refund) = json_of(
        gateway
            .refund("refund-o1", json!({ "charge": charge["id"] }))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(refund["id"].as_str().unwrap().starts_with("re_"));
    assert_eq!(refund["charge"], charge["id"]);
    assert_eq!(refund["amount"], 900);
    assert_eq!(refund["status"], "succeeded");

    let (status, error) = json_of(
        gateway
            .refund("refund-o1-again", json!({ "charge": charge["id"] }))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["type"], "invalid_request_error");
    assert_eq!(error["error"]["code"], "charge_already_refunded");

    let ledger = gateway.ledger().await;
    assert_eq!(ledger.len(), 2);
    let entry = &ledger[1];
    assert_eq!(entry["kind"], "refund");
    assert_eq!(entry["id"], refund["id"]);
    assert_eq!(entry["charge"], charge["id"]);
    assert_eq!(entry["amount"], 900);
    assert_eq!(entry["currency"], "usd");
    assert_eq!(entry["order_id"], "o1");
    assert_eq!(entry["idempotency_key"], "refund-o1");
}

#[tokio::test]
async fn a_partial_refund_leaves_the_rest_and_no_more() {
    let gateway = TestGateway::start().await;
    let (_, charge) = json_of(gateway.charge("pay", visa(1_000, "o")).await).await;
    let id = &charge["id"];

    let (status, _) = json_of(
        gateway
            .refund("r1", json!({ "charge": id, "amount": 400 }))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, error) = json_of(
        gateway
            .refund("r2", json!({ "charge": id, "amount": 601 }))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["code"], "amount_too_large");
    let (status, rest) = json_of(gateway.refund("r3", json!({ "charge": id })).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rest["amount"], 600);
}

#[tokio::test]
async fn refunding_an_unknown_charge_is_404() {
    let gateway = TestGateway::start().await;
    let (status, error) = json_of(
        gateway
            .refund("r", json!({ "charge": "ch_doesnotexist" }))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["error"]["type"], "invalid_request_error");
    assert_eq!(error["error"]["code"], "resource_missing");
    assert!(gateway.ledger().await.is_empty());
}

#[tokio::test]
async fn refund_keys_and_charge_keys_do_not_collide() {
    let gateway = TestGateway::start().await;
    let (_, charge) = json_of(gateway.charge("same-key", visa(300, "o")).await).await;
    let response = gateway
        .refund("same-key", json!({ "charge": charge["id"] }))
        .await;
    assert!(!replayed(&response));
    let (status, refund) = json_of(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(refund["object"], "refund");
}

#[tokio::test]
async fn lookup_by_key_finds_the_charge_and_nothing_for_other_keys() {
    let gateway = TestGateway::start().await;
    let (_, charge) = json_of(gateway.charge("found", visa(100, "o")).await).await;
    let declined = json!({ "amount": 100, "currency": "usd", "source": "tok_chargeDeclined" });
    gateway.charge("declined", declined).await;

    let found = gateway.get("/v1/charges?idempotency_key=found").await;
    assert_eq!(found["object"], "list");
    assert_eq!(found["data"], json!([charge]));
    for key in ["unknown", "declined"] {
        let list = gateway
            .get(&format!("/v1/charges?idempotency_key={key}"))
            .await;
        assert_eq!(list["data"], json!([]), "{key}");
    }
}
