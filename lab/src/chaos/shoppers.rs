//! The shoppers: clients of the API that place orders the way a careful
//! storefront does. Each order is retried with its own `Idempotency-Key`
//! until the API accepts it (the API may be dead, restarting, or without its
//! database); some are sent twice at once with the same key, and some are
//! cancelled, right after they are accepted or once their payment is held. Every request and its answer (or
//! the lack of one) is written down for the checks.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::time::Instant;
use uuid::Uuid;

/// How long a shopper keeps retrying one request before giving up (and the
/// run counts it as a violation).
const GIVE_UP_AFTER: Duration = Duration::from_secs(120);

/// The first pause between two tries of the same request; it doubles up to
/// [`MAX_RETRY_PAUSE`] (with jitter), unless the API says `Retry-After`.
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(100);
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(2);

/// Longer than the API's own 30 s request timeout, so that the API answers
/// (503) before the client gives up on a slow request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(35);

/// One request the shoppers sent, and what came of it.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub sent: Instant,
    pub ended: Instant,
    pub answer: Answer,
    /// A problem answer's `detail`, which says why (for the checks' report).
    pub problem: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Answer {
    /// An HTTP status, whatever it was.
    Status(u16),
    /// No HTTP answer at all: refused, reset, or timed out.
    None(String),
}

/// Every exchange of the run, shared by all shoppers.
#[derive(Debug, Clone, Default)]
pub struct Exchanges(Arc<Mutex<Vec<Exchange>>>);

impl Exchanges {
    fn record(&self, exchange: Exchange) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(exchange);
    }

    pub fn all(&self) -> Vec<Exchange> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// What one shopper set out to do: decided up front from the run's seed.
#[derive(Debug, Clone)]
pub struct Plan {
    pub key: String,
    pub body: Value,
    /// Send the POST twice at once with the same key.
    pub duplicate: bool,
    /// Ask to cancel the order, and when.
    pub cancel: Option<CancelWhen>,
}

/// How one shopper's order went, from the client's side.
#[derive(Debug, Clone)]
pub struct Purchase {
    pub key: String,
    /// The order every 202 named; `None` when no request was ever accepted.
    pub order: Option<Uuid>,
    /// Every order id the 202s for this key named: two, the same, when the
    /// POST was sent twice.
    pub ids_answered: Vec<Uuid>,
    /// The POST was sent twice at once.
    pub duplicate: bool,
    /// The cancel request got 200: cancelled before its payment started.
    pub cancelled: bool,
    /// The cancel request got 202: cancelled after its payment was taken or
    /// held, to be given back.
    pub cancelled_after_payment: bool,
    /// Why the shopper gave up, or each answer that made no sense.
    pub problems: Vec<String>,
}

/// How often a shopper waiting to cancel a paid order reads it.
const PAID_POLL: Duration = Duration::from_millis(5);

/// When a shopper cancels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelWhen {
    /// As soon as the order is accepted: before its payment, mostly.
    AtOnce,
    /// Once it sees the order past `pending`: its payment taken or held.
    OncePaid,
}

/// How a cancel landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cancelled {
    /// 200: before the payment started.
    AtOnce,
    /// 202: after it; the money is given back.
    AfterPayment,
}

/// The catalog a run orders from.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub skus: Vec<String>,
}

impl Plan {
    /// The `n`th order of a run seeded with `seed`: mostly good cards, one in
    /// ten declined, one in twenty for lack of funds; one or two lines of one
    /// to three items; a tenth sent twice, and a fifth cancelled (half as
    /// soon as accepted, half once they see its payment held); about half paid by manual capture (authorize, reserve,
    /// capture), the rest automatically.
    pub fn new(seed: u64, n: u64, catalog: &Catalog) -> Self {
        let mut rng = StdRng::seed_from_u64(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let token = match rng.random_range(0..20) {
            0 | 1 => "tok_chargeDeclined",
            2 => "tok_chargeDeclinedInsufficientFunds",
            _ => "tok_visa",
        };
        let first = rng.random_range(0..catalog.skus.len());
        let mut skus = vec![first];
        if catalog.skus.len() > 1 && rng.random_bool(0.5) {
            let offset = rng.random_range(1..catalog.skus.len());
            skus.push((first + offset) % catalog.skus.len());
        }
        let items: Vec<Value> = skus
            .iter()
            .map(|&i| json!({ "sku": catalog.skus[i], "quantity": rng.random_range(1..=3) }))
            .collect();
        let cancel = rng.random_bool(0.2).then(|| {
            if rng.random_bool(0.5) {
                CancelWhen::AtOnce
            } else {
                CancelWhen::OncePaid
            }
        });
        // A shopper who cancels once paid pays manually: between its hold
        // and its capture (a call to the gateway) is the widest window.
        let capture_method = if cancel == Some(CancelWhen::OncePaid) || rng.random_bool(0.5) {
            "manual"
        } else {
            "automatic"
        };
        Self {
            key: format!("chaos-{seed}-{n}"),
            body: json!({
                "customer_email": format!("shopper{n}@example.com"),
                "items": items,
                "payment_token": token,
                "metadata": { "chaos_order": n.to_string() },
                "capture_method": capture_method,
            }),
            duplicate: rng.random_bool(0.10),
            cancel,
        }
    }
}

/// A client of the API under test.
#[derive(Clone)]
pub struct Shopper {
    pub http: reqwest::Client,
    pub api: String,
    pub exchanges: Exchanges,
}

/// What a request came to, once it stopped being worth retrying.
enum Settled {
    Answered(u16, Value),
    GaveUp(String),
}

impl Shopper {
    pub fn new(api: &str, admin_key: &str) -> anyhow::Result<Self> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {admin_key}").parse()?,
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(1))
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(Self {
            http,
            api: api.to_owned(),
            exchanges: Exchanges::default(),
        })
    }

    /// Places `plan`'s order (twice at once if it says so), then cancels it
    /// if it says so.
    pub async fn shop(&self, plan: Plan) -> Purchase {
        let placements = if plan.duplicate {
            let (a, b) = tokio::join!(self.place(&plan), self.place(&plan));
            vec![a, b]
        } else {
            vec![self.place(&plan).await]
        };
        let mut outcome = Purchase {
            key: plan.key.clone(),
            order: None,
            ids_answered: Vec::new(),
            duplicate: plan.duplicate,
            cancelled: false,
            cancelled_after_payment: false,
            problems: Vec::new(),
        };
        for placement in placements {
            match placement {
                Ok(id) => outcome.ids_answered.push(id),
                Err(problem) => outcome.problems.push(problem),
            }
        }
        outcome.order = outcome.ids_answered.first().copied();
        if let (Some(when), Some(id)) = (plan.cancel, outcome.order) {
            if when == CancelWhen::OncePaid {
                self.wait_until_paid(id).await;
            }
            match self.cancel(id).await {
                Ok(Some(Cancelled::AtOnce)) => outcome.cancelled = true,
                Ok(Some(Cancelled::AfterPayment)) => outcome.cancelled_after_payment = true,
                Ok(None) => {}
                Err(problem) => outcome.problems.push(problem),
            }
        }
        outcome
    }

    /// POSTs the order until a 202; another answer than 202, 409 (the same
    /// key in flight) or 503 is a problem.
    async fn place(&self, plan: &Plan) -> Result<Uuid, String> {
        let url = format!("{}/v1/orders", self.api);
        let settled = self
            .until_settled(|| {
                self.http
                    .post(&url)
                    .header("Idempotency-Key", &plan.key)
                    .json(&plan.body)
            })
            .await;
        match settled {
            Settled::Answered(202, order) => order["id"]
                .as_str()
                .and_then(|id| Uuid::parse_str(id).ok())
                .ok_or_else(|| format!("a 202 for {} without an order id: {order}", plan.key)),
            Settled::Answered(status, body) => {
                Err(format!("POST {} answered {status}: {body}", plan.key))
            }
            Settled::GaveUp(why) => Err(format!("POST {} never accepted: {why}", plan.key)),
        }
    }

    /// Watches the order (a read every few milliseconds, for at most ten
    /// seconds) until its payment is taken or held, or it has gone past
    /// that: the shopper who changes their mind once charged.
    async fn wait_until_paid(&self, id: Uuid) {
        let url = format!("{}/v1/orders/{id}", self.api);
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if let Settled::Answered(200, order) = self.until_settled(|| self.http.get(&url)).await
            {
                let status = order["status"].as_str().unwrap_or("");
                if status != "pending" {
                    return;
                }
            }
            tokio::time::sleep(PAID_POLL).await;
        }
    }

    /// Cancels the order: how, or `None` on 409 (too late).
    async fn cancel(&self, id: Uuid) -> Result<Option<Cancelled>, String> {
        let url = format!("{}/v1/orders/{id}/cancel", self.api);
        match self.until_settled(|| self.http.post(&url)).await {
            Settled::Answered(200, _) => Ok(Some(Cancelled::AtOnce)),
            Settled::Answered(202, _) => Ok(Some(Cancelled::AfterPayment)),
            Settled::Answered(409, _) => Ok(None),
            Settled::Answered(status, body) => {
                Err(format!("cancel {id} answered {status}: {body}"))
            }
            Settled::GaveUp(why) => Err(format!("cancel {id} never answered: {why}")),
        }
    }

    /// Sends the request until it gets an answer that is not "try again"
    /// (no answer, 503, or 409 `idempotency-key-in-use`), for at most
    /// [`GIVE_UP_AFTER`], backing off between tries as a careful client does.
    async fn until_settled(&self, request: impl Fn() -> reqwest::RequestBuilder) -> Settled {
        let give_up_at = Instant::now() + GIVE_UP_AFTER;
        let mut backoff = FIRST_RETRY_PAUSE;
        loop {
            let sent = Instant::now();
            let result = request().send().await;
            let mut retry_after = None;
            let mut problem = None;
            let (answer, settled) = match result {
                Ok(response) => {
                    let status = response.status().as_u16();
                    retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let body: Value = response.json().await.unwrap_or(Value::Null);
                    problem = body["detail"].as_str().map(str::to_owned);
                    let again = status == 503
                        || (status == 409
                            && body["type"]
                                .as_str()
                                .is_some_and(|t| t.ends_with("idempotency-key-in-use")));
                    let settled = (!again).then_some(Settled::Answered(status, body));
                    (Answer::Status(status), settled)
                }
                // `{:#}` prints the causes too (reqwest's own message hides them).
                Err(error) => (
                    Answer::None(format!("{:#}", anyhow::Error::new(error))),
                    None,
                ),
            };
            let why = match &answer {
                Answer::Status(status) => format!("last answer {status}"),
                Answer::None(error) => error.clone(),
            };
            self.exchanges.record(Exchange {
                sent,
                ended: Instant::now(),
                answer,
                problem,
            });
            if let Some(settled) = settled {
                return settled;
            }
            if Instant::now() >= give_up_at {
                return Settled::GaveUp(why);
            }
            let jittered = backoff.mul_f64(rand::random_range(0.5..=1.0));
            tokio::time::sleep(retry_after.unwrap_or(jittered)).await;
            backoff = (backoff * 2).min(MAX_RETRY_PAUSE);
        }
    }
}
