//! Giving an order's money back, whichever way it was taken: the refund of
//! a charge, or the release of a hold. The compensating steps
//! (`refund_payment`, `void_authorization`, `cancel_payment`) call these,
//! then end their order with [`Released::end`]; each call is safe to repeat
//! (its own idempotency key, and what the gateway says now decides).

use shared::orders::{Move, Order, OrderStatus, StepEnd};
use shared::queue::ClaimedTask;
use shared::trace::TraceParent;
use uuid::Uuid;

use super::{authorize_key, charge_key, end, refund_key, void_key};
use crate::StepError;
use crate::gateway::{GatewayClient, IntentStatus, RefundError, VoidError};

/// What giving the money back did, to record on the order.
#[derive(Debug)]
pub(super) struct Released {
    /// Whether what was given back is a hold (manual capture), not a charge.
    hold: bool,
    pub(super) done: Done,
    pub(super) charge_id: Option<String>,
    pub(super) refund_id: Option<String>,
}

/// What the gateway was asked to do, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Done {
    /// A charge (or a capture) was refunded.
    Refunded,
    /// A hold was voided.
    Voided,
    /// Nothing was taken or held, or it was already given back.
    Nothing,
}

impl Released {
    /// Nothing given back, of a hold or of a charge.
    fn nothing(hold: bool) -> Self {
        Self {
            hold,
            done: Done::Nothing,
            charge_id: None,
            refund_id: None,
        }
    }

    /// The end of the compensating step `task`: the order moved from `from`
    /// to `to`, with what was given back recorded and any stock it holds put
    /// back. Its failure, if any, was recorded when it went to `from`.
    pub(super) fn end<'a>(
        &'a self,
        task: &'a ClaimedTask,
        order: Uuid,
        from: OrderStatus,
        to: OrderStatus,
    ) -> StepEnd<'a> {
        let given_back = Move {
            to,
            reason: self.reason(),
            failure: None,
            then: None,
        };
        StepEnd {
            charge_id: self.charge_id.as_deref(),
            refund_id: self.refund_id.as_deref(),
            release_stock: true,
            ..end(task, order, from, given_back)
        }
    }

    /// Why the order ends as it does, for its history row.
    fn reason(&self) -> &'static str {
        match (self.done, self.hold) {
            (Done::Refunded, false) => "refund made",
            (Done::Refunded, true) => {
                "the payment was captured after all; the capture was refunded"
            }
            (Done::Voided, _) => "authorization voided; nothing was charged",
            (Done::Nothing, false) => "nothing was charged; nothing to refund",
            (Done::Nothing, true) => "nothing is held; nothing to release",
        }
    }
}

/// Refunds the order's charge: the one it recorded, or the one made with
/// its key when it never learned it. No charge, nothing to refund.
pub(super) async fn refund_charge(
    gateway: &GatewayClient,
    order: &Order,
    trace: Option<TraceParent>,
) -> Result<Released, StepError> {
    let charge_id = match &order.charge_id {
        Some(charge) => Some(charge.clone()),
        None => gateway
            .find_charge(&charge_key(order.id), trace)
            .await
            .map_err(StepError::retryable)?
            .map(|c| c.id),
    };
    let Some(charge) = charge_id else {
        return Ok(Released::nothing(false));
    };
    refund(gateway, order, charge, trace, false).await
}

/// Releases the order's hold: voids it while it is held, refunds it if it
/// was captured after all, and does nothing when it was released already
/// (voided, or lapsed) or never placed.
pub(super) async fn release_hold(
    gateway: &GatewayClient,
    order: &Order,
    trace: Option<TraceParent>,
) -> Result<Released, StepError> {
    let nothing = Released::nothing(true);
    // The hold as far as the order knows it, or found by its key when the
    // authorization's outcome was never learned.
    let (intent, status) = match &order.authorization_id {
        Some(intent) => (intent.clone(), IntentStatus::RequiresCapture),
        None => match gateway
            .find_authorization(&authorize_key(order.id), trace)
            .await
            .map_err(StepError::retryable)?
        {
            Some(found) => (found.id, found.status),
            None => return Ok(nothing),
        },
    };
    let status = match status {
        IntentStatus::RequiresCapture => {
            match gateway.void(&void_key(order.id), &intent, trace).await {
                Ok(_) => {
                    return Ok(Released {
                        done: Done::Voided,
                        ..nothing
                    });
                }
                // Captured or released since: what it is now decides.
                Err(VoidError::NotHeld { .. }) => {
                    gateway
                        .payment_intent(&intent, trace)
                        .await
                        .map_err(StepError::retryable)?
                        .status
                }
                Err(no @ VoidError::Rejected { .. }) => return Err(StepError::permanent(no)),
                Err(unknown @ VoidError::Unavailable(_)) => {
                    return Err(StepError::retryable(unknown));
                }
            }
        }
        other => other,
    };
    match status {
        IntentStatus::Canceled => Ok(nothing),
        IntentStatus::Succeeded => {
            let captured = gateway
                .payment_intent(&intent, trace)
                .await
                .map_err(StepError::retryable)?;
            let Some(charge) = captured.latest_charge else {
                return Err(StepError::retryable(format!(
                    "payment intent {intent} is captured but names no charge to refund"
                )));
            };
            refund(gateway, order, charge, trace, true).await
        }
        IntentStatus::RequiresCapture | IntentStatus::Other => Err(StepError::retryable(format!(
            "payment intent {intent} is still held after its void was refused; trying again"
        ))),
    }
}

/// Refunds what remains of `charge` (of a `hold` captured, or not), with
/// the order's refund key.
async fn refund(
    gateway: &GatewayClient,
    order: &Order,
    charge: String,
    trace: Option<TraceParent>,
    hold: bool,
) -> Result<Released, StepError> {
    let done = match gateway.refund(&refund_key(order.id), &charge, trace).await {
        Ok(refund) => Released {
            done: Done::Refunded,
            refund_id: Some(refund.id),
            ..Released::nothing(hold)
        },
        Err(RefundError::NothingToRefund(_)) => Released::nothing(hold),
        Err(no @ RefundError::Rejected { .. }) => return Err(StepError::permanent(no)),
        Err(unknown @ RefundError::Unavailable(_)) => return Err(StepError::retryable(unknown)),
    };
    Ok(Released {
        charge_id: Some(charge),
        ..done
    })
}
