//! The order state machine.
//!
//! An order paid automatically (charged at once):
//!
//! ```text
//! pending ──charge ok──▶ paid ──stock reserved──▶ confirmed ──email sent──▶ completed
//!    │                     │
//!    │ declined            │ out of stock
//!    ├──▶ failed           ▼
//!    ├──▶ refunding ◀──────┘ ──refund ok──▶ refunded
//!    └──cancel──▶ cancelled
//! ```
//!
//! An order paid manually (authorized, then captured once its stock is held):
//!
//! ```text
//! pending ──authorized──▶ authorized ──stock reserved──▶ reserved ──captured──▶ confirmed ──▶ completed
//!    │                        │ out of stock                 │ capture impossible
//!    │ declined               ▼                              ▼
//!    ├──▶ failed           voiding ◀─────────────────────────┘ ──hold released──▶ failed
//!    ├──outcome unknown──▶ voiding
//!    └──cancel──▶ cancelled
//! ```
//!
//! Until its confirmation is sent, an order whose payment was taken or held
//! can be cancelled: `authorized`, `reserved`, `paid` and `confirmed` go to
//! `cancelling`, which voids the hold or refunds the charge, puts back the
//! stock, and ends `cancelled`.
//!
//! `pending → refunding` and `pending → voiding` are the payment whose
//! outcome could not be learned: it is never treated as "not taken", so it is
//! refunded or voided (undoing one that does not exist is a no-op). Every
//! other move is refused by [`OrderStatus::transition_to`], and by the
//! database's `orders_refuse_illegal_transition` trigger.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where an order is in its saga.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "order_status", rename_all = "snake_case")]
pub enum OrderStatus {
    /// Accepted; payment not yet taken.
    Pending,
    /// Charged; stock not yet reserved.
    Paid,
    /// The card holds the money (not taken yet); stock not yet reserved.
    Authorized,
    /// Stock reserved and the money held; not captured yet.
    Reserved,
    /// Charged and stock reserved; confirmation not yet sent.
    Confirmed,
    /// Confirmation sent. Terminal.
    Completed,
    /// Payment declined, nothing to undo. Terminal.
    Failed,
    /// Cancelled: before its payment started, or after, its money given
    /// back. Terminal.
    Cancelled,
    /// The charge is being refunded.
    Refunding,
    /// The charge was refunded. Terminal.
    Refunded,
    /// The hold on the card is being released (or, if it was captured after
    /// all, refunded), and any stock put back; ends `failed`.
    Voiding,
    /// Cancelled after its payment was taken or held: the money is being
    /// given back and the stock put back; ends `cancelled`.
    Cancelling,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 12] = [
        Self::Pending,
        Self::Paid,
        Self::Authorized,
        Self::Reserved,
        Self::Confirmed,
        Self::Completed,
        Self::Failed,
        Self::Cancelled,
        Self::Refunding,
        Self::Refunded,
        Self::Voiding,
        Self::Cancelling,
    ];

    /// Terminal states are never left.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Failed | Self::Cancelled | Self::Refunded
        )
    }

    /// Whether the order is being given back, or was: what a cancel, the
    /// deadline or a failure moved it to. A step that finds its order here
    /// when it expected another status was overtaken, and has nothing to do.
    pub fn is_compensating(self) -> bool {
        matches!(
            self,
            Self::Refunding
                | Self::Refunded
                | Self::Voiding
                | Self::Failed
                | Self::Cancelling
                | Self::Cancelled
        )
    }

    /// Whether the chart above has an arrow from `self` to `next`.
    pub fn can_transition_to(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (
                Pending,
                Paid | Failed | Cancelled | Refunding | Authorized | Voiding
            ) | (Paid, Confirmed | Refunding | Cancelling)
                | (Authorized, Reserved | Voiding | Cancelling)
                | (Reserved, Confirmed | Voiding | Cancelling)
                | (Confirmed, Completed | Cancelling)
                | (Refunding, Refunded)
                | (Voiding, Failed)
                | (Cancelling, Cancelled)
        )
    }

    /// `next` if the move is on the chart, otherwise the refusal to report.
    pub fn transition_to(self, next: OrderStatus) -> Result<OrderStatus, IllegalTransition> {
        if self.can_transition_to(next) {
            Ok(next)
        } else {
            Err(IllegalTransition {
                from: self,
                to: next,
            })
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Authorized => "authorized",
            Self::Reserved => "reserved",
            Self::Confirmed => "confirmed",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Refunding => "refunding",
            Self::Refunded => "refunded",
            Self::Voiding => "voiding",
            Self::Cancelling => "cancelling",
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A move that is not on the order chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order cannot go from {from} to {to}")]
pub struct IllegalTransition {
    pub from: OrderStatus,
    pub to: OrderStatus,
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::{self, *};

    #[test]
    fn the_happy_path_is_allowed() {
        let path = [Pending, Paid, Confirmed, Completed];
        for pair in path.windows(2) {
            assert_eq!(pair[0].transition_to(pair[1]), Ok(pair[1]));
        }
    }

    #[test]
    fn the_manual_path_is_allowed() {
        let path = [Pending, Authorized, Reserved, Confirmed, Completed];
        for pair in path.windows(2) {
            assert_eq!(pair[0].transition_to(pair[1]), Ok(pair[1]));
        }
    }

    #[test]
    fn terminal_states_are_never_left() {
        for from in OrderStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in OrderStatus::ALL {
                assert!(!from.can_transition_to(to), "{from} -> {to} was allowed");
            }
        }
    }

    #[test]
    fn only_the_charted_moves_are_allowed() {
        let allowed: Vec<(OrderStatus, OrderStatus)> = OrderStatus::ALL
            .into_iter()
            .flat_map(|from| OrderStatus::ALL.into_iter().map(move |to| (from, to)))
            .filter(|(from, to)| from.can_transition_to(*to))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Pending, Paid),
                (Pending, Authorized),
                (Pending, Failed),
                (Pending, Cancelled),
                (Pending, Refunding),
                (Pending, Voiding),
                (Paid, Confirmed),
                (Paid, Refunding),
                (Paid, Cancelling),
                (Authorized, Reserved),
                (Authorized, Voiding),
                (Authorized, Cancelling),
                (Reserved, Confirmed),
                (Reserved, Voiding),
                (Reserved, Cancelling),
                (Confirmed, Completed),
                (Confirmed, Cancelling),
                (Refunding, Refunded),
                (Voiding, Failed),
                (Cancelling, Cancelled),
            ]
        );
    }

    #[test]
    fn a_refused_move_says_which_move() {
        let err = Completed
            .transition_to(Pending)
            .expect_err("must be refused");
        assert_eq!(
            err.to_string(),
            "an order cannot go from completed to pending"
        );
    }
}
