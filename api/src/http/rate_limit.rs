//! Per-API-key rate limits: a token bucket per key, held in this process.
//!
//! Each key has its own limit (`keys create --rate-limit`) or the process's
//! default (`RATE_LIMIT_PER_SECOND`). Every authenticated request takes a
//! token, a replayed idempotent one too; with none left the answer is 429
//! `rate-limited` with `Retry-After`. Every authenticated answer carries the
//! IETF httpapi draft's fields (draft-ietf-httpapi-ratelimit-headers-09):
//!
//! ```text
//! RateLimit-Policy: "api-key";q=200;w=2
//! RateLimit: "api-key";r=187;t=1
//! ```
//!
//! `q` is the bucket's size (the burst) and `w` the seconds it takes to fill
//! up from empty; `r` is the requests left now and `t` the seconds until
//! the bucket is full again.
//!
//! The buckets live in each API process: a shared one would cost a database
//! write per request, the very capacity the limit is there to protect. With
//! N processes behind a balancer a key may make up to N times its limit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response};
use shared::keys::{ApiKey, RateLimit};
use uuid::Uuid;

use super::problem::{Problem, ProblemType};
use super::raw_problem::problem_response;

/// The policy's name in the `RateLimit-Policy` and `RateLimit` fields.
const POLICY: &str = "api-key";

/// The token buckets of every key that has called this process.
#[derive(Debug)]
pub struct RateLimiter {
    default: Option<RateLimit>,
    buckets: Mutex<HashMap<Uuid, Bucket>>,
}

/// What one request's take from its key's bucket came to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub limit: RateLimit,
    pub allowed: bool,
    /// Whole requests left in the bucket.
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub full_in: Duration,
    /// Seconds until one request would be allowed (zero when it was).
    pub retry_in: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    limit: RateLimit,
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn full(limit: RateLimit, now: Instant) -> Self {
        Self {
            limit,
            tokens: f64::from(limit.burst),
            updated: now,
        }
    }

    /// Refills for the time since the last take, then takes one token if
    /// there is one.
    fn take(&mut self, now: Instant) -> Decision {
        let rate = f64::from(self.limit.per_second);
        let burst = f64::from(self.limit.burst);
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.updated = now;
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        let seconds = |tokens: f64| Duration::from_secs_f64((tokens / rate).max(0.0));
        Decision {
            limit: self.limit,
            allowed,
            remaining: self.tokens.floor() as u32,
            full_in: seconds(burst - self.tokens),
            retry_in: if allowed {
                Duration::ZERO
            } else {
                seconds(1.0 - self.tokens)
            },
        }
    }
}

impl RateLimiter {
    /// Limits every key without one of its own to `default`, or leaves them
    /// unlimited when `None`.
    pub fn new(default: Option<RateLimit>) -> Arc<Self> {
        Arc::new(Self {
            default,
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a token for one request made with `key`; `None` when the key
    /// is not limited.
    pub fn take(&self, key: &ApiKey) -> Option<Decision> {
        self.take_at(key.id, key.rate_limit, Instant::now())
    }

    fn take_at(&self, key: Uuid, own: Option<RateLimit>, now: Instant) -> Option<Decision> {
        let limit = own.or(self.default)?;
        let mut buckets = match self.buckets.lock() {
            Ok(buckets) => buckets,
            Err(poisoned) => poisoned.into_inner(),
        };
        let bucket = buckets
            .entry(key)
            .or_insert_with(|| Bucket::full(limit, now));
        if bucket.limit != limit {
            // The key's limit was changed: the new one applies from now, with
            // no more saved up than it allows.
            let tokens = bucket.tokens.min(f64::from(limit.burst));
            bucket.limit = limit;
            bucket.tokens = tokens;
        }
        Some(bucket.take(now))
    }
}

/// Where the authentication of one request leaves its [`Decision`], for
/// [`rate_limit_fields`] to answer with.
#[derive(Debug, Clone, Default)]
pub struct DecisionSlot(Arc<Mutex<Option<Decision>>>);

impl DecisionSlot {
    pub fn record(&self, decision: Decision) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(decision);
        }
    }

    fn get(&self) -> Option<Decision> {
        self.0.lock().ok().and_then(|slot| *slot)
    }
}

/// Middleware: every answer to a request made with a limited key carries
/// `RateLimit-Policy` and `RateLimit`.
pub async fn rate_limit_fields<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let slot = DecisionSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut response = next.call(req).await?.into_response();
    if let Some(decision) = slot.get() {
        add_fields(&mut response, &decision);
    }
    Ok(response)
}

fn add_fields(response: &mut Response, decision: &Decision) {
    let policy = format!(
        "\"{POLICY}\";q={};w={}",
        decision.limit.burst,
        whole_seconds(Duration::from_secs_f64(
            f64::from(decision.limit.burst) / f64::from(decision.limit.per_second)
        ))
    );
    let current = format!(
        "\"{POLICY}\";r={};t={}",
        decision.remaining,
        whole_seconds(decision.full_in)
    );
    for (name, value) in [("ratelimit-policy", policy), ("ratelimit", current)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
}

/// The 429 for a request its key had no token for.
pub fn rate_limited(key: &ApiKey, decision: &Decision) -> Response {
    let retry_after = whole_seconds(decision.retry_in).max(1);
    let mut response = problem_response(Problem::new(
        ProblemType::RateLimited,
        format!(
            "the API key {:?} made more requests than its limit of {} allows; retry after \
             Retry-After seconds (an order with the same Idempotency-Key)",
            key.name, decision.limit
        ),
    ));
    if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
        response
            .headers_mut()
            .insert(poem::http::header::RETRY_AFTER, value);
    }
    response
}

/// Seconds, rounded up: a client told 0 would retry at once.
fn whole_seconds(duration: Duration) -> u64 {
    let secs = duration.as_secs();
    if duration.subsec_nanos() > 0 {
        secs + 1
    } else {
        secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_second: u32, burst: u32) -> Option<RateLimit> {
        RateLimit::new(per_second, Some(burst))
    }

    #[test]
    fn a_key_may_spend_its_burst_then_waits_for_the_refill() {
        let limiter = RateLimiter::new(limit(10, 3));
        let key = Uuid::now_v7();
        let start = Instant::now();
        let taken: Vec<_> = (0..4)
            .filter_map(|_| limiter.take_at(key, None, start))
            .collect();
        assert_eq!(
            taken.iter().map(|d| d.allowed).collect::<Vec<_>>(),
            [true, true, true, false]
        );
        assert_eq!(taken[2].remaining, 0);
        assert_eq!(taken[3].retry_in, Duration::from_millis(100));
        assert_eq!(taken[3].full_in, Duration::from_millis(300));
        let later = limiter
            .take_at(key, None, start + Duration::from_millis(100))
            .expect("limited");
        assert!(later.allowed, "a tenth of a second refills one of 10/s");
    }

    #[test]
    fn keys_have_buckets_of_their_own() {
        let limiter = RateLimiter::new(limit(1, 1));
        let now = Instant::now();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(limiter.take_at(a, None, now).expect("limited").allowed);
        assert!(!limiter.take_at(a, None, now).expect("limited").allowed);
        assert!(limiter.take_at(b, None, now).expect("limited").allowed);
    }

    #[test]
    fn a_key_limit_overrides_the_default_and_no_default_means_no_limit() {
        let limiter = RateLimiter::new(None);
        let now = Instant::now();
        assert_eq!(limiter.take_at(Uuid::now_v7(), None, now), None);
        let decision = limiter
            .take_at(Uuid::now_v7(), limit(5, 7), now)
            .expect("limited by its own limit");
        assert_eq!(decision.remaining, 6);
    }

    #[test]
    fn a_changed_limit_applies_from_the_next_request() {
        let limiter = RateLimiter::new(None);
        let now = Instant::now();
        let key = Uuid::now_v7();
        assert_eq!(
            limiter
                .take_at(key, limit(100, 100), now)
                .map(|d| d.remaining),
            Some(99)
        );
        let lowered = limiter.take_at(key, limit(1, 2), now).expect("limited");
        assert_eq!((lowered.allowed, lowered.remaining), (true, 1));
    }

    #[test]
    fn the_fields_follow_the_ietf_draft() {
        let mut response = Response::default();
        let decision = Decision {
            limit: RateLimit::new(100, Some(200)).expect("a limit"),
            allowed: true,
            remaining: 187,
            full_in: Duration::from_millis(130),
            retry_in: Duration::ZERO,
        };
        add_fields(&mut response, &decision);
        assert_eq!(
            response.headers()["ratelimit-policy"],
            "\"api-key\";q=200;w=2"
        );
        assert_eq!(response.headers()["ratelimit"], "\"api-key\";r=187;t=1");
    }
}
