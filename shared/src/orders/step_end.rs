//! A saga step's end in one statement: its task completed under its lease
//! (with the attempt row), its order moved (with the history row, and so the
//! event), the order's stock taken when the step reserves it, and the next
//! step written, already claimed by the same worker when it runs that kind.
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
    pub charge_id: Option<&'a str>,
    pub refund_id: Option<&'a str>,
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
            charge_id: None,
            refund_id: None,
            short_of_stock: None,
            traceparent: None,
            hand_off: None,
        }
    }
}

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
    let row = sqlx::query!(
        r#"
        WITH the_order AS MATERIALIZED (
            SELECT id, status FROM orders WHERE id = $4 FOR UPDATE
        ),
        lease AS MATERIALIZED (
            SELECT t.id, t.attempts, t.attempted_at
            FROM tasks AS t
            WHERE t.id = $1 AND t.state = 'running' AND t.locked_by = $2 AND t.attempts = $3
              -- Waits for the order's lock first.
              AND EXISTS (SELECT 1 FROM the_order)
            FOR UPDATE
        ),
        go AS MATERIALIZED (
            SELECT 1 FROM lease, the_order WHERE the_order.status = $5
        ),
        stock AS MATERIALIZED (
            -- NO KEY UPDATE: a new order's line takes KEY SHARE on its product.
            SELECT i.sku, i.quantity, p.stock
            FROM order_items AS i
            JOIN products AS p ON p.sku = i.sku
            WHERE $14::boolean AND i.order_id = $4 AND EXISTS (SELECT 1 FROM go)
            ORDER BY i.sku
            FOR NO KEY UPDATE OF p
        ),
        shortage AS MATERIALIZED (
            SELECT sku, quantity, stock FROM stock WHERE stock < quantity ORDER BY sku LIMIT 1
        ),
        taken AS (
            UPDATE products AS p
            SET stock = p.stock - s.quantity, updated_at = now()
            FROM stock AS s
            WHERE p.sku = s.sku AND NOT EXISTS (SELECT 1 FROM shortage)
        ),
        decided AS MATERIALIZED (
            SELECT CASE WHEN short.sku IS NULL THEN $6::order_status ELSE $15::order_status END AS status,
                   CASE WHEN short.sku IS NULL THEN $7::text ELSE $16::text END AS reason,
                   CASE WHEN short.sku IS NULL THEN $10::text ELSE $17::text END AS failure_code,
                   CASE WHEN short.sku IS NULL THEN $11::text
                        ELSE format('%s is out of stock: the order wants %s, %s left',
                                    short.sku, short.quantity, short.stock)
                   END AS failure_message,
                   CASE WHEN short.sku IS NULL THEN $12::text ELSE $18::text END AS next_kind,
                   CASE WHEN short.sku IS NULL THEN $13::integer ELSE $19::integer END AS next_max_attempts
            FROM go
            LEFT JOIN shortage AS short ON true
        ),
        moved AS (
            UPDATE orders AS o
            SET status = d.status,
                charge_id = coalesce($8, o.charge_id),
                refund_id = coalesce($9, o.refund_id),
                failure_code = coalesce(d.failure_code, o.failure_code),
                failure_message = coalesce(d.failure_message, o.failure_message),
                updated_at = now()
            FROM decided AS d
            WHERE o.id = $4 AND o.status = $5
            RETURNING o.id, o.status, d.reason, d.next_kind, d.next_max_attempts,
                      to_jsonb(o) || jsonb_build_object('lines', order_lines_json(o.id))
                          AS snapshot
        ),
        history AS (
            INSERT INTO order_history (order_id, status, reason)
            SELECT id, status, reason FROM moved
        ),
        completed AS (
            UPDATE tasks AS t
            SET state = 'completed', locked_by = NULL, locked_until = NULL, finished_at = now()
            FROM lease
            WHERE t.id = lease.id AND EXISTS (SELECT 1 FROM moved)
            RETURNING t.id, t.attempts, t.attempted_at
        ),
        attempt AS (
            INSERT INTO task_attempts (task_id, attempt, worker_id, started_at, finished_at, outcome)
            SELECT id, attempts, $2, attempted_at, now(), 'succeeded' FROM completed
        ),
        successor AS (
            INSERT INTO tasks (kind, payload, max_attempts, order_id, traceparent,
                               state, attempts, locked_by, locked_until, attempted_at)
            SELECT m.next_kind, jsonb_build_object('order_id', m.id), m.next_max_attempts, m.id,
                   $20,
                   CASE WHEN hand.over THEN 'running' ELSE 'available' END::task_state,
                   CASE WHEN hand.over THEN 1 ELSE 0 END,
                   CASE WHEN hand.over THEN $2 END,
                   -- The lease runs from the insert, not from the statement's start.
                   CASE WHEN hand.over THEN clock_timestamp() + make_interval(secs => $22) END,
                   CASE WHEN hand.over THEN now() END
            FROM moved AS m
            CROSS JOIN LATERAL (
                SELECT m.next_kind = ANY ($21)
                       AND NOT EXISTS (SELECT 1 FROM queue_paused_kinds AS p
                                       WHERE p.kind = m.next_kind)
                       AS over
            ) AS hand
            WHERE m.next_kind IS NOT NULL
            RETURNING id, kind, payload, state, attempts, max_attempts, created_at
        )
        SELECT (SELECT status FROM the_order) AS "order_status?: OrderStatus",
               EXISTS (SELECT 1 FROM lease) AS "lease_held!",
               moved.snapshot AS "snapshot?",
               successor.id AS "successor_id?: TaskId",
               successor.kind AS "successor_kind?",
               successor.payload AS "successor_payload?",
               successor.state = 'running' AS "successor_handed?",
               successor.attempts AS "successor_attempts?",
               successor.max_attempts AS "successor_max_attempts?",
               successor.created_at AS "successor_created_at?",
               -- Wakes the workers for a next step nobody was handed.
               (SELECT count(pg_notify($23, kind)) FROM successor WHERE state = 'available')
                   AS "notified!"
        FROM (SELECT) AS one
        LEFT JOIN moved ON true
        LEFT JOIN successor ON true
        "#,
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
