//! Black-box tests of the mock gateway over HTTP, each against its own
//! gateway bound on a free port.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mock_gateway::{Faults, MockGateway};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

/// Longer than any answer should take; shorter than a hang.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// For requests that are meant never to be answered.
const SHORT_TIMEOUT: Duration = Duration::from_millis(300);

struct TestGateway {
    addr: SocketAddr,
    client: reqwest::Client,
    shutdown: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
}

impl TestGateway {
    async fn start() -> Self {
        Self::with_faults(Faults::default()).await
    }

    async fn with_faults(faults: Faults) -> Self {
        let gateway = MockGateway::bind("127.0.0.1:0", faults).await.unwrap();
        let addr = gateway.local_addr();
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(gateway.run(shutdown.clone()));
        let client = reqwest::Client::builder()
            .timeout(CLIENT_TIMEOUT)
            .build()
            .unwrap();
        Self {
            addr,
            client,
            shutdown,
            server,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn post(&self, path: &str, key: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn charge(&self, key: &str, body: Value) -> reqwest::Response {
        self.post("/v1/charges", key, body).await
    }

    async fn refund(&self, key: &str, body: Value) -> reqwest::Response {
        self.post("/v1/refunds", key, body).await
    }

    async fn get(&self, path: &str) -> Value {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    async fn ledger(&self) -> Vec<Value> {
        let ledger = self.get("/v1/ledger").await;
        ledger["entries"].as_array().unwrap().clone()
    }

    async fn put_faults(&self, faults: Value) -> reqwest::Response {
        self.client
            .put(self.url("/v1/faults"))
            .json(&faults)
            .send()
            .await
            .unwrap()
    }
}

fn visa(amount: u64, order_id: &str) -> Value {
    json!({
        "amount": amount,
        "currency": "usd",
        "source": "tok_visa",
        "metadata": { "order_id": order_id },
    })
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap())
}

fn replayed(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get("Idempotent-Replayed")
        .is_some_and(|value| value == "true")
}

fn no_fault_rates() -> Value {
    json!({ "latency_ms": 0, "fail_rate": 0.0, "hang_rate": 0.0, "lost_response_rate": 0.0 })
}

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
