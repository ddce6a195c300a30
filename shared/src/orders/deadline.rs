//! The deadline per order: an order not past its payment and stock within
//! a set time of being placed is compensated as a failure at that point
//! would be, with the failure `deadline_exceeded`.
//!
//! Paid automatically (`pending`, `paid`), its charge is refunded
//! (`refunding`); paid manually (`pending`, `authorized`, `reserved`), its
//! hold is voided and its stock put back (`voiding`). A `confirmed` order is
//! left alone: it holds its money and its stock, and what it waits for, its
//! confirmation, never refunds an order when it fails.
//!
//! A payment step may be running when the deadline passes (a gateway that
//! hangs): its order moves on anyway, and the compensation waits until that
//! step's lease runs out (`locked_until`), by when its call to the gateway
//! has ended (the gateway timeout is shorter than a lease). What it did
//! there, the compensation finds by its key and undoes; the step itself
//! then finds its order moved on and records nothing.

use std::time::Duration;

use sqlx::PgConnection;
use uuid::Uuid;

use super::{OrderStatus, TaskKind};
use crate::queue::WAKEUP_CHANNEL;

/// The failure an overdue order is given.
pub const DEADLINE_EXCEEDED: &str = "deadline_exceeded";

/// An order the deadline caught, and where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overdue {
    pub order: Uuid,
    pub was: OrderStatus,
    pub now: OrderStatus,
}

/// Compensates up to `batch` orders placed longer than `deadline` ago and
/// not yet `confirmed` (see the module's docs); returns them. Orders another
/// sweeper holds are skipped. One statement: for each order, its waiting
/// tasks withdrawn, its move with the failure and the history row, and its
/// compensation queued.
pub async fn compensate_overdue(
    conn: &mut PgConnection,
    deadline: Duration,
    batch: i64,
) -> Result<Vec<Overdue>, sqlx::Error> {
    let message = format!(
        "not completed within {} of being placed; its payment is given back",
        humantime_secs(deadline)
    );
    let rows = sqlx::query!(
        r#"
        WITH overdue AS MATERIALIZED (
            SELECT id, status, capture_method
            FROM orders
            WHERE status IN ('pending', 'paid', 'authorized', 'reserved')
              AND created_at < now() - make_interval(secs => $1)
            ORDER BY created_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        ),
        live AS MATERIALIZED (
            SELECT t.id, t.order_id, t.state, t.locked_until
            FROM tasks AS t
            JOIN overdue AS o ON o.id = t.order_id
            WHERE t.state IN ('available', 'running')
            ORDER BY t.id
            FOR UPDATE OF t
        ),
        withdrawn AS (
            UPDATE tasks AS t
            SET state = 'cancelled', finished_at = now()
            FROM live
            WHERE t.id = live.id AND live.state = 'available'
        ),
        moved AS (
            UPDATE orders AS o
            SET status = CASE WHEN ov.capture_method = 'manual' THEN 'voiding'
                              ELSE 'refunding' END::order_status,
                failure_code = $3,
                failure_message = $4,
                updated_at = now()
            FROM overdue AS ov
            WHERE o.id = ov.id
            RETURNING o.id, o.status, ov.status AS was
        ),
        history AS (
            INSERT INTO order_history (order_id, status, reason)
            SELECT id, status, 'deadline exceeded' FROM moved
        ),
        compensation AS (
            INSERT INTO tasks (kind, payload, max_attempts, order_id, run_at)
            SELECT CASE WHEN m.status = 'voiding' THEN $5 ELSE $6 END,
                   jsonb_build_object('order_id', m.id), $7, m.id,
                   -- After the lease of a step still running: its call has ended.
                   greatest(now(), (SELECT max(l.locked_until) FROM live AS l
                                    WHERE l.order_id = m.id AND l.state = 'running'))
            FROM moved AS m
            RETURNING kind
        )
        SELECT m.id AS "id!", m.status AS "now!: OrderStatus", m.was AS "was!: OrderStatus",
               (SELECT count(pg_notify($8, kind)) FROM compensation) AS "notified!"
        FROM moved AS m
        "#,
        deadline.as_secs_f64(),
        batch,
        DEADLINE_EXCEEDED,
        message,
        TaskKind::VoidAuthorization.as_str(),
        TaskKind::RefundPayment.as_str(),
        TaskKind::RefundPayment.max_attempts(),
        WAKEUP_CHANNEL,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Overdue {
            order: r.id,
            was: r.was,
            now: r.now,
        })
        .collect())
}

/// `deadline` as people write it: `90 s`, `15 min`, `2 h`.
fn humantime_secs(deadline: Duration) -> String {
    let secs = deadline.as_secs();
    if secs >= 3_600 && secs % 3_600 == 0 {
        format!("{} h", secs / 3_600)
    } else if secs >= 60 && secs % 60 == 0 {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_reads_in_the_largest_whole_unit() {
        assert_eq!(humantime_secs(Duration::from_secs(900)), "15 min");
        assert_eq!(humantime_secs(Duration::from_secs(7_200)), "2 h");
        assert_eq!(humantime_secs(Duration::from_secs(90)), "90 s");
    }
}
