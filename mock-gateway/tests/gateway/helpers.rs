//! A gateway of its own on a free port for each test, and the requests
//! the tests send it.

use std::net::SocketAddr;
use std::time::Duration;

use mock_gateway::{Faults, MockGateway};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Longer than any answer should take; shorter than a hang.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// For requests that are meant never to be answered.
pub const SHORT_TIMEOUT: Duration = Duration::from_millis(300);

pub struct TestGateway {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub shutdown: CancellationToken,
    pub server: JoinHandle<std::io::Result<()>>,
}

impl TestGateway {
    pub async fn start() -> Self {
        Self::with_faults(Faults::default()).await
    }

    pub async fn with_faults(faults: Faults) -> Self {
        Self::serving(MockGateway::bind("127.0.0.1:0", faults).await.unwrap())
    }

    /// Serves a gateway bound and configured by the test.
    pub fn serving(gateway: MockGateway) -> Self {
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

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn charge(&self, key: &str, body: Value) -> reqwest::Response {
        self.post("/v1/charges", key, body).await
    }

    pub async fn refund(&self, key: &str, body: Value) -> reqwest::Response {
        self.post("/v1/refunds", key, body).await
    }

    pub async fn create_intent(&self, key: &str, body: Value) -> reqwest::Response {
        self.post("/v1/payment_intents", key, body).await
    }

    pub async fn capture(&self, key: &str, intent: &Value, body: Value) -> reqwest::Response {
        let id = intent.as_str().unwrap();
        self.post(&format!("/v1/payment_intents/{id}/capture"), key, body)
            .await
    }

    pub async fn cancel(&self, key: &str, intent: &Value, body: Value) -> reqwest::Response {
        let id = intent.as_str().unwrap();
        self.post(&format!("/v1/payment_intents/{id}/cancel"), key, body)
            .await
    }

    pub async fn get(&self, path: &str) -> Value {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    pub async fn ledger(&self) -> Vec<Value> {
        let ledger = self.get("/v1/ledger").await;
        ledger["entries"].as_array().unwrap().clone()
    }

    pub async fn put_faults(&self, faults: Value) -> reqwest::Response {
        self.client
            .put(self.url("/v1/faults"))
            .json(&faults)
            .send()
            .await
            .unwrap()
    }
}

pub fn visa(amount: u64, order_id: &str) -> Value {
    json!({
        "amount": amount,
        "currency": "usd",
        "source": "tok_visa",
        "metadata": { "order_id": order_id },
    })
}

/// A PaymentIntent paid with `tok_visa`, captured as `capture_method` says.
pub fn visa_intent(amount: u64, order_id: &str, capture_method: &str) -> Value {
    json!({
        "amount": amount,
        "currency": "usd",
        "payment_method": "tok_visa",
        "capture_method": capture_method,
        "metadata": { "order_id": order_id },
    })
}

pub async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap())
}

pub fn replayed(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get("Idempotent-Replayed")
        .is_some_and(|value| value == "true")
}

pub fn no_fault_rates() -> Value {
    json!({ "latency_ms": 0, "fail_rate": 0.0, "hang_rate": 0.0, "lost_response_rate": 0.0 })
}
