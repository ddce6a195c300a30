//! Injected faults: 503s, lost responses, hangs, and changing them at run time.

use std::time::Instant;

use mock_gateway::{Faults, MockGateway};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn fail_next_answers_503_without_charging_then_succeeds() {
    let gateway = TestGateway::with_faults(Faults {
        fail_next: 2,
        ..Faults::default()
    })
    .await;
    // Never faulted, and so not counted.
    assert_eq!(gateway.get("/healthz").await, json!({ "status": "ok" }));

    for _ in 0..2 {
        let (status, error) = json_of(gateway.charge("k", visa(100, "o")).await).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error["error"]["type"], "api_error");
        assert!(gateway.ledger().await.is_empty());
    }
    let response = gateway.charge("k", visa(100, "o")).await;
    assert!(
        !replayed(&response),
        "the 503s stored nothing under the key"
    );
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(gateway.ledger().await.len(), 1);
    assert_eq!(
        gateway.get("/v1/faults/injected").await,
        json!({ "unavailable": 2, "hangs": 0, "lost_responses": 0 }),
        "the two 503s are counted, the health check and the success are not"
    );
}

#[tokio::test]
async fn a_lost_response_charges_and_the_retry_replays_it() {
    let gateway = TestGateway::with_faults(Faults {
        lose_next: 1,
        ..Faults::default()
    })
    .await;
    let lost = gateway
        .client
        .post(gateway.url("/v1/charges"))
        .header("Idempotency-Key", "lost")
        .json(&visa(4_200, "o-lost"))
        .timeout(SHORT_TIMEOUT)
        .send()
        .await;
    assert!(lost.unwrap_err().is_timeout());

    let deadline = Instant::now() + CLIENT_TIMEOUT;
    let entries = loop {
        let entries = gateway.ledger().await;
        if !entries.is_empty() || Instant::now() > deadline {
            break entries;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(entries.len(), 1, "the lost request was carried out");
    assert_eq!(entries[0]["idempotency_key"], "lost");

    let retry = gateway.charge("lost", visa(4_200, "o-lost")).await;
    assert!(replayed(&retry));
    let (status, charge) = json_of(retry).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(charge["id"], entries[0]["id"]);
    assert_eq!(gateway.ledger().await.len(), 1);
}

#[tokio::test]
async fn a_hung_request_times_out_and_does_nothing() {
    let gateway = TestGateway::with_faults(Faults {
        hang_next: 1,
        ..Faults::default()
    })
    .await;
    let hung = gateway
        .client
        .post(gateway.url("/v1/charges"))
        .header("Idempotency-Key", "hung")
        .json(&visa(100, "o"))
        .timeout(SHORT_TIMEOUT)
        .send()
        .await;
    assert!(hung.unwrap_err().is_timeout());
    assert!(gateway.ledger().await.is_empty());

    // Nothing was stored under the key either: the retry is a fresh charge.
    let retry = gateway.charge("hung", visa(100, "o")).await;
    assert!(!replayed(&retry));
    assert_eq!(retry.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_hung_request_does_not_hold_up_shutdown() {
    let gateway = TestGateway::with_faults(Faults {
        hang_next: 1,
        ..Faults::default()
    })
    .await;
    let hung = gateway
        .client
        .post(gateway.url("/v1/charges"))
        .json(&visa(100, "o"))
        .timeout(SHORT_TIMEOUT)
        .send()
        .await;
    assert!(hung.unwrap_err().is_timeout());

    gateway.shutdown.cancel();
    let stopped = tokio::time::timeout(CLIENT_TIMEOUT, gateway.server).await;
    stopped
        .expect("the gateway stopped in time")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn faults_can_be_read_and_replaced_at_run_time() {
    let gateway = TestGateway::start().await;
    let mut faults = no_fault_rates();
    faults["fail_next"] = json!(1);
    let (status, _) = json_of(gateway.put_faults(faults).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(gateway.get("/v1/faults").await["fail_next"], 1);

    let response = gateway.charge("k", visa(100, "o")).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(gateway.get("/v1/faults").await["fail_next"], 0);
}

#[tokio::test]
async fn an_invalid_fault_rate_is_refused() {
    let gateway = TestGateway::start().await;
    let mut faults = no_fault_rates();
    faults["hang_rate"] = json!(1.5);
    let (status, error) = json_of(gateway.put_faults(faults).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("hang_rate")
    );
    assert_eq!(gateway.get("/v1/faults").await["hang_rate"], 0.0);

    let refused = MockGateway::bind(
        "127.0.0.1:0",
        Faults {
            fail_rate: -0.5,
            ..Faults::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::InvalidInput);
    assert!(refused.to_string().contains("fail_rate"), "{refused}");
}
