//! Malformed requests, unknown paths and methods: Stripe-shaped 4xx, never 5xx.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn malformed_requests_are_400_never_5xx() {
    let gateway = TestGateway::start().await;
    let bad_charges = [
        "{not json",
        "[1, 2]",
        r#"{"currency": "usd", "source": "tok_visa"}"#,
        r#"{"amount": -100, "currency": "usd", "source": "tok_visa"}"#,
        r#"{"amount": 0, "currency": "usd", "source": "tok_visa"}"#,
        r#"{"amount": "100", "currency": "usd", "source": "tok_visa"}"#,
        r#"{"amount": 100, "currency": "us", "source": "tok_visa"}"#,
        r#"{"amount": 100, "currency": "usd"}"#,
        r#"{"amount": 100, "currency": "usd", "source": "tok_visa", "metadata": [1]}"#,
        "",
    ];
    for body in bad_charges {
        let response = gateway
            .client
            .post(gateway.url("/v1/charges"))
            .header("Idempotency-Key", "malformed")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, error) = json_of(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error["error"]["type"], "invalid_request_error", "{body}");
        assert_eq!(error["error"]["code"], "parameter_invalid", "{body}");
    }
    let (status, _) = json_of(
        gateway
            .refund("r", json!({ "charge": "ch_x", "amount": -1 }))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(gateway.ledger().await.is_empty());

    // A malformed request takes no key: the key still works for a good one.
    let response = gateway.charge("malformed", visa(100, "o")).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_paths_and_methods_get_stripe_shaped_errors() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .client
        .get(gateway.url("/v1/nothing"))
        .send()
        .await
        .unwrap();
    let (status, error) = json_of(response).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["error"]["code"], "resource_missing");

    let response = gateway
        .client
        .delete(gateway.url("/v1/charges"))
        .send()
        .await
        .unwrap();
    let (status, error) = json_of(response).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error["error"]["type"], "invalid_request_error");
}
