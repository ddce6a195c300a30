//! The `asynccheckout worker` process, as an operator runs it: SIGTERM with
//! steps in flight lets them finish and exits 0.
#![allow(clippy::unwrap_used)]

use std::process::Stdio;

use std::time::Duration;
use tokio::process::Command;

use shared::queue::{self, NewTask};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

/// Polls `check` until true, failing the test after `deadline`.
async fn eventually(what: &str, deadline: Duration, mut check: impl AsyncFnMut() -> bool) {
    let until = tokio::time::Instant::now() + deadline;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < until,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn sigterm_lets_in_flight_steps_finish_and_the_worker_exits_zero(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = pool_options
        .connect_with(connect_options.clone())
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    for _ in 0..4 {
        let pause = NewTask::new("noop", serde_json::json!({ "sleep_ms": 1_500 }));
        queue::enqueue(&mut tx, &pause).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut worker = Command::new(env!("CARGO_BIN_EXE_asynccheckout"))
        .arg("worker")
        .env("DATABASE_URL", connect_options.to_url_lossy().as_str())
        .env("WORKER_CONCURRENCY", "4")
        .env("SHUTDOWN_GRACE_SECS", "20")
        .env("LOG_FORMAT", "json")
        .env("METRICS_ADDR", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    eventually(
        "four steps in flight",
        Duration::from_secs(30),
        async || count(&pool, "SELECT count(*) FROM tasks WHERE state = 'running'").await == 4,
    )
    .await;

    let signalled = tokio::time::Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &worker.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(30), worker.wait())
        .await
        .expect("the worker did not exit within 30 s of SIGTERM")
        .unwrap();
    let drained_in = signalled.elapsed();

    assert!(status.success(), "worker exited with {status}");
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM tasks WHERE state = 'completed'"
        )
        .await,
        4
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM tasks WHERE state = 'running'").await,
        0
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM task_attempts WHERE outcome = 'succeeded'"
        )
        .await,
        4
    );
    println!("SIGTERM -> exit 0 after {drained_in:?} with 4 steps of 1.5 s in flight");
}
