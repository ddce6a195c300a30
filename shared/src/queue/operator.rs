//! What an operator does to the queue by hand.

use sqlx::PgConnection;

use super::{QueueError, TaskId, TaskState};

/// Brings a `dead` task back to `available` now. Its attempts and their
/// history are kept; it is given one more attempt than it has used, so the
/// attempt numbers keep counting up.
pub async fn retry_dead(conn: &mut PgConnection, id: TaskId) -> Result<(), QueueError> {
    let revived = sqlx::query!(
        r#"
        UPDATE tasks
        SET state = 'available',
            run_at = now(),
            finished_at = NULL,
            max_attempts = greatest(max_attempts, attempts + 1)
        WHERE id = $1 AND state = 'dead'
        "#,
        id.0,
    )
    .execute(&mut *conn)
    .await?;
    if revived.rows_affected() == 1 {
        return Ok(());
    }
    let exists = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM tasks WHERE id = $1) AS "exists!""#,
        id.0
    )
    .fetch_one(conn)
    .await?;
    Err(if exists {
        QueueError::NotDead(id)
    } else {
        QueueError::NotFound(id)
    })
}

/// Withdraws a task that is waiting to run (`available`, due or not) as
/// `cancelled`: it never runs, and its attempts so far are kept. Refused
/// for a step of an order's saga (the order's cancel is the way: it undoes
/// what the saga did) and for a webhook delivery (its record would stay
/// pending): those have records of their own that a bare cancel would
/// leave behind. A claim racing the cancel wins or loses whole.
pub async fn cancel_waiting(conn: &mut PgConnection, id: TaskId) -> Result<(), QueueError> {
    let cancelled = sqlx::query!(
        r#"
        UPDATE tasks
        SET state = 'cancelled', finished_at = now()
        WHERE id = $1
          AND state = 'available'
          AND order_id IS NULL
          AND kind <> $2
        "#,
        id.0,
        crate::webhooks::DELIVER_KIND,
    )
    .execute(&mut *conn)
    .await?;
    if cancelled.rows_affected() == 1 {
        return Ok(());
    }
    let task = sqlx::query!(
        r#"SELECT state AS "state: TaskState", order_id, kind FROM tasks WHERE id = $1"#,
        id.0
    )
    .fetch_optional(conn)
    .await?;
    Err(match task {
        None => QueueError::NotFound(id),
        Some(task) if task.state != TaskState::Available => QueueError::NotWaiting(id),
        Some(task) => match task.order_id {
            Some(order) => QueueError::OrderStep { task: id, order },
            None if task.kind == crate::webhooks::DELIVER_KIND => QueueError::WebhookDelivery(id),
            // Running when the update looked, and waiting again now (a
            // retry): not waiting then; the operator may ask again.
            None => QueueError::NotWaiting(id),
        },
    })
}

/// Which dead tasks a bulk retry takes: of `kind` when given, and whose
/// last error holds `error_contains` (any case) when given.
#[derive(Debug, Clone, Default)]
pub struct DeadFilter {
    pub kind: Option<String>,
    pub error_contains: Option<String>,
}

/// How many dead tasks match `filter`, counted up to `cap` (a count of
/// `cap` means "at least").
pub async fn count_dead(
    conn: &mut PgConnection,
    filter: &DeadFilter,
    cap: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        SELECT count(*) AS "count!"
        FROM (
            SELECT 1 FROM tasks
            WHERE state = 'dead'
              AND ($1::text IS NULL OR kind = $1)
              AND ($2::text IS NULL OR strpos(lower(last_error), lower($2)) > 0)
            LIMIT $3
        ) AS matching
        "#,
        filter.kind,
        filter.error_contains,
        cap,
    )
    .fetch_one(conn)
    .await
}

/// Brings up to `limit` dead tasks matching `filter` back to `available`
/// now, as [`retry_dead`] does one, and wakes the workers; returns how many.
/// Tasks another retry holds are skipped, not waited for.
pub async fn retry_dead_matching(
    conn: &mut PgConnection,
    filter: &DeadFilter,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let revived = sqlx::query_scalar!(
        r#"
        WITH chosen AS MATERIALIZED (
            SELECT id FROM tasks
            WHERE state = 'dead'
              AND ($1::text IS NULL OR kind = $1)
              AND ($2::text IS NULL OR strpos(lower(last_error), lower($2)) > 0)
            ORDER BY id
            LIMIT $3
            FOR UPDATE SKIP LOCKED
        ),
        revived AS (
            UPDATE tasks
            SET state = 'available',
                run_at = now(),
                finished_at = NULL,
                max_attempts = greatest(max_attempts, attempts + 1)
            WHERE id = ANY (ARRAY(SELECT id FROM chosen))
            RETURNING id
        )
        SELECT count(*) AS "count!" FROM revived, pg_notify($4, '')
        "#,
        filter.kind,
        filter.error_contains,
        limit,
        super::WAKEUP_CHANNEL,
    )
    .fetch_one(conn)
    .await?;
    Ok(u64::try_from(revived).unwrap_or(0))
}

/// Withdraws every waiting task of the order (available, whether it has
/// run before or not) as `cancelled`, in the caller's transaction, unless a
/// task of `unless_tried` has been attempted (it is running, or ran and may
/// have done its work: a mail sent before its attempt failed): then nothing
/// is withdrawn and the answer is `false`. The order's tasks are locked
/// first, so a claim racing this either took its task before (and it counts
/// as attempted) or finds it withdrawn.
pub async fn withdraw_waiting(
    conn: &mut PgConnection,
    order_id: uuid::Uuid,
    unless_tried: &str,
) -> Result<bool, QueueError> {
    let live = sqlx::query!(
        r#"
        SELECT id, kind, state AS "state: TaskState", attempts
        FROM tasks
        WHERE order_id = $1 AND state IN ('available', 'running', 'dead')
        ORDER BY id
        FOR UPDATE
        "#,
        order_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    if live
        .iter()
        .any(|t| t.kind == unless_tried && t.attempts > 0)
    {
        return Ok(false);
    }
    let waiting: Vec<i64> = live
        .iter()
        .filter(|t| t.state == TaskState::Available)
        .map(|t| t.id)
        .collect();
    sqlx::query!(
        "UPDATE tasks SET state = 'cancelled', finished_at = now() WHERE id = ANY ($1)",
        &waiting,
    )
    .execute(conn)
    .await?;
    Ok(true)
}

/// Withdraws the order's tasks of `kind` that have never started (available,
/// no attempt yet) as `cancelled`, in the caller's transaction. Returns how
/// many; zero means the work has started (or was never there).
pub async fn cancel_unstarted(
    conn: &mut PgConnection,
    order_id: uuid::Uuid,
    kind: &str,
) -> Result<u64, QueueError> {
    let cancelled = sqlx::query!(
        r#"
        UPDATE tasks
        SET state = 'cancelled', finished_at = now()
        WHERE order_id = $1 AND kind = $2 AND state = 'available' AND attempts = 0
        "#,
        order_id,
        kind,
    )
    .execute(conn)
    .await?;
    Ok(cancelled.rows_affected())
}
