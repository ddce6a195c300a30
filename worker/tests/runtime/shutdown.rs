//! Shutdown: running steps finish within the grace period; past it they are
//! handed back at once instead of waiting for their leases to expire.

use std::time::Duration;

use async_trait::async_trait;
use shared::queue::ClaimedTask;
use tokio::sync::mpsc;
use worker::{StepContext, StepError, StepHandler};

use crate::helpers::*;

/// Says when it starts, then takes half a second.
struct Pausing(mpsc::UnboundedSender<()>);

#[async_trait]
impl StepHandler for Pausing {
    async fn run(&self, _task: &ClaimedTask, _ctx: &StepContext) -> Result<(), StepError> {
        let _ = self.0.send(());
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok(())
    }
}

/// Says when it starts, then runs for ten minutes.
struct Hanging(mpsc::UnboundedSender<()>);

#[async_trait]
impl StepHandler for Hanging {
    async fn run(&self, _task: &ClaimedTask, _ctx: &StepContext) -> Result<(), StepError> {
        let _ = self.0.send(());
        tokio::time::sleep(Duration::from_secs(600)).await;
        Ok(())
    }
}

async fn running(pool: &sqlx::PgPool) -> i64 {
    count(pool, "SELECT count(*) FROM tasks WHERE state = 'running'").await
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn shutdown_lets_running_steps_finish_within_the_grace_period(pool: sqlx::PgPool) {
    let (started, mut starts) = mpsc::unbounded_channel();
    let worker = RunningWorker::start(&pool, Pausing(started), config(Duration::from_millis(50)));
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(enqueue(&pool, serde_json::json!({}), 3).await);
    }
    // Started, not merely claimed: a claim that lands during shutdown is
    // rightly handed back unstarted.
    for _ in 0..4 {
        tokio::time::timeout(Duration::from_secs(20), starts.recv())
            .await
            .expect("four steps started within 20 s");
    }

    worker.shut_down().await;

    for id in ids {
        assert_eq!(state(&pool, id).await, "completed");
    }
    assert_eq!(running(&pool).await, 0);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn steps_still_running_after_the_grace_period_are_handed_back_at_once(pool: sqlx::PgPool) {
    let mut settings = config(Duration::from_millis(50));
    settings.shutdown_grace_secs = 1;
    let (started, mut starts) = mpsc::unbounded_channel();
    let worker = RunningWorker::start(&pool, Hanging(started), settings);
    let id = enqueue(&pool, serde_json::json!({}), 3).await;
    // Started, not merely claimed: a claim that lands during shutdown is
    // handed back unstarted, with no attempt to record.
    tokio::time::timeout(Duration::from_secs(20), starts.recv())
        .await
        .expect("the step started within 20 s");

    worker.shut_down().await;

    assert_eq!(
        state(&pool, id).await,
        "available",
        "handed back, not left for its lease to expire"
    );
    let outcomes = outcomes(&pool, id).await;
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].0, "interrupted");
}
