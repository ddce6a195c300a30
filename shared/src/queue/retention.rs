//! Pruning: completed tasks (and, by cascade, their attempts) are deleted
//! once older than the retention period, a small batch at a time so that the
//! deletes never hold many locks or bloat one transaction. Dead tasks are
//! kept: they wait for an operator. After pruning, [`vacuum`] makes the space
//! reusable whatever the server's autovacuum settings.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};

use super::QueueError;
use crate::db::Pooler;

/// Deletes up to `batch` tasks that completed more than `older_than` ago.
/// Returns how many were deleted; fewer than `batch` means none are left.
pub async fn delete_completed(
    conn: &mut PgConnection,
    older_than: Duration,
    batch: i64,
) -> Result<u64, QueueError> {
    let deleted = sqlx::query!(
        r#"
        WITH expired AS MATERIALIZED (
            SELECT id
            FROM tasks
            WHERE state = 'completed' AND finished_at < now() - make_interval(secs => $1)
            ORDER BY finished_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        )
        DELETE FROM tasks
        WHERE id IN (SELECT id FROM expired)
        "#,
        older_than.as_secs_f64(),
        batch,
    )
    .execute(conn)
    .await?;
    Ok(deleted.rows_affected())
}

/// Vacuums the queue's tables, so the space of pruned and updated rows is
/// reused and the tables stay bounded even where autovacuum is off or falls
/// behind. A table another vacuum is working on is skipped, not waited for,
/// so several workers calling this at once cost nothing extra.
///
/// The pool's 30 s statement timeout would cut a vacuum of a badly bloated
/// table short every time, so this one gets up to 10 minutes. Behind a
/// transaction pooler a session setting would outlive the statement on a
/// server connection other clients share, so there the vacuum runs alone,
/// under the server's own `statement_timeout` for the role.
pub async fn vacuum(pool: &PgPool) -> Result<(), QueueError> {
    const VACUUM: &str = "VACUUM (SKIP_LOCKED) tasks, task_attempts";
    match crate::db::pooler::configured() {
        Pooler::None => {
            let mut conn = pool.acquire().await?;
            for statement in [
                "SET statement_timeout = '10min'",
                VACUUM,
                "RESET statement_timeout",
            ] {
                sqlx::query(statement)
                    .persistent(false)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        // One simple-protocol statement outside any transaction: VACUUM
        // cannot run inside one.
        Pooler::Transaction => {
            sqlx::raw_sql(VACUUM).execute(pool).await?;
        }
    }
    Ok(())
}
