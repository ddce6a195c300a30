//! The saga's task kinds: one per step, each with its retry allowance.

use std::fmt;
use std::str::FromStr;

use super::CaptureMethod;

/// One step of the order saga. The queue stores it as text (`as_str`), so the
/// queue itself stays generic and benchmarks can run kinds of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskKind {
    /// Charge the gateway, with an idempotency key derived from the order.
    ChargePayment,
    /// Decrement the stock of every line, all or none, in one transaction.
    ReserveInventory,
    /// Send the confirmation email over SMTP.
    SendConfirmation,
    /// Refund the charge, with its own idempotency key.
    RefundPayment,
    /// Place a hold on the card for the order's total (manual capture).
    AuthorizePayment,
    /// Take the money held, once the stock is reserved.
    CapturePayment,
    /// Release the hold (or refund a capture that happened after all) and
    /// put back any stock the order took.
    VoidAuthorization,
    /// Give back the money of an order cancelled after its payment (void
    /// the hold or refund the charge), and put back its stock.
    CancelPayment,
}

impl TaskKind {
    pub const ALL: [TaskKind; 8] = [
        Self::ChargePayment,
        Self::ReserveInventory,
        Self::SendConfirmation,
        Self::RefundPayment,
        Self::AuthorizePayment,
        Self::CapturePayment,
        Self::VoidAuthorization,
        Self::CancelPayment,
    ];

    /// The step an order paid by `method` starts with.
    pub fn first_step(method: CaptureMethod) -> Self {
        match method {
            CaptureMethod::Automatic => Self::ChargePayment,
            CaptureMethod::Manual => Self::AuthorizePayment,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ChargePayment => "charge_payment",
            Self::ReserveInventory => "reserve_inventory",
            Self::SendConfirmation => "send_confirmation",
            Self::RefundPayment => "refund_payment",
            Self::AuthorizePayment => "authorize_payment",
            Self::CapturePayment => "capture_payment",
            Self::VoidAuthorization => "void_authorization",
            Self::CancelPayment => "cancel_payment",
        }
    }

    /// How many attempts a task of this kind gets before it is dead. A refund
    /// or a void keeps trying for a long time (with the backoff capped, about
    /// a day): money owed back or held must not give up quickly, and a dead
    /// one pages. A capture keeps trying as long too: the hold lasts days,
    /// and giving up on it releases stock that was sold.
    pub fn max_attempts(self) -> i32 {
        match self {
            Self::ChargePayment | Self::AuthorizePayment => 8,
            Self::ReserveInventory => 10,
            Self::SendConfirmation => 12,
            Self::RefundPayment
            | Self::CapturePayment
            | Self::VoidAuthorization
            | Self::CancelPayment => 300,
        }
    }
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskKind {
    type Err = UnknownTaskKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownTaskKind(s.to_owned()))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a saga task kind")]
pub struct UnknownTaskKind(String);

#[cfg(test)]
mod tests {
    use super::TaskKind;

    #[test]
    fn names_round_trip() {
        for kind in TaskKind::ALL {
            assert_eq!(kind.as_str().parse::<TaskKind>().ok(), Some(kind));
        }
        assert!("charge".parse::<TaskKind>().is_err());
    }
}
