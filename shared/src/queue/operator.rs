//! What an operator does to the queue by hand.

use sqlx::PgConnection;

use super::{QueueError, TaskId};

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
