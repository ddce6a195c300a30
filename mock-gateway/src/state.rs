//! The gateway's shared state: the ledger, the PaymentIntents, the
//! idempotency records of each endpoint, and the fault settings.
//!
//! The ledger, the PaymentIntents and the idempotency records sit behind one
//! lock, held for the
//! whole of "look up the key, do the work, store the reply". Two requests with
//! the same key therefore never both charge: the second waits for the lock and
//! then finds the first one's record. Nothing awaits while holding the lock;
//! latency and hangs happen outside it. The time that decides whether an
//! authorization has lapsed is read under the lock too, and never goes back
//! (should the wall clock), so a lapse, once seen by a request, stays.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use poem::http::StatusCode;
use serde_json::Value;

use crate::faults::{FaultSwitch, Faults};
use crate::idempotency::IdempotencyRecords;
use crate::intents::PaymentIntents;
use crate::ledger::{Ledger, LedgerEntry};
use crate::reply::{Answer, Reply};
use crate::requests::{CancelParams, CaptureParams, ChargeParams, IntentParams, RefundParams};
use crate::stripe_error::StripeError;

#[derive(Debug)]
pub(crate) struct Gateway {
    books: Mutex<Books>,
    pub(crate) faults: FaultSwitch,
}

/// Everything one lock guards.
#[derive(Debug)]
struct Books {
    ledger: Ledger,
    intents: PaymentIntents,
    /// The latest time a request was handled at; see [`Books::now`].
    latest: DateTime<Utc>,
    /// One set of keys per endpoint, as in Stripe: a key used for a charge
    /// means nothing to a refund, a capture or a cancel.
    charge_keys: IdempotencyRecords<ChargeParams>,
    refund_keys: IdempotencyRecords<RefundParams>,
    intent_keys: IdempotencyRecords<IntentParams>,
    capture_keys: IdempotencyRecords<CaptureParams>,
    cancel_keys: IdempotencyRecords<CancelParams>,
}

impl Gateway {
    /// Takes fault settings that [`Faults::validate`] accepted, and how long
    /// a manual PaymentIntent's authorization lasts.
    pub(crate) fn new(faults: Faults, authorization_ttl: Duration) -> Self {
        // Longer than chrono can count is as good as forever.
        let authorization_ttl = TimeDelta::from_std(authorization_ttl).unwrap_or(TimeDelta::MAX);
        Self {
            books: Mutex::new(Books {
                ledger: Ledger::default(),
                intents: PaymentIntents::new(authorization_ttl),
                latest: DateTime::<Utc>::MIN_UTC,
                charge_keys: IdempotencyRecords::default(),
                refund_keys: IdempotencyRecords::default(),
                intent_keys: IdempotencyRecords::default(),
                capture_keys: IdempotencyRecords::default(),
                cancel_keys: IdempotencyRecords::default(),
            }),
            faults: FaultSwitch::new(faults),
        }
    }

    pub(crate) fn create_charge(&self, key: Option<&str>, params: ChargeParams) -> Answer {
        let mut books = self.lock();
        let Books {
            ledger,
            charge_keys,
            ..
        } = &mut *books;
        charge_keys.run(key, params, |params| {
            success_or_error(ledger.charge(params, key))
        })
    }

    pub(crate) fn create_refund(&self, key: Option<&str>, params: RefundParams) -> Answer {
        let mut books = self.lock();
        let Books {
            ledger,
            refund_keys,
            ..
        } = &mut *books;
        refund_keys.run(key, params, |params| {
            success_or_error(ledger.refund(params, key))
        })
    }

    pub(crate) fn create_payment_intent(&self, key: Option<&str>, params: IntentParams) -> Answer {
        let mut books = self.lock();
        let now = books.now();
        let Books {
            ledger,
            intents,
            intent_keys,
            ..
        } = &mut *books;
        intent_keys.run(key, params, |params| {
            success_or_error(intents.create(ledger, params, key, now))
        })
    }

    pub(crate) fn capture_payment_intent(
        &self,
        key: Option<&str>,
        params: CaptureParams,
    ) -> Answer {
        let mut books = self.lock();
        let now = books.now();
        let Books {
            ledger,
            intents,
            capture_keys,
            ..
        } = &mut *books;
        capture_keys.run(key, params, |params| {
            success_or_error(intents.capture(ledger, params, key, now))
        })
    }

    pub(crate) fn cancel_payment_intent(&self, key: Option<&str>, params: CancelParams) -> Answer {
        let mut books = self.lock();
        let now = books.now();
        let Books {
            ledger,
            intents,
            cancel_keys,
            ..
        } = &mut *books;
        cancel_keys.run(key, params, |params| {
            success_or_error(intents.cancel(ledger, params, key, now))
        })
    }

    /// The intent as it reads now, or a 404.
    pub(crate) fn payment_intent(&self, id: &str) -> Result<Value, StripeError> {
        let mut books = self.lock();
        let now = books.now();
        books.intents.retrieve(id, now)
    }

    pub(crate) fn payment_intent_made_with(&self, key: &str) -> Option<Value> {
        let mut books = self.lock();
        let now = books.now();
        books.intents.made_with(key, now)
    }

    pub(crate) fn charge_made_with(&self, key: &str) -> Option<Value> {
        self.lock().ledger.charge_made_with(key)
    }

    pub(crate) fn ledger_entries(&self) -> Vec<LedgerEntry> {
        self.lock().ledger.entries().to_vec()
    }

    /// Nothing under the lock can panic (no indexing, no unwrap), so it is
    /// never poisoned; should it be, the books are used as they are rather
    /// than taking the gateway down.
    fn lock(&self) -> MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Books {
    /// The wall-clock time, but never earlier than a time already handed out.
    fn now(&mut self) -> DateTime<Utc> {
        self.latest = self.latest.max(Utc::now());
        self.latest
    }
}

fn success_or_error(result: Result<Value, StripeError>) -> Reply {
    match result {
        Ok(body) => Reply {
            status: StatusCode::OK,
            body,
        },
        Err(error) => error.into_reply(),
    }
}
