//! Per-API-key rate limits: a token bucket per key, held in this process.
//!
//! Each key has its own limit (`keys create --rate-limit`) or the process's
//! default (`RATE_LIMIT_PER_SECOND`). Every authenticated request takes a
//! token, a replayed idempotent one too; with none left the answer is 429
//! `rate-limited` with `Retry-After`. Buckets are found by the hash of the
//! key's secret, so a key that has called before is refused before its key
//! is looked up: a greedy client costs no database work once it is over its
//! limit. Every answer to a request whose key was checked carries the IETF
//! httpapi draft's fields (draft-ietf-httpapi-ratelimit-headers-09):
//!
//! ```text
//! RateLimit-Policy: "api-key";q=100;w=1
//! RateLimit: "api-key";r=187;t=1
//! ```
//!
//! `q` per `w` seconds is the sustained rate; `r` is the requests that may
//! be made now (up to the burst, the bucket's size) and `t` the seconds
//! until the bucket is full again.
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

use super::problem::{Problem, ProblemType};
use super::raw_problem::problem_response;

/// The policy's name in the `RateLimit-Policy` and `RateLimit` fields.
const POLICY: &str = "api-key";

/// The token buckets of the keys that have called this process, by the hash
/// of their secret.
#[derive(Debug)]
pub struct RateLimiter {
    default: Option<RateLimit>,
    buckets: Mutex<HashMap<Vec<u8>, Bucket>>,
}

/// What one request's take from its key's bucket came to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub limit: RateLimit,
    pub allowed: bool,
    /// Whole requests left in the bucket.
    pub remaining: u32,
    /// Until the bucket is full again.
    pub full_in: Duration,
    /// Until one request would be allowed (zero when it was).
    pub retry_in: Duration,
}

#[derive(Debug, Clone)]
struct Bucket {
    limit: RateLimit,
    /// The key's name, for the 429's detail.
    name: String,
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn full(limit: RateLimit, name: &str, now: Instant) -> Self {
        Self {
            limit,
            name: name.to_owned(),
            tokens: f64::from(limit.burst()),
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * f64::from(self.limit.per_second()))
            .min(f64::from(self.limit.burst()));
        self.updated = now;
    }

    /// Refills for the time since the last take, then takes one token if
    /// there is one.
    fn take(&mut self, now: Instant) -> Decision {
        self.refill(now);
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        let rate = f64::from(self.limit.per_second());
        let seconds = |tokens: f64| Duration::from_secs_f64((tokens / rate).max(0.0));
        Decision {
            limit: self.limit,
            allowed,
            remaining: self.tokens.floor() as u32,
            full_in: seconds(f64::from(self.limit.burst()) - self.tokens),
            retry_in: if allowed {
                Duration::ZERO
            } else {
                seconds(1.0 - self.tokens)
            },
        }
    }

    /// The key's limit was changed: what was saved up under the old one
    /// counts until now, and no more than the new one allows after.
    fn change(&mut self, limit: RateLimit, now: Instant) {
        if self.limit != limit {
            self.refill(now);
            self.limit = limit;
            self.tokens = self.tokens.min(f64::from(limit.burst()));
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

    fn buckets(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Bucket>> {
        match self.buckets.lock() {
            Ok(buckets) => buckets,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Before the key is looked up: takes a token for a request with the
    /// secret whose hash is `secret_hash`, when that key has called before
    /// (`None` otherwise). A refusal here needs no lookup. Also returns the
    /// key's name, for the refusal.
    pub fn take_known(&self, secret_hash: &[u8]) -> Option<(Decision, String)> {
        self.take_known_at(secret_hash, Instant::now())
    }

    fn take_known_at(&self, secret_hash: &[u8], now: Instant) -> Option<(Decision, String)> {
        let mut buckets = self.buckets();
        let bucket = buckets.get_mut(secret_hash)?;
        Some((bucket.take(now), bucket.name.clone()))
    }

    /// After the lookup found `key`: a key not seen before gets its bucket
    /// and takes its first token here (the decision is returned); for one
    /// seen before, a changed limit applies from its next request. `None`
    /// when nothing was taken here.
    pub fn found(&self, secret_hash: &[u8], key: &ApiKey) -> Option<Decision> {
        self.found_at(secret_hash, key.rate_limit, &key.name, Instant::now())
    }

    fn found_at(
        &self,
        secret_hash: &[u8],
        own: Option<RateLimit>,
        name: &str,
        now: Instant,
    ) -> Option<Decision> {
        let mut buckets = self.buckets();
        let Some(limit) = own.or(self.default) else {
            // Not limited (any more): no bucket.
            buckets.remove(secret_hash);
            return None;
        };
        match buckets.get_mut(secret_hash) {
            Some(bucket) => {
                bucket.change(limit, now);
                None
            }
            None => {
                let mut bucket = Bucket::full(limit, name, now);
                let decision = bucket.take(now);
                buckets.insert(secret_hash.to_vec(), bucket);
                Some(decision)
            }
        }
    }

    /// The lookup found no live key for the secret (unknown, or revoked):
    /// its bucket goes, so that made-up keys cannot fill memory.
    pub fn forget(&self, secret_hash: &[u8]) {
        self.buckets().remove(secret_hash);
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
    let policy = format!("\"{POLICY}\";q={};w=1", decision.limit.per_second());
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

/// The 429 for a request the key named `key_name` had no token for.
pub fn rate_limited(key_name: &str, decision: &Decision) -> Response {
    let retry_after = whole_seconds(decision.retry_in).max(1);
    let mut response = problem_response(Problem::new(
        ProblemType::RateLimited,
        format!(
            "the API key {:?} made more requests than its limit of {} allows; retry after \
             Retry-After seconds (an order with the same Idempotency-Key)",
            key_name, decision.limit
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

    /// The first request of a key, then `n` more before any lookup.
    fn requests(
        limiter: &RateLimiter,
        key: &[u8],
        own: Option<RateLimit>,
        n: usize,
        now: Instant,
    ) -> Vec<Decision> {
        let first = limiter.found_at(key, own, "k", now).expect("limited");
        let mut decisions = vec![first];
        decisions.extend((0..n).filter_map(|_| limiter.take_known_at(key, now).map(|(d, _)| d)));
        decisions
    }

    #[test]
    fn a_key_may_spend_its_burst_then_waits_for_the_refill() {
        let limiter = RateLimiter::new(limit(10, 3));
        let start = Instant::now();
        let taken = requests(&limiter, b"a", None, 3, start);
        assert_eq!(
            taken.iter().map(|d| d.allowed).collect::<Vec<_>>(),
            [true, true, true, false]
        );
        assert_eq!(taken[2].remaining, 0);
        assert_eq!(taken[3].retry_in.as_millis(), 100);
        assert_eq!(taken[3].full_in.as_millis(), 300);
        let (later, name) = limiter
            .take_known_at(b"a", start + Duration::from_millis(100))
            .expect("known");
        assert!(later.allowed, "a tenth of a second refills one of 10/s");
        assert_eq!(name, "k");
    }

    #[test]
    fn keys_have_buckets_of_their_own() {
        let limiter = RateLimiter::new(limit(1, 1));
        let now = Instant::now();
        assert!(!requests(&limiter, b"a", None, 1, now)[1].allowed);
        assert!(requests(&limiter, b"b", None, 0, now)[0].allowed);
    }

    #[test]
    fn a_key_limit_overrides_the_default_and_no_default_means_no_limit() {
        let limiter = RateLimiter::new(None);
        let now = Instant::now();
        assert_eq!(limiter.found_at(b"a", None, "a", now), None);
        assert_eq!(limiter.take_known_at(b"a", now), None);
        let decision = limiter
            .found_at(b"b", limit(5, 7), "b", now)
            .expect("limited by its own");
        assert_eq!(decision.remaining, 6);
    }

    #[test]
    fn a_changed_limit_applies_from_the_next_request() {
        let limiter = RateLimiter::new(None);
        let now = Instant::now();
        requests(&limiter, b"a", limit(100, 100), 0, now);
        // The lookup of a later request learns the new limit.
        assert_eq!(limiter.found_at(b"a", limit(1, 2), "a", now), None);
        let lowered: Vec<bool> = (0..3)
            .filter_map(|_| limiter.take_known_at(b"a", now))
            .map(|(d, _)| d.allowed)
            .collect();
        assert_eq!(lowered, [true, true, false]);
    }

    #[test]
    fn an_unknown_key_leaves_no_bucket_behind() {
        let limiter = RateLimiter::new(limit(1, 1));
        let now = Instant::now();
        requests(&limiter, b"a", None, 0, now);
        limiter.forget(b"a");
        assert_eq!(limiter.take_known_at(b"a", now), None);
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
            "\"api-key\";q=100;w=1"
        );
        assert_eq!(response.headers()["ratelimit"], "\"api-key\";r=187;t=1");
    }
}
