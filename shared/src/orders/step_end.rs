//! A saga step's end in one statement: its task completed under its lease
//! (with the attempt row), its order moved (with the history row, and so the
//! event), the order's stock taken when the step reserves it or put back
//! when the step compensates, and the next step written, already claimed by
//! the same worker when it runs that kind.
//!
//! One statement is one round trip and, outside a transaction, one commit:
//! where a step used to open a transaction, move the order, enqueue, complete
//! and commit (six round trips), it now sends one. The rules are those of
//! [`super::transition`] and [`crate::queue::complete_if_running`]: nothing is
//! written unless the lease still holds and the order is where the step
//! expects it. The order's row is locked before the task's, as a cancel locks
//! them, so the two never deadlock.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgConnection;
use uuid::Uuid;

use super::transition::count_finished;
use super::{Failure, OrderError, OrderSnapshot, OrderStatus, TaskKind};
use crate::queue::{ClaimedTask, Lease, QueueError, TaskId, WAKEUP_CHANNEL};
use crate::trace::TraceParent;

/// Where a step moves its order, and the step that follows.
#[derive(Debug, Clone, Copy)]
pub struct Move<'a> {
    pub to: OrderStatus,
    /// Why, in the history row.
    pub reason: &'a str,
    /// Recorded on the order. For the move taken when stock is short, only
    /// the code is used: the statement writes the message, naming the line.
    pub failure: Option<&'a Failure>,
    /// The saga step to run next, if any.
    pub then: Option<TaskKind>,
}

/// The move a reservation makes instead when a line is short of stock. The
/// failure recorded has this code, and a message the statement writes
/// naming the line, what the order wants and what is left.
#[derive(Debug, Clone, Copy)]
pub struct ShortOfStock<'a> {
    pub to: OrderStatus,
    pub reason: &'a str,
    pub failure_code: &'a str,
    pub then: Option<TaskKind>,
}

/// One step's end.
#[derive(Debug, Clone)]
pub struct StepEnd<'a> {
    /// The attempt's lease: the fence for everything written.
    pub lease: &'a Lease,
    pub order: Uuid,
    /// Where the order must be for anything to be written.
    pub from: OrderStatus,
    pub to: Move<'a>,
    /// The gateway's hold on the card, to record on the order.
    pub authorization_id: Option<&'a str>,
    pub charge_id: Option<&'a str>,
    pub refund_id: Option<&'a str>,
    /// Puts back the stock the order holds, if it holds any (a
    /// compensation); at most once per order.
    pub release_stock: bool,
    /// When set, the order's stock is taken first, every line or none (in
    /// sku order, like every reservation), and when a line is short this is
    /// the move instead of `to`.
    pub short_of_stock: Option<ShortOfStock<'a>>,
    /// The trace the next step continues.
    pub traceparent: Option<TraceParent>,
    /// The kinds the lease's worker runs, and the lease it takes: a next
    /// step of one of them (not paused) is written claimed by that worker.
    /// Any other is written available, and workers are woken.
    pub hand_off: Option<(&'a [String], Duration)>,
}

impl<'a> StepEnd<'a> {
    /// The end that moves `order` from `from` as `to` says, with nothing
    /// else recorded, no stock taken and no next step handed off.
    pub fn new(lease: &'a Lease, order: Uuid, from: OrderStatus, to: Move<'a>) -> Self {
        Self {
            lease,
            order,
            from,
            to,
            authorization_id: None,
            charge_id: None,
            refund_id: None,
            release_stock: false,
            short_of_stock: None,
            traceparent: None,
            hand_off: None,
        }
    }
}

/// The statement [`end_step`] sends, for tools that run it themselves (the
/// lab's saga ceiling): `$1`…`$25` in the order `end_step` binds them.
pub const STEP_END_SQL: &str = include_str!("step_end.sql");

/// What a written step end did.
#[derive(Debug)]
pub struct StepEnded {
    /// The order as the statement left it, with its lines.
    pub order: OrderSnapshot,
    /// The next step, when it was written claimed by the lease's worker:
    /// it runs it next, with no claim in between.
    pub handed_off: Option<ClaimedTask>,
}

/// Writes `end` in one statement. [`QueueError::LeaseLost`] (as
/// [`OrderError::Queue`]) and [`OrderError::NotInExpectedState`] mean nothing
/// was written.
pub async fn end_step(conn: &mut PgConnection, end: &StepEnd<'_>) -> Result<StepEnded, OrderError> {
    end.from.transition_to(end.to.to)?;
    if let Some(short) = &end.short_of_stock {
        end.from.transition_to(short.to)?;
    }
    let short = end.short_of_stock.as_ref();
    let (hand_off_kinds, hand_off_lease) = match end.hand_off {
        Some((kinds, lease)) => (kinds.to_vec(), lease.as_secs_f64()),
        None => (Vec::new(), 0.0),
    };
    let row = sqlx::query_file!(
        "src/orders/step_end.sql",
        end.lease.task.0,
        &*end.lease.worker,
        end.lease.attempt,
        end.order,
        end.from as OrderStatus,
        end.to.to as OrderStatus,
        end.to.reason,
        end.charge_id,
        end.refund_id,
        end.to.failure.map(|f| f.code),
        end.to.failure.map(|f| f.message.as_str()),
        end.to.then.map(TaskKind::as_str),
        end.to.then.map(TaskKind::max_attempts),
        short.is_some(),
        short.map(|m| m.to) as Option<OrderStatus>,
        short.map(|m| m.reason),
        short.map(|m| m.failure_code),
        short.and_then(|m| m.then).map(TaskKind::as_str),
        short.and_then(|m| m.then).map(TaskKind::max_attempts),
        end.traceparent.map(|t| t.to_string()),
        &hand_off_kinds,
        hand_off_lease,
        WAKEUP_CHANNEL,
        end.release_stock,
        end.authorization_id,
    )
    .fetch_one(&mut *conn)
    .await?;

    let not_there = |actual| OrderError::NotInExpectedState {
        order: end.order,
        expected: end.from,
        actual,
    };
    let Some(status) = row.order_status else {
        return Err(not_there(None));
    };
    if !row.lease_held {
        return Err(OrderError::Queue(QueueError::LeaseLost {
            task: end.lease.task,
            attempt: end.lease.attempt,
        }));
    }
    let Some(snapshot) = row.snapshot else {
        return Err(not_there(Some(status)));
    };
    let order: OrderSnapshot = serde_json::from_value(snapshot).map_err(|e| {
        OrderError::Database(sqlx::Error::Decode(
            format!("the order written by a step end did not read back: {e}").into(),
        ))
    })?;
    count_finished(order.order.status);
    let handed_off = match (row.successor_id, row.successor_handed) {
        (Some(id), Some(true)) => Some(ClaimedTask {
            id,
            kind: row.successor_kind.unwrap_or_default(),
            payload: row.successor_payload.unwrap_or_default(),
            attempt: row.successor_attempts.unwrap_or(1),
            max_attempts: row.successor_max_attempts.unwrap_or(1),
            order_id: Some(end.order),
            traceparent: end.traceparent,
            created_at: row.successor_created_at.unwrap_or_else(chrono::Utc::now),
            lease: Lease {
                task: id,
                worker: Arc::clone(&end.lease.worker),
                attempt: row.successor_attempts.unwrap_or(1),
            },
            order: Some(Box::new(order.clone())),
        }),
        _ => None,
    };
    Ok(StepEnded { order, handed_off })
}
