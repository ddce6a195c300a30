//! Behind PgBouncer in transaction mode (Debian's 1.18, which does not track
//! prepared statements): the saga end to end, and many processes sharing a
//! small server pool. See `shared::db::Session` for what makes it work.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::pgbouncer::PgBouncer;

use crate::system::{Options, System};

fn behind_the_pooler() -> Vec<(&'static str, String)> {
    vec![("DATABASE_POOLER", "transaction".to_owned())]
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn behind_pgbouncer_in_transaction_mode_every_path_of_the_saga_runs(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let bouncer = PgBouncer::start(&db, 10).await.unwrap();
    let system = System::start(
        "pooler_saga",
        &db,
        Options {
            processes_database_url: Some(bouncer.url.clone()),
            api_env: behind_the_pooler(),
            worker_env: behind_the_pooler(),
            workers: 2,
            ..Options::default()
        },
    )
    .await;
    system.create_product("MUG", 1250, 3).await;

    // Five orders for three mugs, all at once: three complete and two are
    // refunded; one more is declined.
    let placed: Vec<String> = futures::future::join_all((0..5).map(|i| {
        let system = &system;
        async move {
            system
                .place(&format!("order-{i}"), "tok_visa", &[("MUG", 1)])
                .await
        }
    }))
    .await;
    let declined = system
        .place("order-declined", "tok_chargeDeclined", &[("MUG", 1)])
        .await;
    let mut ended = Vec::new();
    for id in &placed {
        let order = system.settled(id).await;
        let charges = system.ledger_for(id, "charge").await;
        assert_eq!(charges.len(), 1, "one charge for {id}: {order:#}");
        ended.push(order["status"].as_str().unwrap().to_owned());
    }
    ended.sort();
    assert_eq!(
        ended,
        [
            "completed",
            "completed",
            "completed",
            "refunded",
            "refunded"
        ]
    );
    assert_eq!(system.settled(&declined).await["status"], "failed");
    assert_eq!(system.stock("MUG").await, 0);
    assert_eq!(
        system.mail.messages().len(),
        3,
        "one confirmation per completed order"
    );

    // A replayed POST answers from the stored order; a cancel commits.
    let replayed = system
        .post_order("order-0", &System::order_body("tok_visa", &[("MUG", 1)]))
        .await;
    assert_eq!(replayed.status(), 202);
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    system.create_product("CUP", 500, 1).await;
    let paused = system
        .http
        .post(format!(
            "{}/v1/queue/kinds/charge_payment/pause",
            system.api
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(paused.status(), 200);
    let waiting = system
        .place("order-cancelled", "tok_visa", &[("CUP", 1)])
        .await;
    let cancelled = system
        .http
        .post(format!("{}/v1/orders/{waiting}/cancel", system.api))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    assert_eq!(system.order(&waiting).await["status"], "cancelled");

    // The events are listed: at least a `pending` and an end for each of
    // the six settled orders.
    let until = tokio::time::Instant::now() + crate::system::DEADLINE;
    loop {
        let events: Value = system
            .get_json(format!("{}/v1/events?limit=100", system.api))
            .await;
        if events["items"].as_array().unwrap().len() >= 6 * 2 {
            break;
        }
        assert!(tokio::time::Instant::now() < until, "{events:#}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // The worker could not LISTEN through the pooler and said it polls (the
    // API listens for nothing: its feed reads events itself).
    assert!(
        system
            .log("worker-0")
            .contains("transaction pooler, which cannot LISTEN")
    );
}

/// Twenty workers and two APIs through a server pool of ten: every order
/// completes, and PostgreSQL never sees more than the ten connections.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn twenty_workers_and_two_apis_share_ten_server_connections(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    const SERVER_POOL: i64 = 10;
    const ORDERS: usize = 80;
    let bouncer = PgBouncer::start(&db, SERVER_POOL as u32).await.unwrap();
    let mut system = System::start(
        "pooler_many",
        &db,
        Options {
            processes_database_url: Some(bouncer.url.clone()),
            api_env: behind_the_pooler(),
            worker_env: behind_the_pooler(),
            ..Options::without_workers()
        },
    )
    .await;
    for i in 0..20 {
        system.start_worker(i, &[]).await;
    }
    let second_api = system
        .start_another_api("api-2", &behind_the_pooler())
        .await;
    system.create_product("MUG", 1250, 10_000).await;

    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (pool, done) = (system.pool.clone(), Arc::clone(&done));
        tokio::spawn(async move {
            let mut most = 0_i64;
            while !done.load(Ordering::Relaxed) {
                let ours: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND application_name LIKE 'asynccheckout%'",
                )
                .fetch_one(&pool)
                .await
                .unwrap();
                most = most.max(ours);
                tokio::task::yield_now().await;
            }
            most
        })
    };
    let apis = [system.api.clone(), second_api];
    let placed: Vec<String> = futures::future::join_all((0..ORDERS).map(|i| {
        let (system, api) = (&system, apis[i % 2].clone());
        async move {
            let response = system
                .http
                .post(format!("{api}/v1/orders"))
                .header("Idempotency-Key", format!("order-{i}"))
                .json(&System::order_body("tok_visa", &[("MUG", 1)]))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
            let order: Value = response.json().await.unwrap();
            order["id"].as_str().unwrap().to_owned()
        }
    }))
    .await;
    for id in &placed {
        assert_eq!(system.settled(id).await["status"], "completed", "{id}");
    }
    done.store(true, Ordering::Relaxed);
    let most = sampler.await.unwrap();

    assert!(
        most <= SERVER_POOL,
        "PostgreSQL saw {most} of our connections through a pool of {SERVER_POOL}"
    );
    assert!(most > 0, "the sampler saw the pooler's connections");
    let charges: i64 =
        sqlx::query_scalar("SELECT count(*) FROM orders WHERE charge_id IS NOT NULL")
            .fetch_one(&system.pool)
            .await
            .unwrap();
    assert_eq!(charges, ORDERS as i64);
}

/// With `LISTEN_DATABASE_URL` a direct connection carries the wake-ups: a
/// worker whose poll is ten minutes away takes a new order at once, though
/// everything else goes through the pooler.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn behind_pgbouncer_a_direct_listen_url_wakes_the_workers_at_once(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let bouncer = PgBouncer::start(&db, 4).await.unwrap();
    let mut env = behind_the_pooler();
    env.push(("LISTEN_DATABASE_URL", db.to_url_lossy().to_string()));
    let mut worker_env = env.clone();
    worker_env.push(("POLL_INTERVAL_MS", "600000".to_owned()));
    let system = System::start(
        "pooler_listen",
        &db,
        Options {
            processes_database_url: Some(bouncer.url.clone()),
            api_env: env,
            worker_env,
            ..Options::default()
        },
    )
    .await;
    system.create_product("MUG", 1250, 10).await;

    for i in 0..3 {
        let id = system
            .place(&format!("order-{i}"), "tok_visa", &[("MUG", 1)])
            .await;
        assert_eq!(system.settled(&id).await["status"], "completed");
    }
    assert!(!system.log("worker-0").contains("cannot LISTEN"));
    // The worker's listener is the only direct connection, and it LISTENs.
    let listening: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
    )
    .fetch_one(&system.pool)
    .await
    .unwrap();
    assert!(listening >= 1, "the worker's listener: {listening}");
}
