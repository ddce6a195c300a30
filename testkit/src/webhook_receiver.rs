//! A webhook receiver: a real HTTP server that checks every request's
//! signature with the Standard Webhooks reference library (the
//! `standardwebhooks` crate, written independently of ours), records it,
//! and answers as its script says: a status (with `Retry-After`), a hang,
//! or, when the script is empty, 200.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::web::Data;
use poem::{EndpointExt, Response, Route, Server, handler, post};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// This status, with `Retry-After: <seconds>` when given.
    Status(u16, Option<u64>),
    /// No answer for this long (longer than the sender's timeout).
    Hang(Duration),
}

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    pub webhook_id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Value,
    /// The indexes of the secrets (in the order given) it verified with.
    pub verified_with: Vec<usize>,
    /// The status it was answered (0 for a hang).
    pub answered: u16,
    pub at: Instant,
}

#[derive(Default)]
struct State {
    secrets: Vec<String>,
    script: VecDeque<Reply>,
    /// Fails this share of requests (0–1), after the script, e.g. for chaos.
    flaky: f64,
    received: Vec<Received>,
    /// Requests being answered now, and the most at once.
    in_flight: usize,
    max_in_flight: usize,
}

/// A running receiver; stops when dropped.
pub struct WebhookReceiver {
    pub url: String,
    state: Arc<Mutex<State>>,
    stop: CancellationToken,
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl WebhookReceiver {
    /// Starts on a free port of 127.0.0.1; URL `http://127.0.0.1:<port>/hooks`.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hooks", listener.local_addr()?);
        let acceptor = TcpAcceptor::from_tokio(listener)?;
        let state = Arc::new(Mutex::new(State::default()));
        let stop = CancellationToken::new();
        let app = Route::new()
            .at("/hooks", post(receive))
            .data(Arc::clone(&state));
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(
                    app,
                    stopped.cancelled_owned(),
                    Some(Duration::from_secs(1)),
                )
                .await;
        });
        Ok(Self { url, state, stop })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The secrets to verify with, e.g. the one a create answered.
    pub fn trust(&self, secret: &str) {
        self.state().secrets.push(secret.to_owned());
    }

    /// Answers the next requests so, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state().script.extend(replies);
    }

    /// Past the script, answers this share of requests 503.
    pub fn set_flaky(&self, share: f64) {
        self.state().flaky = share;
    }

    /// The most requests it was answering at once.
    pub fn max_in_flight(&self) -> usize {
        self.state().max_in_flight
    }

    pub fn received(&self) -> Vec<Received> {
        self.state().received.clone()
    }

    /// Waits until `done` holds for what was received, or `deadline` passes.
    pub async fn wait_for(
        &self,
        deadline: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Result<Vec<Received>, Vec<Received>> {
        let until = Instant::now() + deadline;
        loop {
            let received = self.received();
            if done(&received) {
                return Ok(received);
            }
            if Instant::now() >= until {
                return Err(received);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[handler]
async fn receive(
    req: &poem::Request,
    body: poem::Body,
    state: Data<&Arc<Mutex<State>>>,
) -> Response {
    let bytes = body.into_vec().await.unwrap_or_default();
    let headers = req.headers();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let reply = {
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        let verified_with = state
            .secrets
            .iter()
            .enumerate()
            .filter(|(_, secret)| {
                standardwebhooks::Webhook::new(secret)
                    .and_then(|hook| hook.verify(&bytes, headers))
                    .is_ok()
            })
            .map(|(i, _)| i)
            .collect();
        state.in_flight += 1;
        state.max_in_flight = state.max_in_flight.max(state.in_flight);
        let reply = match state.script.pop_front() {
            Some(reply) => reply,
            None if state.flaky > 0.0 && pseudo_random(&bytes) < state.flaky => {
                Reply::Status(503, None)
            }
            None => Reply::Status(200, None),
        };
        state.received.push(Received {
            webhook_id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            verified_with,
            answered: match reply {
                Reply::Status(status, _) => status,
                Reply::Hang(_) => 0,
            },
            at: Instant::now(),
        });
        reply
    };
    if let Reply::Hang(for_how_long) = reply {
        tokio::time::sleep(for_how_long).await;
    }
    state
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .in_flight -= 1;
    match reply {
        Reply::Hang(_) => Response::builder().status(StatusCode::OK).finish(),
        Reply::Status(status, retry_after) => {
            let mut response = Response::builder()
                .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
            if let Some(seconds) = retry_after {
                response = response.header("Retry-After", seconds.to_string());
            }
            response.body(format!("answered {status}"))
        }
    }
}

/// A number in [0, 1) that differs from request to request (the time and
/// the body), without a random-number crate.
fn pseudo_random(body: &[u8]) -> f64 {
    use std::hash::{BuildHasher, RandomState};
    let hash = RandomState::new().hash_one(body);
    (hash % 10_000) as f64 / 10_000.0
}
