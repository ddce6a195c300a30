//! Pruning events past their retention, a batch at a time.

use std::time::Duration;

use sqlx::PgConnection;

/// Deletes up to `batch` events created more than `older_than` ago;
/// fewer than `batch` deleted means none are left.
pub async fn delete_expired(
    conn: &mut PgConnection,
    older_than: Duration,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query!(
        r#"
        DELETE FROM order_events
        WHERE seq IN (
            SELECT seq FROM order_events
            WHERE created_at < now() - make_interval(secs => $1)
            ORDER BY created_at
            LIMIT $2
        )
        "#,
        older_than.as_secs_f64(),
        batch,
    )
    .execute(conn)
    .await?;
    Ok(deleted.rows_affected())
}
