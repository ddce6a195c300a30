//! Fault injection: what the gateway does wrong, on purpose, and how often.
//!
//! Faults apply to the payment endpoints only (`POST /v1/charges`,
//! `POST /v1/refunds`, `GET /v1/charges`, `POST /v1/payment_intents`,
//! `POST /v1/payment_intents/{id}/capture`,
//! `POST /v1/payment_intents/{id}/cancel`, `GET /v1/payment_intents/{id}`,
//! `GET /v1/payment_intents`), never to the ledger, the fault settings or the
//! health check. For each such request the gateway first
//! waits the configured latency, then draws one [`Fault`]:
//!
//! - the `*_next` counters come first, in the order fail, hang, lose; each
//!   drawn fault takes one off its counter;
//! - otherwise one random number picks a fault with the configured rates,
//!   which are shares of requests and so add up to at most 1.0.
//!
//! The settings are validated before they take effect, at start-up and on
//! every change, so a drawn rate is always a probability.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Fault injection settings; every field is a flag with an env fallback.
#[derive(Debug, Clone, Default, clap::Args, serde::Serialize, serde::Deserialize)]
pub struct Faults {
    /// Added latency before every /v1/charges, /v1/refunds and /v1/payment_intents request is handled.
    #[arg(
        long = "gateway-latency-ms",
        env = "GATEWAY_LATENCY_MS",
        default_value_t = 0
    )]
    pub latency_ms: u64,
    /// Share (0.0–1.0) of requests answered 503 without doing anything.
    #[arg(
        long = "gateway-fail-rate",
        env = "GATEWAY_FAIL_RATE",
        default_value_t = 0.0
    )]
    pub fail_rate: f64,
    /// Share of requests that hang (no answer, nothing done) far past any client timeout.
    #[arg(
        long = "gateway-hang-rate",
        env = "GATEWAY_HANG_RATE",
        default_value_t = 0.0
    )]
    pub hang_rate: f64,
    /// Share of requests that are carried out (charge, refund, capture… recorded) and then never answered.
    #[arg(
        long = "gateway-lost-response-rate",
        env = "GATEWAY_LOST_RESPONSE_RATE",
        default_value_t = 0.0
    )]
    pub lost_response_rate: f64,
    /// Deterministic faults for tests: the next N fault-eligible requests get a 503.
    #[arg(skip)]
    #[serde(default)]
    pub fail_next: u32,
    /// The next N fault-eligible requests hang without doing anything.
    #[arg(skip)]
    #[serde(default)]
    pub hang_next: u32,
    /// The next N fault-eligible requests are carried out and never answered.
    #[arg(skip)]
    #[serde(default)]
    pub lose_next: u32,
}

/// Fault settings that cannot be applied, with the setting to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum InvalidFaults {
    #[error(
        "fault setting `{field}` (--{flag}, {env}) must be a number from 0.0 to 1.0, got {value}"
    )]
    RateOutOfRange {
        field: &'static str,
        flag: &'static str,
        env: &'static str,
        value: f64,
    },
    #[error(
        "fault rates are shares of the same requests, so fail_rate + hang_rate + \
         lost_response_rate must be at most 1.0, got {sum}"
    )]
    RatesAddUpPastOne { sum: f64 },
}

impl Faults {
    /// Checks every rate is a probability and that together they are too.
    pub(crate) fn validate(&self) -> Result<(), InvalidFaults> {
        let rates = [
            (
                "fail_rate",
                "gateway-fail-rate",
                "GATEWAY_FAIL_RATE",
                self.fail_rate,
            ),
            (
                "hang_rate",
                "gateway-hang-rate",
                "GATEWAY_HANG_RATE",
                self.hang_rate,
            ),
            (
                "lost_response_rate",
                "gateway-lost-response-rate",
                "GATEWAY_LOST_RESPONSE_RATE",
                self.lost_response_rate,
            ),
        ];
        for (field, flag, env, value) in rates {
            if !(0.0..=1.0).contains(&value) {
                // NaN fails `contains` too.
                return Err(InvalidFaults::RateOutOfRange {
                    field,
                    flag,
                    env,
                    value,
                });
            }
        }
        let sum = self.fail_rate + self.hang_rate + self.lost_response_rate;
        // A little slack for rounding: 0.1 + 0.2 + 0.7 is not exactly 1.0.
        if sum > 1.0 + 1e-9 {
            return Err(InvalidFaults::RatesAddUpPastOne { sum });
        }
        Ok(())
    }
}

/// What goes wrong with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Nothing: the request is handled and answered.
    None,
    /// Answered 503 at once; nothing is done.
    Unavailable,
    /// Never answered; nothing is done.
    Hang,
    /// Carried out, recorded, and never answered.
    LoseResponse,
}

/// How many faults of each kind were drawn since the gateway started
/// (`GET /v1/faults/injected`), so a chaos run can report what it survived.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Injected {
    /// 503s answered without doing anything.
    pub unavailable: u64,
    /// Requests left hanging without doing anything.
    pub hangs: u64,
    /// Requests carried out and then never answered.
    pub lost_responses: u64,
}

/// The live settings, shared by all requests and replaced at run time.
#[derive(Debug)]
pub(crate) struct FaultSwitch {
    faults: Mutex<Faults>,
    unavailable: AtomicU64,
    hangs: AtomicU64,
    lost_responses: AtomicU64,
}

impl FaultSwitch {
    /// Takes settings that [`Faults::validate`] accepted.
    pub(crate) fn new(faults: Faults) -> Self {
        Self {
            faults: Mutex::new(faults),
            unavailable: AtomicU64::new(0),
            hangs: AtomicU64::new(0),
            lost_responses: AtomicU64::new(0),
        }
    }

    pub(crate) fn injected(&self) -> Injected {
        Injected {
            unavailable: self.unavailable.load(Ordering::Relaxed),
            hangs: self.hangs.load(Ordering::Relaxed),
            lost_responses: self.lost_responses.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn current(&self) -> Faults {
        self.lock().clone()
    }

    pub(crate) fn replace(&self, faults: Faults) -> Result<(), InvalidFaults> {
        faults.validate()?;
        *self.lock() = faults;
        Ok(())
    }

    pub(crate) fn latency(&self) -> Duration {
        Duration::from_millis(self.lock().latency_ms)
    }

    /// Picks the fault for one request, counting down a `*_next` counter if
    /// one is set, and counts it.
    pub(crate) fn draw(&self) -> Fault {
        let fault = self.pick();
        let counter = match fault {
            Fault::None => return fault,
            Fault::Unavailable => &self.unavailable,
            Fault::Hang => &self.hangs,
            Fault::LoseResponse => &self.lost_responses,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        fault
    }

    fn pick(&self) -> Fault {
        let mut faults = self.lock();
        if faults.fail_next > 0 {
            faults.fail_next -= 1;
            return Fault::Unavailable;
        }
        if faults.hang_next > 0 {
            faults.hang_next -= 1;
            return Fault::Hang;
        }
        if faults.lose_next > 0 {
            faults.lose_next -= 1;
            return Fault::LoseResponse;
        }
        let roll: f64 = rand::random(); // in [0, 1)
        let mut threshold = faults.fail_rate;
        if roll < threshold {
            return Fault::Unavailable;
        }
        threshold += faults.hang_rate;
        if roll < threshold {
            return Fault::Hang;
        }
        threshold += faults.lost_response_rate;
        if roll < threshold {
            return Fault::LoseResponse;
        }
        Fault::None
    }

    /// Nothing can panic while holding the lock, but a poisoned lock still
    /// holds valid settings, so it is used as is.
    fn lock(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_come_before_rates_and_count_down() {
        let switch = FaultSwitch::new(Faults {
            fail_next: 1,
            hang_next: 1,
            lose_next: 1,
            ..Faults::default()
        });
        let drawn: Vec<Fault> = (0..4).map(|_| switch.draw()).collect();
        assert_eq!(
            drawn,
            [
                Fault::Unavailable,
                Fault::Hang,
                Fault::LoseResponse,
                Fault::None
            ]
        );
        assert_eq!(switch.current().fail_next, 0);
        assert_eq!(
            switch.injected(),
            Injected {
                unavailable: 1,
                hangs: 1,
                lost_responses: 1
            }
        );
    }

    #[test]
    fn a_rate_of_one_always_fires_and_zero_never_does() {
        let always = FaultSwitch::new(Faults {
            hang_rate: 1.0,
            ..Faults::default()
        });
        let never = FaultSwitch::new(Faults::default());
        for _ in 0..1_000 {
            assert_eq!(always.draw(), Fault::Hang);
            assert_eq!(never.draw(), Fault::None);
        }
    }

    #[test]
    fn rates_outside_zero_to_one_are_refused_by_name() {
        for bad in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            let faults = Faults {
                lost_response_rate: bad,
                ..Faults::default()
            };
            let error = faults.validate().expect_err("the rate is invalid");
            assert!(error.to_string().contains("lost_response_rate"), "{error}");
            assert!(error.to_string().contains("GATEWAY_LOST_RESPONSE_RATE"));
        }
    }

    #[test]
    fn the_settings_are_command_line_flags_that_default_to_no_faults() {
        use clap::Parser;

        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            faults: Faults,
        }
        let cli = Cli::try_parse_from(["gateway", "--gateway-hang-rate", "0.25"])
            .expect("the flags parse");
        assert_eq!(cli.faults.hang_rate, 0.25);
        assert_eq!(cli.faults.latency_ms, 0);
        assert_eq!(cli.faults.fail_next, 0);
    }

    #[test]
    fn rates_that_add_up_past_one_are_refused() {
        let faults = Faults {
            fail_rate: 0.6,
            hang_rate: 0.6,
            ..Faults::default()
        };
        assert!(matches!(
            faults.validate(),
            Err(InvalidFaults::RatesAddUpPastOne { .. })
        ));
    }
}
