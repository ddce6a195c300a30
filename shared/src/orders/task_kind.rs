//! The saga's task kinds: one per step, each with its retry allowance.

use std::fmt;
use std::str::FromStr;

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
}

impl TaskKind {
    pub const ALL: [TaskKind; 4] = [
        Self::ChargePayment,
        Self::ReserveInventory,
        Self::SendConfirmation,
        Self::RefundPayment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ChargePayment => "charge_payment",
            Self::ReserveInventory => "reserve_inventory",
            Self::SendConfirmation => "send_confirmation",
            Self::RefundPayment => "refund_payment",
        }
    }

    /// How many attempts a task of this kind gets before it is dead. A refund
    /// keeps trying for a long time (with the backoff capped, about a day):
    /// money owed back must not give up quickly, and a dead refund pages.
    pub fn max_attempts(self) -> i32 {
        match self {
            Self::ChargePayment => 8,
            Self::ReserveInventory => 10,
            Self::SendConfirmation => 12,
            Self::RefundPayment => 300,
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
