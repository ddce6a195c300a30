//! A Stripe-shaped payment gateway stand-in, run as its own process
//! (`asynccheckout mock-gateway`) so that the payment and refund steps talk to
//! it over a real network, with real timeouts and resets.
//!
//! It speaks a small part of Stripe's API with JSON bodies:
//!
//! | endpoint | does |
//! | --- | --- |
//! | `POST /v1/charges` `{amount, currency, source, metadata?}` | charges by test token: `tok_visa` succeeds; `tok_chargeDeclined` and `tok_chargeDeclinedInsufficientFunds` are 402s |
//! | `POST /v1/refunds` `{charge, amount?}` | refunds all or part of what remains of a charge |
//! | `GET /v1/charges?idempotency_key=K` | the successful charge made with K, as a (possibly empty) list |
//! | `POST /v1/payment_intents` `{amount, currency, payment_method, capture_method?, confirm?, metadata?}` | creates a PaymentIntent, confirmed at once (`confirm: false` is refused), with the same test tokens as a charge: `capture_method=manual` authorizes it (`requires_capture`), `automatic` (the default) charges it (`succeeded`) |
//! | `POST /v1/payment_intents/{id}/capture` `{amount_to_capture?}` | captures all or part of an authorization, releasing the rest (`succeeded`); its charge can be refunded |
//! | `POST /v1/payment_intents/{id}/cancel` `{cancellation_reason?}` | releases an authorization (`canceled`) |
//! | `GET /v1/payment_intents/{id}` | the PaymentIntent as it is now |
//! | `GET /v1/payment_intents?idempotency_key=K` | the PaymentIntent created with K, as it is now, as a (possibly empty) list |
//! | `GET /v1/ledger` | every charge, refund, authorization, capture and void, in creation order |
//! | `GET`/`PUT /v1/faults` | reads or replaces the [`Faults`] at run time |
//! | `GET /v1/faults/injected` | how many faults were drawn so far, by kind ([`Injected`]) |
//! | `GET /healthz` | `{"status": "ok"}` |
//!
//! `Idempotency-Key` is honoured like Stripe's, per endpoint: the first
//! request with a key stores its answer, later ones with the same parameters
//! get it back with `Idempotent-Replayed: true`, and with other parameters a
//! 400 `idempotency_error`. Errors are Stripe-shaped:
//! `{"error": {"type", "code", "message"}}`.
//!
//! An authorization left uncaptured longer than the authorization lifetime
//! ([`DEFAULT_AUTHORIZATION_TTL`], or [`MockGateway::authorization_ttl`])
//! lapses: its intent reads `canceled` (reason `automatic`) from then on, and
//! capturing it is a 400 `charge_expired_for_capture`.
//!
//! [`Faults`] inject latency, 503s, hangs and lost responses (done, never
//! answered) into the payment endpoints (every `/v1/charges`, `/v1/refunds`
//! and `/v1/payment_intents` one), so tests and the chaos harness can
//! then read the ledger and prove that no order was charged twice and that
//! every refund matches a charge.
//!
//! All state lives in memory: restarting the process forgets the ledger, the
//! idempotency keys and any fault settings changed at run time.

mod faults;
mod idempotency;
mod ids;
mod intents;
mod ledger;
mod reply;
mod requests;
mod routes;
mod state;
mod stripe_error;
mod tokens;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use poem::Server;
use poem::listener::TcpAcceptor;
use tokio_util::sync::CancellationToken;

pub use faults::{Faults, Injected};

use crate::state::Gateway;

/// On shutdown, how long requests in flight get to be answered. Hung requests
/// (and lost responses) are dropped without an answer when it runs out.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// How long a manual PaymentIntent's authorization lasts unless captured or
/// cancelled first: 7 days, as with Stripe's card payments.
pub const DEFAULT_AUTHORIZATION_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The gateway: a bound listener and the settings it will serve with.
pub struct MockGateway {
    acceptor: TcpAcceptor,
    local_addr: SocketAddr,
    faults: Faults,
    authorization_ttl: Duration,
}

impl MockGateway {
    /// Binds `addr` (e.g. "127.0.0.1:0" for a free port) with the given faults.
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] when a fault rate is not a
    /// share from 0.0 to 1.0 (the message names the setting), or with the
    /// error of binding.
    pub async fn bind(addr: &str, faults: Faults) -> io::Result<Self> {
        faults
            .validate()
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("the mock gateway could not bind {addr}: {error}"),
            )
        })?;
        let local_addr = listener.local_addr()?;
        Ok(Self {
            acceptor: TcpAcceptor::from_tokio(listener)?,
            local_addr,
            faults,
            authorization_ttl: DEFAULT_AUTHORIZATION_TTL,
        })
    }

    /// How long a manual PaymentIntent's authorization lasts before it lapses
    /// ([`DEFAULT_AUTHORIZATION_TTL`] unless set).
    #[must_use]
    pub fn authorization_ttl(self, ttl: Duration) -> Self {
        Self {
            authorization_ttl: ttl,
            ..self
        }
    }

    /// The address actually bound (tests bind port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` is cancelled, then stops: requests in flight
    /// get [`SHUTDOWN_GRACE`] to finish, hung ones are dropped unanswered.
    pub async fn run(self, shutdown: CancellationToken) -> io::Result<()> {
        tracing::info!(
            addr = %self.local_addr,
            faults = ?self.faults,
            authorization_ttl_secs = self.authorization_ttl.as_secs(),
            "mock gateway listening"
        );
        let gateway = Arc::new(Gateway::new(self.faults, self.authorization_ttl));
        Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(
                routes::app(gateway),
                shutdown.cancelled_owned(),
                Some(SHUTDOWN_GRACE),
            )
            .await?;
        tracing::info!(addr = %self.local_addr, "mock gateway stopped");
        Ok(())
    }
}

impl std::fmt::Debug for MockGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockGateway")
            .field("local_addr", &self.local_addr)
            .field("authorization_ttl", &self.authorization_ttl)
            .finish_non_exhaustive()
    }
}
