//! Connection loss mid-step: the server terminates every connection of the
//! workers, over and over, while their steps wait on a slow gateway and while
//! they commit. Each step is retried (its transaction rolled back) or rescued
//! after its lease; none is lost and none is done twice.

use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;

use crate::system::{Options, System};

/// At least this many cuts, one pause apart, and on until one has hit a
/// connection inside a statement or a transaction (or the cap).
const CUTS: usize = 40;
const MAX_CUTS: usize = 400;
const PAUSE: Duration = Duration::from_millis(50);

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn connections_cut_mid_step_lose_no_step_and_double_no_charge(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start(
        "connection_loss",
        &db,
        Options {
            worker_env: vec![
                ("TASK_LEASE_SECS", "3".to_owned()),
                ("RESCUE_INTERVAL_SECS", "1".to_owned()),
                ("RETRY_BASE_MS", "50".to_owned()),
            ],
            ..Options::default()
        },
    )
    .await;
    system.create_product("MUG", 1250, 1000).await;
    // Slow payments keep steps in flight (claimed, connection idle in the
    // pool) while the connections are cut.
    system.set_faults(json!({ "latency_ms": 150 })).await;
    // An order placed before each cut keeps the workers busy claiming,
    // charging and committing while their connections are cut.
    let mut ids = Vec::new();
    let mut cut_mid_work = 0;
    while ids.len() < CUTS || (cut_mid_work == 0 && ids.len() < MAX_CUTS) {
        let i = ids.len();
        ids.push(
            system
                .place(&format!("order-{i}"), "tok_visa", &[("MUG", 1)])
                .await,
        );
        // Only this test's database: other tests run beside it on the server.
        let mid_work: i64 = sqlx::query_scalar(
            "SELECT count(*) FILTER (WHERE state <> 'idle')
             FROM (SELECT pg_terminate_backend(pid), state FROM pg_stat_activity
                   WHERE application_name = 'asynccheckout-worker'
                     AND datname = current_database()) AS cut",
        )
        .fetch_one(&system.pool)
        .await
        .unwrap();
        cut_mid_work += mid_work;
        tokio::time::sleep(PAUSE).await;
    }
    assert!(
        cut_mid_work > 0,
        "no cut hit a worker connection inside a statement or a transaction in {MAX_CUTS} tries: \
         the test proved nothing"
    );

    for id in &ids {
        let order = system.settled(id).await;
        assert_eq!(order["status"], "completed", "{order:#}");
        assert_eq!(
            System::statuses(&order),
            ["pending", "paid", "confirmed", "completed"],
            "every transition exactly once"
        );
        let charges = system.ledger_for(id, "charge").await;
        assert_eq!(charges.len(), 1, "order {id} charged once");
        assert_eq!(order["payment"]["charge_id"], charges[0]["id"]);
    }
    assert_eq!(
        system.stock("MUG").await,
        1000 - ids.len() as i64,
        "stock taken once per order"
    );
    let lost_connections: i64 =
        sqlx::query_scalar("SELECT count(*) FROM task_attempts WHERE outcome <> 'succeeded'")
            .fetch_one(&system.pool)
            .await
            .unwrap();
    assert!(
        lost_connections > 0,
        "some attempt failed on a cut connection and was retried or rescued"
    );
}
