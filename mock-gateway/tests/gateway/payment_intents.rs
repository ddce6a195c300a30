//! PaymentIntents: authorize, capture (in full or in part), cancel, lapse,
//! lookups, their idempotency keys and their faults.

use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use mock_gateway::{DEFAULT_AUTHORIZATION_TTL, Faults, MockGateway};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// Between two looks at a condition being waited for.
const POLL: Duration = Duration::from_millis(20);

fn time_of(value: &Value) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap()
}

/// Creates a manual intent for `amount` that must succeed; returns it.
async fn authorize(gateway: &TestGateway, key: &str, amount: u64, order_id: &str) -> Value {
    let (status, intent) = json_of(
        gateway
            .create_intent(key, visa_intent(amount, order_id, "manual"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{intent}");
    assert_eq!(intent["status"], "requires_capture", "{intent}");
    intent
}

/// Asserts a 400 `invalid_request_error` with `code`; returns its message.
async fn refused(response: reqwest::Response, code: &str) -> String {
    let (status, error) = json_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["error"]["type"], "invalid_request_error", "{error}");
    assert_eq!(error["error"]["code"], code, "{error}");
    error["error"]["message"].as_str().unwrap().to_owned()
}

fn kinds(ledger: &[Value]) -> Vec<&str> {
    ledger
        .iter()
        .map(|entry| entry["kind"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_manual_intent_authorizes_then_captures_in_full_and_its_charge_refunds() {
    let gateway = TestGateway::start().await;
    let intent = authorize(&gateway, "auth-o1", 1_500, "o1").await;
    let id = intent["id"].as_str().unwrap();
    assert!(id.starts_with("pi_") && id.len() == 3 + 24, "{id}");
    assert_eq!(intent["object"], "payment_intent");
    assert_eq!(intent["amount"], 1_500);
    assert_eq!(intent["amount_capturable"], 1_500);
    assert_eq!(intent["amount_received"], 0);
    assert_eq!(intent["currency"], "usd");
    assert_eq!(intent["capture_method"], "manual");
    assert_eq!(intent["latest_charge"], Value::Null);
    assert_eq!(intent["cancellation_reason"], Value::Null);
    assert_eq!(intent["metadata"], json!({ "order_id": "o1" }));
    assert_eq!(intent["idempotency_key"], "auth-o1");
    assert!(intent["created"].is_i64());

    let ledger = gateway.ledger().await;
    assert_eq!(kinds(&ledger), ["authorization"]);
    let authorization = &ledger[0];
    assert_eq!(authorization["id"], intent["id"]);
    assert_eq!(authorization["payment_intent"], intent["id"]);
    assert_eq!(authorization["amount"], 1_500);
    assert_eq!(authorization["currency"], "usd");
    assert_eq!(authorization["order_id"], "o1");
    assert_eq!(authorization["idempotency_key"], "auth-o1");
    assert_eq!(authorization["charge"], Value::Null);
    let lifetime = time_of(&authorization["expires_at"]) - time_of(&authorization["created_at"]);
    assert_eq!(lifetime.to_std().unwrap(), DEFAULT_AUTHORIZATION_TTL);

    // An empty body captures everything.
    let response = gateway
        .client
        .post(gateway.url(&format!("/v1/payment_intents/{id}/capture")))
        .header("Idempotency-Key", "capture-o1")
        .send()
        .await
        .unwrap();
    let (status, captured) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{captured}");
    assert_eq!(captured["id"], intent["id"]);
    assert_eq!(captured["status"], "succeeded");
    assert_eq!(captured["amount_received"], 1_500);
    assert_eq!(captured["amount_capturable"], 0);
    let charge = captured["latest_charge"].as_str().unwrap();
    assert!(
        charge.starts_with("ch_") && charge.len() == 3 + 24,
        "{charge}"
    );
    assert_eq!(
        gateway.get(&format!("/v1/payment_intents/{id}")).await,
        captured
    );

    let ledger = gateway.ledger().await;
    assert_eq!(kinds(&ledger), ["authorization", "capture"]);
    let capture = &ledger[1];
    assert_eq!(capture["id"], charge);
    assert_eq!(capture["payment_intent"], intent["id"]);
    assert_eq!(capture["amount"], 1_500);
    assert_eq!(capture["order_id"], "o1");
    assert_eq!(capture["idempotency_key"], "capture-o1");
    assert!(capture.get("expires_at").is_none(), "{capture}");

    let (status, refund) = json_of(
        gateway
            .refund("refund-o1", json!({ "charge": charge }))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refund}");
    assert_eq!(refund["amount"], 1_500);
    assert_eq!(refund["charge"], charge);
    assert_eq!(refund["payment_intent"], intent["id"]);
    let ledger = gateway.ledger().await;
    assert_eq!(kinds(&ledger), ["authorization", "capture", "refund"]);
    assert_eq!(ledger[2]["charge"], charge);
    assert_eq!(ledger[2]["order_id"], "o1");
    assert_eq!(ledger[2]["payment_intent"], intent["id"]);
}

#[tokio::test]
async fn a_partial_capture_takes_only_that_amount_and_releases_the_rest() {
    let gateway = TestGateway::start().await;
    let intent = authorize(&gateway, "auth", 1_000, "o2").await;

    let message = refused(
        gateway
            .capture(
                "too-much",
                &intent["id"],
                json!({ "amount_to_capture": 1_001 }),
            )
            .await,
        "amount_too_large",
    )
    .await;
    assert!(
        message.contains("1001") && message.contains("1000"),
        "{message}"
    );
    assert_eq!(kinds(&gateway.ledger().await), ["authorization"]);

    let (status, captured) = json_of(
        gateway
            .capture("part", &intent["id"], json!({ "amount_to_capture": 600 }))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{captured}");
    assert_eq!(captured["status"], "succeeded");
    assert_eq!(captured["amount"], 1_000);
    assert_eq!(captured["amount_received"], 600);
    assert_eq!(captured["amount_capturable"], 0, "the rest is released");

    let ledger = gateway.ledger().await;
    assert_eq!(kinds(&ledger), ["authorization", "capture"]);
    assert_eq!(ledger[1]["amount"], 600);

    // Only what was captured can be refunded.
    let charge = &captured["latest_charge"];
    let (status, refund) = json_of(gateway.refund("r", json!({ "charge": charge })).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(refund["amount"], 600);
    // And nothing more can be captured.
    let message = refused(
        gateway.capture("again", &intent["id"], json!({})).await,
        "payment_intent_unexpected_state",
    )
    .await;
    assert!(message.contains("succeeded"), "{message}");
}

#[tokio::test]
async fn an_automatic_intent_charges_at_once() {
    let gateway = TestGateway::start().await;
    let body = json!({
        "amount": 2_000,
        "currency": "usd",
        "payment_method": "tok_visa",
        "confirm": true,
        "metadata": { "order_id": "o3" },
    });
    let (status, intent) = json_of(gateway.create_intent("auto", body).await).await;
    assert_eq!(status, StatusCode::OK, "{intent}");
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(intent["capture_method"], "automatic");
    assert_eq!(intent["amount_received"], 2_000);
    assert_eq!(intent["amount_capturable"], 0);
    let charge = intent["latest_charge"].as_str().unwrap();
    assert!(charge.starts_with("ch_"), "{charge}");

    let ledger = gateway.ledger().await;
    assert_eq!(kinds(&ledger), ["charge"], "no authorization first");
    assert_eq!(ledger[0]["id"], charge);
    assert_eq!(ledger[0]["payment_intent"], intent["id"]);
    assert_eq!(ledger[0]["order_id"], "o3");
    assert_eq!(ledger[0]["amount"], 2_000);

    refused(
        gateway.capture("c", &intent["id"], json!({})).await,
        "payment_intent_unexpected_state",
    )
    .await;
    let (status, _) = json_of(gateway.refund("r", json!({ "charge": charge })).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kinds(&gateway.ledger().await), ["charge", "refund"]);
}

#[tokio::test]
async fn a_cancelled_authorization_is_voided_and_cannot_be_captured() {
    let gateway = TestGateway::start().await;
    let intent = authorize(&gateway, "auth", 700, "o4").await;

    let (status, canceled) =
        json_of(gateway.cancel("cancel", &intent["id"], json!({})).await).await;
    assert_eq!(status, StatusCode::OK, "{canceled}");
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(canceled["cancellation_reason"], "requested_by_customer");
    assert_eq!(canceled["amount_capturable"], 0);
    assert_eq!(canceled["amount_received"], 0);
    assert_eq!(canceled["latest_charge"], Value::Null);

    let ledger = gateway.ledger().await;
    assert_eq!(kinds(&ledger), ["authorization", "void"]);
    let void = &ledger[1];
    assert!(void["id"].as_str().unwrap().starts_with("void_"), "{void}");
    assert_eq!(void["amount"], 700);
    assert_eq!(void["payment_intent"], intent["id"]);
    assert_eq!(void["order_id"], "o4");
    assert_eq!(void["idempotency_key"], "cancel");

    let message = refused(
        gateway.capture("capture", &intent["id"], json!({})).await,
        "payment_intent_unexpected_state",
    )
    .await;
    assert!(message.contains("canceled"), "{message}");
    let message = refused(
        gateway
            .cancel("cancel-again", &intent["id"], json!({}))
            .await,
        "payment_intent_unexpected_state",
    )
    .await;
    assert!(message.contains("canceled"), "{message}");
    assert_eq!(gateway.ledger().await.len(), 2);
}

#[tokio::test]
async fn a_captured_intent_cannot_be_cancelled() {
    let gateway = TestGateway::start().await;
    let intent = authorize(&gateway, "auth", 500, "o5").await;
    let (status, _) = json_of(gateway.capture("capture", &intent["id"], json!({})).await).await;
    assert_eq!(status, StatusCode::OK);

    let message = refused(
        gateway.cancel("cancel", &intent["id"], json!({})).await,
        "payment_intent_unexpected_state",
    )
    .await;
    assert!(message.contains("succeeded"), "{message}");
    assert!(message.contains("refund"), "{message}");
    assert_eq!(kinds(&gateway.ledger().await), ["authorization", "capture"]);
    let now = gateway
        .get(&format!(
            "/v1/payment_intents/{}",
            intent["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(now["status"], "succeeded");
}

#[tokio::test]
async fn a_declined_payment_method_is_402_and_records_nothing() {
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
            "resource_missing",
        ),
    ];
    for (token, expected_status, expected_type, expected_code) in cases {
        for capture_method in ["manual", "automatic"] {
            let key = format!("{token}-{capture_method}");
            let body = json!({
                "amount": 500,
                "currency": "usd",
                "payment_method": token,
                "capture_method": capture_method,
            });
            let (status, error) = json_of(gateway.create_intent(&key, body).await).await;
            assert_eq!(status, expected_status, "{key}");
            assert_eq!(error["error"]["type"], expected_type, "{key}");
            assert_eq!(error["error"]["code"], expected_code, "{key}");
            let found = gateway
                .get(&format!("/v1/payment_intents?idempotency_key={key}"))
                .await;
            assert_eq!(found["data"], json!([]), "{key}");
        }
    }
    assert!(gateway.ledger().await.is_empty());
}

#[tokio::test]
async fn unconfirmed_and_malformed_intents_are_400() {
    let gateway = TestGateway::start().await;
    let mut unconfirmed = visa_intent(500, "o", "manual");
    unconfirmed["confirm"] = json!(false);
    let message = refused(
        gateway.create_intent("k", unconfirmed).await,
        "parameter_invalid",
    )
    .await;
    assert!(message.contains("unconfirmed"), "{message}");
    let mut unknown = visa_intent(500, "o", "manual");
    unknown["customer"] = json!("cus_1");
    refused(
        gateway.create_intent("k", unknown).await,
        "parameter_invalid",
    )
    .await;
    refused(
        gateway
            .create_intent("k", visa_intent(500, "o", "later"))
            .await,
        "parameter_invalid",
    )
    .await;
    assert!(gateway.ledger().await.is_empty());

    // A malformed request takes no key.
    authorize(&gateway, "k", 500, "o").await;
}

#[tokio::test]
async fn unknown_intents_are_404() {
    let gateway = TestGateway::start().await;
    let unknown = json!("pi_doesnotexist");
    let responses = [
        gateway.capture("c", &unknown, json!({})).await,
        gateway.cancel("x", &unknown, json!({})).await,
        gateway
            .client
            .get(gateway.url("/v1/payment_intents/pi_doesnotexist"))
            .send()
            .await
            .unwrap(),
    ];
    for response in responses {
        let (status, error) = json_of(response).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
        assert_eq!(error["error"]["code"], "resource_missing", "{error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("pi_doesnotexist")
        );
    }
    assert!(gateway.ledger().await.is_empty());
}

#[tokio::test]
async fn the_lookup_by_key_finds_the_intent_as_it_is_now() {
    let gateway = TestGateway::start().await;
    let intent = authorize(&gateway, "found", 900, "o6").await;

    let found = gateway
        .get("/v1/payment_intents?idempotency_key=found")
        .await;
    assert_eq!(found["object"], "list");
    assert_eq!(found["data"], json!([intent]));

    let (_, captured) = json_of(gateway.capture("c", &intent["id"], json!({})).await).await;
    let found = gateway
        .get("/v1/payment_intents?idempotency_key=found")
        .await;
    assert_eq!(found["data"], json!([captured]));
    assert_eq!(found["data"][0]["status"], "succeeded");

    let other = gateway
        .get("/v1/payment_intents?idempotency_key=other")
        .await;
    assert_eq!(other["data"], json!([]));
    // The capture's key names a capture, not an intent created with it.
    let capture_key = gateway.get("/v1/payment_intents?idempotency_key=c").await;
    assert_eq!(capture_key["data"], json!([]));
    // Charges and intents are looked up apart.
    let charges = gateway.get("/v1/charges?idempotency_key=found").await;
    assert_eq!(charges["data"], json!([]));

    let response = gateway
        .client
        .get(gateway.url("/v1/payment_intents"))
        .send()
        .await
        .unwrap();
    let message = refused(response, "parameter_invalid").await;
    assert!(message.contains("idempotency_key"), "{message}");
}

#[tokio::test]
async fn replays_of_authorize_capture_and_cancel_answer_the_same_once() {
    let gateway = TestGateway::start().await;
    let first = gateway
        .create_intent("auth", visa_intent(1_200, "o7", "manual"))
        .await;
    assert!(!replayed(&first));
    let (_, intent) = json_of(first).await;
    let second = gateway
        .create_intent("auth", visa_intent(1_200, "o7", "manual"))
        .await;
    assert!(replayed(&second));
    assert_eq!(json_of(second).await, (StatusCode::OK, intent.clone()));
    assert_eq!(kinds(&gateway.ledger().await), ["authorization"]);

    let first = gateway
        .capture("cap", &intent["id"], json!({ "amount_to_capture": 1_000 }))
        .await;
    assert!(!replayed(&first));
    let (status, captured) = json_of(first).await;
    assert_eq!(status, StatusCode::OK);
    let second = gateway
        .capture("cap", &intent["id"], json!({ "amount_to_capture": 1_000 }))
        .await;
    assert!(replayed(&second));
    assert_eq!(json_of(second).await, (StatusCode::OK, captured.clone()));
    assert_eq!(kinds(&gateway.ledger().await), ["authorization", "capture"]);

    // The creation replays its first answer, not the intent as it is now.
    let again = gateway
        .create_intent("auth", visa_intent(1_200, "o7", "manual"))
        .await;
    assert!(replayed(&again));
    assert_eq!(json_of(again).await.1["status"], "requires_capture");

    let other = authorize(&gateway, "auth-2", 300, "o8").await;
    let cancel = json!({ "cancellation_reason": "abandoned" });
    let first = gateway.cancel("void", &other["id"], cancel.clone()).await;
    assert!(!replayed(&first));
    let (status, canceled) = json_of(first).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(canceled["cancellation_reason"], "abandoned");
    let second = gateway.cancel("void", &other["id"], cancel).await;
    assert!(replayed(&second));
    assert_eq!(json_of(second).await, (StatusCode::OK, canceled));

    let ledger = gateway.ledger().await;
    assert_eq!(
        kinds(&ledger),
        ["authorization", "capture", "authorization", "void"]
    );
    assert_eq!(ledger[1]["id"], captured["latest_charge"]);
}

#[tokio::test]
async fn a_key_reused_with_other_parameters_is_an_idempotency_error() {
    let gateway = TestGateway::start().await;
    let one = authorize(&gateway, "auth", 400, "o9").await;
    let (status, error) = json_of(
        gateway
            .create_intent("auth", visa_intent(401, "o9", "manual"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["type"], "idempotency_error");
    let (status, error) = json_of(
        gateway
            .create_intent("auth", visa_intent(400, "o9", "automatic"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["type"], "idempotency_error");

    // The intent id is one of a capture's parameters.
    let two = authorize(&gateway, "auth-2", 400, "o10").await;
    let (status, _) = json_of(gateway.capture("cap", &one["id"], json!({})).await).await;
    assert_eq!(status, StatusCode::OK);
    let (status, error) = json_of(gateway.capture("cap", &two["id"], json!({})).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["type"], "idempotency_error");
    let (status, error) = json_of(
        gateway
            .capture("cap", &one["id"], json!({ "amount_to_capture": 100 }))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["type"], "idempotency_error");

    let reason = |r: &str| json!({ "cancellation_reason": r });
    let (status, _) = json_of(
        gateway
            .cancel("void", &two["id"], reason("duplicate"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, error) = json_of(
        gateway
            .cancel("void", &two["id"], reason("fraudulent"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["type"], "idempotency_error");

    assert_eq!(
        kinds(&gateway.ledger().await),
        ["authorization", "authorization", "capture", "void"]
    );
}

#[tokio::test]
async fn each_intent_endpoint_keeps_its_own_keys() {
    let gateway = TestGateway::start().await;
    let one = authorize(&gateway, "same", 400, "o").await;
    let capture = gateway.capture("same", &one["id"], json!({})).await;
    assert!(!replayed(&capture));
    assert_eq!(capture.status(), StatusCode::OK);
    let two = authorize(&gateway, "other", 400, "o").await;
    let cancel = gateway.cancel("same", &two["id"], json!({})).await;
    assert!(!replayed(&cancel));
    assert_eq!(cancel.status(), StatusCode::OK);
    let charge = gateway.charge("same", visa(400, "o")).await;
    assert!(!replayed(&charge));
    assert_eq!(charge.status(), StatusCode::OK);
    assert_eq!(gateway.ledger().await.len(), 5);
}

#[tokio::test]
async fn an_authorization_left_past_its_ttl_lapses_and_cannot_be_captured() {
    let ttl = Duration::from_secs(1);
    let bound = MockGateway::bind("127.0.0.1:0", Faults::default())
        .await
        .unwrap()
        .authorization_ttl(ttl);
    let gateway = TestGateway::serving(bound);
    let intent = authorize(&gateway, "short", 800, "o11").await;
    let id = intent["id"].as_str().unwrap();

    let ledger = gateway.ledger().await;
    assert_eq!(kinds(&ledger), ["authorization"]);
    let expires_at = time_of(&ledger[0]["expires_at"]);
    assert_eq!(
        (expires_at - time_of(&ledger[0]["created_at"]))
            .to_std()
            .unwrap(),
        ttl
    );

    let deadline = Instant::now() + ttl + CLIENT_TIMEOUT;
    let lapsed = loop {
        let now = gateway.get(&format!("/v1/payment_intents/{id}")).await;
        if now["status"] != "requires_capture" {
            break now;
        }
        assert!(Instant::now() < deadline, "never lapsed: {now}");
        tokio::time::sleep(POLL).await;
    };
    assert!(chrono::Utc::now() > expires_at, "not before its expires_at");
    assert_eq!(lapsed["status"], "canceled");
    assert_eq!(lapsed["cancellation_reason"], "automatic");
    assert_eq!(lapsed["amount_capturable"], 0);
    assert_eq!(lapsed["amount_received"], 0);
    let found = gateway
        .get("/v1/payment_intents?idempotency_key=short")
        .await;
    assert_eq!(found["data"], json!([lapsed]));

    let message = refused(
        gateway.capture("late", &intent["id"], json!({})).await,
        "charge_expired_for_capture",
    )
    .await;
    assert!(message.contains("expired"), "{message}");
    let message = refused(
        gateway.cancel("late", &intent["id"], json!({})).await,
        "payment_intent_unexpected_state",
    )
    .await;
    assert!(message.contains("expired"), "{message}");

    // Nothing was taken or voided: the authorization just lapsed.
    assert_eq!(kinds(&gateway.ledger().await), ["authorization"]);
}

#[tokio::test]
async fn a_lost_capture_response_is_retried_with_its_key_and_captures_once() {
    let gateway = TestGateway::start().await;
    let intent = authorize(&gateway, "auth", 2_500, "o12").await;
    let id = intent["id"].as_str().unwrap();
    let mut faults = no_fault_rates();
    faults["lose_next"] = json!(1);
    let (status, _) = json_of(gateway.put_faults(faults).await).await;
    assert_eq!(status, StatusCode::OK);

    let lost = gateway
        .client
        .post(gateway.url(&format!("/v1/payment_intents/{id}/capture")))
        .header("Idempotency-Key", "capture")
        .json(&json!({}))
        .timeout(SHORT_TIMEOUT)
        .send()
        .await;
    assert!(lost.unwrap_err().is_timeout());

    let deadline = Instant::now() + CLIENT_TIMEOUT;
    let ledger = loop {
        let ledger = gateway.ledger().await;
        if ledger.len() > 1 || Instant::now() > deadline {
            break ledger;
        }
        tokio::time::sleep(POLL).await;
    };
    assert_eq!(
        kinds(&ledger),
        ["authorization", "capture"],
        "the lost capture was carried out"
    );

    let retry = gateway.capture("capture", &intent["id"], json!({})).await;
    assert!(replayed(&retry));
    let (status, captured) = json_of(retry).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(captured["status"], "succeeded");
    assert_eq!(captured["latest_charge"], ledger[1]["id"]);
    assert_eq!(gateway.ledger().await.len(), 2, "captured exactly once");
    assert_eq!(
        gateway.get("/v1/faults/injected").await["lost_responses"],
        1
    );
}

#[tokio::test]
async fn faults_apply_to_every_payment_intent_endpoint() {
    let gateway = TestGateway::start().await;
    let intent = authorize(&gateway, "auth", 100, "o13").await;
    let id = intent["id"].as_str().unwrap();
    let mut faults = no_fault_rates();
    faults["fail_next"] = json!(5);
    let (status, _) = json_of(gateway.put_faults(faults).await).await;
    assert_eq!(status, StatusCode::OK);

    let responses = [
        gateway
            .create_intent("auth-2", visa_intent(100, "o14", "manual"))
            .await,
        gateway.capture("c", &intent["id"], json!({})).await,
        gateway.cancel("x", &intent["id"], json!({})).await,
        gateway
            .client
            .get(gateway.url(&format!("/v1/payment_intents/{id}")))
            .send()
            .await
            .unwrap(),
        gateway
            .client
            .get(gateway.url("/v1/payment_intents?idempotency_key=auth"))
            .send()
            .await
            .unwrap(),
    ];
    for response in responses {
        let (status, error) = json_of(response).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{error}");
        assert_eq!(error["error"]["type"], "api_error");
    }
    assert_eq!(
        gateway.get("/v1/faults/injected").await["unavailable"],
        5,
        "each endpoint drew a fault"
    );
    assert_eq!(kinds(&gateway.ledger().await), ["authorization"]);

    // The 503s stored nothing under their keys: the retries are fresh.
    let capture = gateway.capture("c", &intent["id"], json!({})).await;
    assert!(!replayed(&capture));
    assert_eq!(capture.status(), StatusCode::OK);
}
