//! Idempotency records, one set per endpoint, as Stripe keeps them.
//!
//! Invariants:
//! - The first request with a key stores its parameters and its reply, errors
//!   included (a 402 decline is replayed as a 402). Only requests that parse
//!   reach this point, so a malformed request never takes a key.
//! - A later request with the same key and equal parameters gets exactly the
//!   stored reply again, marked as replayed, and does nothing else.
//! - A later request with the same key and other parameters gets an
//!   `idempotency_error` and does nothing; the stored record is kept.
//! - A record is never changed or removed once stored (the process forgets
//!   them all when it stops).
//!
//! Callers hold the gateway's lock around [`IdempotencyRecords::run`], so
//! checking for a key and doing the work under it are one atomic step.

use std::collections::HashMap;

use crate::reply::{Answer, Reply};
use crate::stripe_error::StripeError;

/// The records of one endpoint; `P` is that endpoint's parsed parameters.
#[derive(Debug)]
pub(crate) struct IdempotencyRecords<P> {
    by_key: HashMap<String, Record<P>>,
}

#[derive(Debug)]
struct Record<P> {
    params: P,
    reply: Reply,
}

impl<P> Default for IdempotencyRecords<P> {
    fn default() -> Self {
        Self {
            by_key: HashMap::new(),
        }
    }
}

impl<P: PartialEq> IdempotencyRecords<P> {
    /// Runs `work` once per key: replays the stored reply for a known key with
    /// the same parameters, refuses a known key with other parameters, and
    /// otherwise runs `work` and stores its reply. Without a key, `work` just
    /// runs.
    pub(crate) fn run(
        &mut self,
        key: Option<&str>,
        params: P,
        work: impl FnOnce(&P) -> Reply,
    ) -> Answer {
        let Some(key) = key else {
            return Answer::fresh(work(&params));
        };
        if let Some(record) = self.by_key.get(key) {
            if record.params == params {
                return Answer {
                    reply: record.reply.clone(),
                    replayed: true,
                };
            }
            return Answer::fresh(StripeError::idempotency_key_reused(key).into_reply());
        }
        let reply = work(&params);
        self.by_key.insert(
            key.to_owned(),
            Record {
                params,
                reply: reply.clone(),
            },
        );
        Answer::fresh(reply)
    }
}

#[cfg(test)]
mod tests {
    use poem::http::StatusCode;
    use serde_json::json;

    use super::*;

    fn ok(n: u64) -> Reply {
        Reply {
            status: StatusCode::OK,
            body: json!({ "n": n }),
        }
    }

    #[test]
    fn a_known_key_replays_without_running_the_work_again() {
        let mut records = IdempotencyRecords::default();
        let mut runs = 0;
        let first = records.run(Some("k"), 7, |_| {
            runs += 1;
            ok(1)
        });
        let second = records.run(Some("k"), 7, |_| {
            runs += 1;
            ok(2)
        });
        assert_eq!(runs, 1);
        assert!(!first.replayed);
        assert!(second.replayed);
        assert_eq!(first.reply, second.reply);
    }

    #[test]
    fn a_known_key_with_other_parameters_is_refused_and_keeps_its_record() {
        let mut records = IdempotencyRecords::default();
        records.run(Some("k"), 7, |_| ok(1));
        let refused = records.run(Some("k"), 8, |_| ok(2));
        assert_eq!(refused.reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(refused.reply.body["error"]["type"], "idempotency_error");
        let again = records.run(Some("k"), 7, |_| ok(3));
        assert_eq!(again.reply, ok(1));
    }

    #[test]
    fn without_a_key_the_work_runs_every_time() {
        let mut records = IdempotencyRecords::default();
        assert_eq!(records.run(None, 7, |_| ok(1)).reply, ok(1));
        assert_eq!(records.run(None, 7, |_| ok(2)).reply, ok(2));
    }
}
