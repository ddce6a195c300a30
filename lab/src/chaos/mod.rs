//! `asynccheckout-lab chaos`: the whole system under faults, then the proof that
//! nothing was lost and no money is wrong (see RELIABILITY.md).
//!
//! On a private PostgreSQL cluster it creates (and removes after a clean
//! run), it starts the mock gateway with faults on (10% 503s, 5% hangs past
//! the workers' timeout, 5% charged-then-response-lost, 20 ms latency), the
//! API and `--workers` worker processes, all from this binary. Shoppers
//! (`shoppers`) place `--orders` orders at `--rate` while `mayhem` kills
//! workers (one at a time, and once all at once), cuts connections, kills
//! the API once and crashes PostgreSQL once, and a slowloris client holds
//! `--slow-connections` connections against the API throughout, and two
//! webhook receivers refuse a share of their deliveries. Then the faults stop, the run waits for the queue to drain, and
//! `invariants` checks the database, the gateway's ledger and what the
//! shoppers saw. It prints a summary and fails (exit 1) on any violation,
//! keeping the cluster and the logs for a look. With `--pooler` the API and
//! the workers reach the cluster through a real PgBouncer in transaction
//! mode.

mod database;
mod evidence;
mod invariants;
mod mayhem;
mod shoppers;
mod summary;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use database::RunDatabase;
use evidence::{Evidence, LedgerEntry, ReceiverRecord, RunRecord};
use mayhem::Mayhem;
use shoppers::{Catalog, Plan, Shopper};
use summary::Summary;
use testkit::pgbouncer::PgBouncer;
use testkit::process::admin_key;
use testkit::queue::drained;
use testkit::slowloris::Slowloris;
use testkit::system::System;
use testkit::webhook_receiver::WebhookReceiver;

/// The products the shoppers buy, with their prices in cents.
const PRODUCTS: [(&str, i64); 6] = [
    ("CHAOS-TEE", 1999),
    ("CHAOS-MUG", 1250),
    ("CHAOS-CAP", 2400),
    ("CHAOS-BAG", 4999),
    ("CHAOS-PIN", 350),
    ("CHAOS-HOODIE", 6500),
];

/// The gateway's faults while the shoppers shop (the mix).
/// PgBouncer's server connections, with `--pooler`.
const CHAOS_SERVER_POOL: u32 = 10;

const GATEWAY_FAULTS: [(&str, &str); 4] = [
    ("GATEWAY_LATENCY_MS", "20"),
    ("GATEWAY_FAIL_RATE", "0.10"),
    ("GATEWAY_HANG_RATE", "0.05"),
    ("GATEWAY_LOST_RESPONSE_RATE", "0.05"),
];

#[derive(Debug, Clone, clap::Args)]
pub struct ChaosArgs {
    /// Orders to place.
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub orders: u64,
    /// Orders started per second.
    #[arg(long, default_value_t = 40.0)]
    pub rate: f64,
    /// Worker processes kept running (one is killed and replaced per tick).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=32))]
    pub workers: u64,
    /// Seconds between two worker kills.
    #[arg(long, default_value_t = 3.0)]
    pub kill_every_secs: f64,
    /// How long the system may take to settle once the load and the faults
    /// stop; past that the run fails.
    #[arg(long, default_value_t = 180)]
    pub settle_within_secs: u64,
    /// Seeds the order mix and the choice of victims (default: random; the
    /// summary prints it, so a failing run can be repeated).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Connections a slowloris client holds against the API for the whole
    /// run (headers never finished, one more line a second; each closed one
    /// is reopened).
    #[arg(long, default_value_t = 300)]
    pub slow_connections: usize,
    /// Run the API and the workers behind a real PgBouncer in transaction
    /// mode (a server pool of 10) in front of the run's cluster, with
    /// `DATABASE_POOLER=transaction` and no direct LISTEN: the invariants
    /// must hold through the pooler, PostgreSQL's crashes included.
    #[arg(long)]
    pub pooler: bool,
    /// Run PostgreSQL as a primary with a synchronous standby, and make the
    /// database fault a failover: every process of the primary SIGKILLed,
    /// the standby promoted and PgBouncer pointed at it (implies `--pooler`).
    #[arg(long)]
    pub failover: bool,
    /// Folder for the private PostgreSQL cluster and the processes' logs
    /// (default: a new folder under the system's temporary folder, removed
    /// after a run that passes).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

pub async fn run(product: &Path, args: ChaosArgs) -> anyhow::Result<()> {
    if !(args.rate > 0.0 && args.rate.is_finite()) {
        bail!("--rate must be a positive number of orders per second");
    }
    if !(args.kill_every_secs > 0.0 && args.kill_every_secs.is_finite()) {
        bail!("--kill-every-secs must be a positive number of seconds");
    }
    let seed = args.seed.unwrap_or_else(rand::random);
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("asynccheckout-chaos-{}", std::process::id()))
    });
    eprintln!("chaos: seed {seed}, working in {}", dir.display());
    let cluster_dir = dir.join("cluster");
    let failover = args.failover;
    let cluster =
        tokio::task::spawn_blocking(move || RunDatabase::start(&cluster_dir, failover)).await??;
    let cluster = Arc::new(cluster);
    let url = cluster.url("chaos");
    // A --dir used before holds the last run's database: start afresh.
    let mut server = sqlx::PgConnection::connect(&cluster.url("postgres")).await?;
    sqlx::raw_sql("DROP DATABASE IF EXISTS chaos WITH (FORCE)")
        .execute(&mut server)
        .await?;
    server.close().await?;
    shared::db::ensure_database_exists(&url).await?;
    let options: PgConnectOptions = url.parse()?;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options.application_name("asynccheckout-chaos"))
        .await
        .context("connecting to the run's database")?;
    shared::MIGRATOR
        .run(&pool)
        .await
        .context("applying the migrations")?;

    // The run holds the cluster until the end: dropping the last handle stops
    // it. SIGINT or SIGTERM drops the run (its processes are killed) and then
    // the cluster.
    let interrupted = crate::interrupt::on_signal()?;
    let passed = tokio::select! {
        passed = run_on(product, &args, seed, &dir, Arc::clone(&cluster), &url, &pool) => passed?,
        _ = interrupted.cancelled() => {
            bail!("interrupted; the logs are in {}", dir.display())
        }
    };
    pool.close().await;
    drop(cluster);
    if !passed {
        bail!(
            "the chaos run found violations (seed {seed}); the logs and the database's files \
             are in {}",
            dir.display()
        );
    }
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// The run proper; true when every invariant held.
async fn run_on(
    product: &Path,
    args: &ChaosArgs,
    seed: u64,
    dir: &Path,
    cluster: Arc<RunDatabase>,
    url: &str,
    pool: &PgPool,
) -> anyhow::Result<bool> {
    let catalog = Catalog {
        skus: PRODUCTS.iter().map(|(sku, _)| (*sku).to_owned()).collect(),
    };
    let initial_stock = seed_catalog(pool, args.orders).await?;

    // Kept for the whole run when asked for: the processes connect through it.
    let bouncer = if args.pooler || args.failover {
        let options: PgConnectOptions = url.parse()?;
        let bouncer = PgBouncer::start(&options, CHAOS_SERVER_POOL)
            .await
            .context("starting PgBouncer in front of the run's cluster")?;
        eprintln!("chaos: the API and the workers go through PgBouncer (transaction mode)");
        Some(Arc::new(bouncer))
    } else {
        None
    };
    let processes_url = bouncer.as_ref().map_or(url, |bouncer| bouncer.url.as_str());
    let mut system = System::new(product, processes_url, &dir.join("logs"))?;
    if bouncer.is_some() {
        system.share_env(&[("DATABASE_POOLER", "transaction".to_owned())]);
    }
    let faults: Vec<(&str, String)> = GATEWAY_FAULTS
        .iter()
        .map(|(k, v)| (*k, (*v).to_owned()))
        .collect();
    let gateway = system.start_gateway_with(&faults).await?;
    let admin_key = admin_key();
    let api_addr = free_address()?;
    let api = system.start_api_as("api", &api_addr, &admin_key, 8).await?;
    let slowloris = Slowloris::start(api_addr.parse()?, args.slow_connections);
    let receivers = webhook_receivers(&api, &admin_key).await?;
    let shopper = Shopper::new(&api, &admin_key)?;
    let started = Arc::new(AtomicU64::new(0));
    let mut mayhem = Mayhem {
        system,
        cluster: Arc::clone(&cluster),
        bouncer: bouncer.clone(),
        admin: pool.clone(),
        api_addr,
        api_url: api.clone(),
        admin_key,
        http: shopper.http.clone(),
        catalog: catalog.clone(),
        worker_env: vec![
            ("GATEWAY_URL", gateway.clone()),
            // Hangs must outlast the client's patience, and a killed
            // worker's lease must expire soon: the run is short.
            ("GATEWAY_TIMEOUT_MS", "1000".to_owned()),
            ("TASK_LEASE_SECS", "5".to_owned()),
            ("RESCUE_INTERVAL_SECS", "1".to_owned()),
            ("RETRY_BASE_MS", "100".to_owned()),
            ("RETRY_CAP_SECS", "2".to_owned()),
            ("WORKER_CONCURRENCY", "32".to_owned()),
            ("DATABASE_MAX_CONNECTIONS", "8".to_owned()),
            // The receivers are on 127.0.0.1; their refusals are retried
            // soon and often enough that none runs out of retries.
            ("WEBHOOK_ALLOW_PRIVATE_URLS", "true".to_owned()),
            ("WEBHOOK_ALLOW_HTTP", "true".to_owned()),
            ("WEBHOOK_TIMEOUT_SECS", "2".to_owned()),
            ("WEBHOOK_RETRY_SCHEDULE", WEBHOOK_RETRY_SCHEDULE.to_owned()),
        ],
        workers: args.workers,
        workers_started: 0,
        seed,
        kill_every: Duration::from_secs_f64(args.kill_every_secs),
        started: Arc::clone(&started),
        orders: args.orders,
    };
    for _ in 0..args.workers {
        mayhem.start_worker().await?;
    }

    let stop = CancellationToken::new();
    let mut faults = tokio::spawn(mayhem.run(stop.clone()));
    let load_started = Instant::now();
    // Mayhem runs until told to stop; ending sooner means it failed (say, a
    // replacement worker did not start), and the run with it.
    let (outcomes, shopper_failures) = tokio::select! {
        shopped = shop(args, seed, &catalog, &shopper, &started) => shopped,
        failed = &mut faults => {
            failed??;
            bail!("the fault injector stopped before the load was done");
        }
    };
    let load_time = load_started.elapsed();
    stop.cancel();
    let (mut system, mut log) = faults.await??;
    // After a failover the run's data is on the promoted standby.
    let promoted;
    let pool = if cluster.failed_over() {
        promoted = PgPoolOptions::new()
            .max_connections(4)
            .connect(&cluster.url("chaos"))
            .await
            .context("connecting to the promoted standby")?;
        &promoted
    } else {
        pool
    };

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    http.put(format!("{gateway}/v1/faults"))
        .json(&mock_gateway::Faults::default())
        .send()
        .await?
        .error_for_status()
        .context("turning the gateway's faults off")?;
    eprintln!("chaos: load done in {load_time:.1?}; faults off, waiting for the queue to drain");
    let quiescence = drained(pool, Duration::from_secs(args.settle_within_secs)).await?;

    let ledger: serde_json::Value = http
        .get(format!("{gateway}/v1/ledger"))
        .send()
        .await?
        .json()
        .await?;
    let ledger: Vec<LedgerEntry> = serde_json::from_value(ledger["entries"].clone())
        .context("reading the gateway's ledger")?;
    let injected: mock_gateway::Injected = http
        .get(format!("{gateway}/v1/faults/injected"))
        .send()
        .await?
        .json()
        .await
        .context("reading the gateway's fault counts")?;
    let by_status: BTreeMap<String, i64> =
        sqlx::query_as("SELECT status::text, count(*) FROM orders GROUP BY 1 ORDER BY 1")
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect();
    let dead_tasks: BTreeMap<String, i64> = sqlx::query_as(
        "SELECT kind, count(*) FROM tasks WHERE state = 'dead' GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();
    let slowloris = slowloris.stop().await;
    log.exited.extend(system.exited());
    // Stopped first, so that the logs are complete when they are scanned.
    system.stop("").await;
    let exchanges = shopper.exchanges.all();
    let receivers: Vec<ReceiverRecord> = receivers
        .iter()
        .map(|(record, receiver)| ReceiverRecord {
            received: receiver.received(),
            ..record.clone()
        })
        .collect();
    let mailed = evidence::confirmations(&system.logs().join("mail"))?;
    let recorded = RunRecord {
        ledger: &ledger,
        outcomes: &outcomes,
        shopper_failures: &shopper_failures,
        exchanges: &exchanges,
        mayhem: &log,
        initial_stock: &initial_stock,
        mailed: &mailed,
        slowloris: &slowloris,
        receivers: &receivers,
    };
    let evidence = Evidence::gather(pool, system.logs(), recorded).await?;
    let checks = invariants::check(&evidence);
    let mailed_twice = mailed.values().filter(|&&n| n > 1).count();
    let summary = Summary {
        mailed_twice,
        dead_tasks: &dead_tasks,
        orders: args.orders,
        by_status: &by_status,
        outcomes: &outcomes,
        exchanges: &exchanges,
        mayhem: &log,
        gateway: injected,
        load_time,
        quiescence,
        checks: &checks,
        slowloris: &slowloris,
    };
    print!("{}", summary.render());
    let violations: usize = checks.iter().map(|c| c.violations.len()).sum();
    println!(
        "\n{} invariants checked, {violations} violations (seed {seed})",
        checks.len()
    );
    Ok(violations == 0 && quiescence.is_some())
}

/// The webhook receivers' retry schedule: fifteen tries within about 20 s.
const WEBHOOK_RETRY_SCHEDULE: &str = "200ms,500ms,1s,1s,1s,2s,2s,2s,2s,2s,2s,2s,2s,2s";

/// Two webhook receivers, each refusing a share of requests with 503: one
/// subscribed to every event, one to the outcomes only. Returns each with
/// what its endpoint subscribed to.
async fn webhook_receivers(
    api: &str,
    admin_key: &str,
) -> anyhow::Result<Vec<(ReceiverRecord, WebhookReceiver)>> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut receivers = Vec::new();
    for (name, types, flaky) in [
        ("every-event receiver", vec![], 0.3),
        (
            "outcomes receiver",
            vec!["order.completed", "order.failed", "order.refunded"],
            0.2,
        ),
    ] {
        let receiver = WebhookReceiver::start().await?;
        receiver.set_flaky(flaky);
        let created: serde_json::Value = http
            .post(format!("{api}/v1/webhook-endpoints"))
            .bearer_auth(admin_key)
            .json(&serde_json::json!({ "url": receiver.url, "event_types": types, "description": name }))
            .send()
            .await?
            .error_for_status()
            .with_context(|| format!("creating the endpoint of the {name}"))?
            .json()
            .await?;
        let secret = created["secret"]
            .as_str()
            .context("the created endpoint has no secret")?;
        receiver.trust(secret);
        let record = ReceiverRecord {
            name,
            types: types.iter().map(|t| (*t).to_owned()).collect(),
            received: Vec::new(),
        };
        receivers.push((record, receiver));
    }
    Ok(receivers)
}

/// Adds the products with scarce stock; returns the stock per sku.
async fn seed_catalog(pool: &PgPool, orders: u64) -> anyhow::Result<BTreeMap<String, i64>> {
    let stock = mayhem::initial_stock(orders, PRODUCTS.len());
    let mut initial = BTreeMap::new();
    for (sku, price) in PRODUCTS {
        sqlx::query(
            "INSERT INTO products (sku, name, price_cents, currency, stock)
             VALUES ($1, 'Chaos item ' || $1, $2, 'USD', $3)",
        )
        .bind(sku)
        .bind(price)
        .bind(stock)
        .execute(pool)
        .await
        .context("seeding the catalog")?;
        initial.insert(sku.to_owned(), stock);
    }
    Ok(initial)
}

/// Starts the shoppers at `--rate` and waits for every one of them.
async fn shop(
    args: &ChaosArgs,
    seed: u64,
    catalog: &Catalog,
    shopper: &Shopper,
    started: &AtomicU64,
) -> (Vec<shoppers::Purchase>, Vec<String>) {
    let mut shoppers = JoinSet::new();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut report = Instant::now();
    for n in 0..args.orders {
        ticks.tick().await;
        let plan = Plan::new(seed, n, catalog);
        let shopper = shopper.clone();
        shoppers.spawn(async move { (n, shopper.shop(plan).await) });
        started.fetch_add(1, Ordering::Relaxed);
        if report.elapsed() >= Duration::from_secs(5) {
            report = Instant::now();
            eprintln!("chaos: {} of {} orders started", n + 1, args.orders);
        }
    }
    let mut outcomes = Vec::with_capacity(args.orders as usize);
    // A shopper that died took its order's story with it: the run fails.
    let mut failures = Vec::new();
    while let Some(done) = shoppers.join_next().await {
        match done {
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => {
                tracing::error!(%error, "a shopper task failed");
                failures.push(format!("a shopper task failed: {error}"));
            }
        }
    }
    outcomes.sort_by_key(|(n, _)| *n);
    let purchases = outcomes.into_iter().map(|(_, outcome)| outcome).collect();
    (purchases, failures)
}

/// A free address on the loopback for the API, kept across its restart.
fn free_address() -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.to_string())
}
