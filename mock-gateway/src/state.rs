//! The gateway's shared state: the ledger, the idempotency records of each
//! endpoint, and the fault settings.
//!
//! The ledger and the idempotency records sit behind one lock, held for the
//! whole of "look up the key, do the work, store the reply". Two requests with
//! the same key therefore never both charge: the second waits for the lock and
//! then finds the first one's record. Nothing awaits while holding the lock;
//! latency and hangs happen outside it.

use std::sync::{Mutex, MutexGuard, PoisonError};

use poem::http::StatusCode;
use serde_json::Value;

use crate::faults::{FaultSwitch, Faults};
use crate::idempotency::IdempotencyRecords;
use crate::ledger::{Ledger, LedgerEntry};
use crate::reply::{Answer, Reply};
use crate::requests::{ChargeParams, RefundParams};

#[derive(Debug)]
pub(crate) struct Gateway {
    books: Mutex<Books>,
    pub(crate) faults: FaultSwitch,
}

/// Everything one lock guards.
#[derive(Debug, Default)]
struct Books {
    ledger: Ledger,
    /// Keys of `POST /v1/charges`; separate from refunds' keys, as in Stripe.
    charge_keys: IdempotencyRecords<ChargeParams>,
    refund_keys: IdempotencyRecords<RefundParams>,
}

impl Gateway {
    /// Takes fault settings that [`Faults::validate`] accepted.
    pub(crate) fn new(faults: Faults) -> Self {
        Self {
            books: Mutex::default(),
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

fn success_or_error(result: Result<Value, crate::stripe_error::StripeError>) -> Reply {
    match result {
        Ok(body) => Reply {
            status: StatusCode::OK,
            body,
        },
        Err(error) => error.into_reply(),
    }
}
