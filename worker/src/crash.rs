//! Crash points: named places at the boundaries of every step where a test
//! or chaos build makes the worker process abort, to prove that a crash at
//! any of them loses no order and never moves money twice.
//!
//! They compile to nothing unless the `failpoints` feature is on (it never is
//! in a release). In such a build, `FAILPOINTS=<name>=return` arms one (the
//! `fail` crate's syntax; `FAILPOINTS='a=return;b=1*return'` arms several,
//! the second only once). The names:
//!
//! | name | where |
//! | --- | --- |
//! | `worker.after_claim` | tasks claimed (leased), none started |
//! | `charge_payment.after_gateway` | the charge succeeded at the gateway, nothing recorded yet |
//! | `authorize_payment.after_gateway` | the hold was placed at the gateway, nothing recorded yet |
//! | `capture_payment.after_gateway` | the capture succeeded at the gateway, nothing recorded yet |
//! | `void_authorization.after_gateway` | the hold was released at the gateway, nothing recorded yet |
//! | `refund_payment.after_gateway` | the refund succeeded at the gateway, nothing recorded yet |
//! | `cancel_payment.after_gateway` | a cancelled order's refund or void succeeded at the gateway, nothing recorded yet |
//! | `send_confirmation.after_send` | the mail server took the confirmation, nothing recorded yet |
//! | `step.after_commit` | a step's transaction committed (its successor enqueued), the successor not started |
//! | `api.after_insert` | (in the API, `api/src/routes/orders/mod.rs`) the order and its first task committed, no answer sent |

/// Aborts the process here when the crash point `$name` is armed.
macro_rules! crash_point {
    ($name:literal) => {
        fail::fail_point!($name, |_| {
            eprintln!(concat!("crash point ", $name, " armed: aborting"));
            std::process::abort()
        })
    };
}

pub(crate) use crash_point;
