//! An idle worker is woken by the commit of an enqueue, not by its poll.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::helpers::*;

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_committed_enqueue_wakes_an_idle_worker_well_before_its_poll_interval(
    pool: sqlx::PgPool,
) {
    let poll = Duration::from_secs(60);
    let (seen, mut steps) = mpsc::unbounded_channel();
    let worker = RunningWorker::start(&pool, Reporting(seen), config(poll));

    // A first task proves the worker is up and has gone idle after it.
    let first = enqueue(&pool, serde_json::json!({}), 3).await;
    let (ran, _) = tokio::time::timeout(Duration::from_secs(20), steps.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ran, first);
    // And its listener is subscribed.
    eventually("the worker to LISTEN", Duration::from_secs(10), || async {
        let listening = count(
            &pool,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        )
        .await;
        (listening > 0).then_some(())
    })
    .await;

    let committed = tokio::time::Instant::now();
    let second = enqueue(&pool, serde_json::json!({}), 3).await;
    let (ran, at) = tokio::time::timeout(poll / 4, steps.recv())
        .await
        .expect("woken well before the 60 s poll")
        .unwrap();

    assert_eq!(ran, second);
    println!(
        "enqueue commit -> step start: {:?}",
        at.duration_since(committed)
    );
    wait_for_state(&pool, second, "completed").await;
    worker.shut_down().await;
}
