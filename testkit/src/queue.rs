//! Waiting for the system under test to finish its work.

use std::time::Duration;

use sqlx::PgPool;
use tokio::time::Instant;

/// Waits until the queue has nothing available or running; returns how long
/// that took, or `None` if `deadline` passed first.
pub async fn drained(pool: &PgPool, deadline: Duration) -> anyhow::Result<Option<Duration>> {
    let started = Instant::now();
    loop {
        let busy: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM tasks WHERE state = 'available')
                 OR EXISTS (SELECT 1 FROM tasks WHERE state = 'running')",
        )
        .fetch_one(pool)
        .await?;
        if !busy {
            return Ok(Some(started.elapsed()));
        }
        if started.elapsed() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
