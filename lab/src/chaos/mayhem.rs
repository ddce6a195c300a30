//! The faults a chaos run injects into the processes and the database while
//! the shoppers place orders (the gateway's own faults are its settings):
//!
//! - every tick, a random worker is SIGKILLed and a replacement started;
//! - every other tick, every connection of the workers and the API is
//!   terminated by the server (`pg_terminate_backend`): connection loss in
//!   the middle of steps and requests;
//! - once a third of the orders are out, the API is SIGKILLed and restarted
//!   on the same address;
//! - once half are out, every worker is SIGKILLed at once (a bad rollout)
//!   and new ones start a tick later, so orders wait in the queue and some
//!   cancellations land before their payment starts;
//! - once two thirds are out, PostgreSQL is crashed and restarted
//!   (`pg_ctl restart --mode=immediate`: recovery from the WAL), or with
//!   `--failover` its primary is killed and the standby promoted;
//! - at a quarter and at three quarters, every product is restocked through
//!   the API (so stock conservation has restocks to account for).
//!
//! The faults run one after another, never two at once, and every one is
//! written down with its time for the checks and the summary.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use testkit::pgbouncer::PgBouncer;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::database::RunDatabase;
use super::shoppers::Catalog;
use testkit::system::System;

/// What was done, and when.
#[derive(Debug, Default)]
pub struct MayhemLog {
    pub workers_killed: u64,
    /// When no worker was running (the outage at half-time).
    pub workers_out: Vec<(Instant, Instant)>,
    /// When the API was down: from the kill to the replacement's `ready`.
    pub api_down: Vec<(Instant, Instant)>,
    /// When PostgreSQL was down: from the crash to `pg_ctl` reporting it up.
    pub postgres_down: Vec<(Instant, Instant)>,
    /// What that fault was (a crash-restart, or a failover).
    pub postgres_fault: &'static str,
    pub connections_cut: u64,
    /// When connections were cut (a request in flight then may be a 503):
    /// from sending `pg_terminate_backend` to its answer, since a request
    /// can fail, and its shopper record the 503, before that answer is read.
    pub connections_cut_during: Vec<(Instant, Instant)>,
    /// Of the connections cut, those inside a statement or a transaction.
    pub connections_cut_mid_work: u64,
    /// Restocks of the whole catalog carried out (two are scheduled).
    pub restocks_done: u32,
    /// Units added per sku by restocks that the API confirmed.
    pub restocked: BTreeMap<String, i64>,
    /// Restocks that got no 200 (whether they were applied is unknown).
    pub restock_problems: Vec<String>,
    /// Processes found dead that nobody killed.
    pub exited: Vec<String>,
}

/// Everything the faults need to reach.
pub struct Mayhem {
    pub system: System,
    pub cluster: Arc<RunDatabase>,
    /// The pooler the processes go through, when they do.
    pub bouncer: Option<Arc<PgBouncer>>,
    /// Connections for `pg_terminate_backend`, to the primary.
    pub admin: PgPool,
    pub api_addr: String,
    pub api_url: String,
    pub admin_key: String,
    pub http: reqwest::Client,
    pub catalog: Catalog,
    pub worker_env: Vec<(&'static str, String)>,
    /// Workers kept running.
    pub workers: u64,
    pub workers_started: usize,
    pub seed: u64,
    pub kill_every: Duration,
    /// Orders the shoppers have started, out of `orders`.
    pub started: Arc<AtomicU64>,
    pub orders: u64,
}

/// Faults due at a share of the orders started, each done once.
#[derive(Debug, Default)]
struct Milestones {
    first_restock: bool,
    api_killed: bool,
    workers_out: bool,
    postgres_crashed: bool,
    second_restock: bool,
}

impl Mayhem {
    /// Injects faults until `stop`; hands the system back with the log.
    pub async fn run(mut self, stop: CancellationToken) -> anyhow::Result<(System, MayhemLog)> {
        let mut log = MayhemLog::default();
        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut done = Milestones::default();
        let mut ticks = tokio::time::interval_at(Instant::now() + self.kill_every, self.kill_every);
        // A slow tick (a worker slow to start) delays the next, never bunches them.
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for tick in 0u64.. {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = ticks.tick() => {}
            }
            log.exited.extend(self.system.exited());
            let progress = self.started.load(Ordering::Relaxed) as f64 / self.orders.max(1) as f64;
            if progress >= 0.25 && !done.first_restock {
                done.first_restock = true;
                self.restock(&mut log).await;
            }
            if progress >= 1.0 / 3.0 && !done.api_killed {
                done.api_killed = true;
                self.kill_api(&mut log).await?;
            }
            if progress >= 0.5 && !done.workers_out {
                done.workers_out = true;
                self.kill_every_worker(&mut log).await?;
            }
            if progress >= 2.0 / 3.0 && !done.postgres_crashed {
                done.postgres_crashed = true;
                self.crash_postgres(&mut log).await?;
            }
            if progress >= 0.75 && !done.second_restock {
                done.second_restock = true;
                self.restock(&mut log).await;
            }
            self.kill_a_worker(&mut rng, &mut log).await?;
            if tick % 2 == 1 {
                self.cut_connections(&mut log).await;
            }
        }
        Ok((self.system, log))
    }

    async fn kill_a_worker(&mut self, rng: &mut StdRng, log: &mut MayhemLog) -> anyhow::Result<()> {
        let workers: Vec<String> = self
            .system
            .running()
            .into_iter()
            .filter(|name| name.starts_with("worker-"))
            .collect();
        if !workers.is_empty() {
            let victim = &workers[rng.random_range(0..workers.len())];
            if self.system.kill(victim).await {
                log.workers_killed += 1;
            }
        }
        self.start_worker().await
    }

    /// Kills every worker, waits a tick with none, and starts new ones.
    async fn kill_every_worker(&mut self, log: &mut MayhemLog) -> anyhow::Result<()> {
        let out = Instant::now();
        for name in self.system.running() {
            if name.starts_with("worker-") && self.system.kill(&name).await {
                log.workers_killed += 1;
            }
        }
        // The outage itself: orders keep arriving and wait in the queue.
        tokio::time::sleep(self.kill_every).await;
        for _ in 0..self.workers {
            self.start_worker().await?;
        }
        log.workers_out.push((out, Instant::now()));
        tracing::warn!("chaos: every worker was SIGKILLed, and new ones started");
        Ok(())
    }

    /// Starts the next worker (`worker-<n>`, numbered from 1 over the run).
    pub async fn start_worker(&mut self) -> anyhow::Result<()> {
        self.workers_started += 1;
        self.system
            .start_worker(self.workers_started, &self.worker_env)
            .await
            .context("starting a worker")
    }

    async fn kill_api(&mut self, log: &mut MayhemLog) -> anyhow::Result<()> {
        let down = Instant::now();
        self.system.kill("api").await;
        self.system
            .start_api_as("api-restarted", &self.api_addr, &self.admin_key, 8)
            .await
            .context("restarting the API")?;
        log.api_down.push((down, Instant::now()));
        tracing::warn!("chaos: the API was SIGKILLed and restarted");
        Ok(())
    }

    async fn crash_postgres(&mut self, log: &mut MayhemLog) -> anyhow::Result<()> {
        let down = Instant::now();
        let (cluster, bouncer) = (Arc::clone(&self.cluster), self.bouncer.clone());
        tokio::task::spawn_blocking(move || cluster.fault(bouncer.as_deref()))
            .await?
            .with_context(|| self.cluster.fault_name().to_owned())?;
        log.postgres_down.push((down, Instant::now()));
        log.postgres_fault = self.cluster.fault_name();
        if self.cluster.failed_over() {
            self.admin = PgPoolOptions::new()
                .max_connections(2)
                .connect_lazy(&self.cluster.url("chaos"))?;
        }
        tracing::warn!("chaos: {}", self.cluster.fault_name());
        Ok(())
    }

    /// Has the server terminate every connection of the workers and the API.
    async fn cut_connections(&self, log: &mut MayhemLog) {
        let sent = Instant::now();
        let cut: Result<(i64, i64), sqlx::Error> = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE state <> 'idle')
             FROM (SELECT pg_terminate_backend(pid), state
                   FROM pg_stat_activity
                   WHERE application_name IN ('asynccheckout-worker', 'asynccheckout-api')
                     AND datname = current_database()) AS cut",
        )
        .fetch_one(&self.admin)
        .await;
        match cut {
            Ok((all, mid_work)) => {
                log.connections_cut_during.push((sent, Instant::now()));
                log.connections_cut += all as u64;
                log.connections_cut_mid_work += mid_work as u64;
            }
            // The admin pool itself may be reconnecting after the crash.
            Err(error) => tracing::warn!(%error, "chaos: could not cut connections this time"),
        }
    }

    /// Restocks every product by a share of what the run will order.
    async fn restock(&self, log: &mut MayhemLog) {
        log.restocks_done += 1;
        let quantity = restock_quantity(self.orders, self.catalog.skus.len());
        for sku in &self.catalog.skus {
            let answer = self
                .http
                .post(format!("{}/v1/products/{sku}/restock", self.api_url))
                .json(&json!({ "quantity": quantity }))
                .send()
                .await;
            match answer {
                Ok(response) if response.status() == 200 => {
                    *log.restocked.entry(sku.clone()).or_default() += quantity;
                }
                Ok(response) => log
                    .restock_problems
                    .push(format!("restocking {sku} answered {}", response.status())),
                Err(error) => log
                    .restock_problems
                    .push(format!("restocking {sku} got no answer: {error}")),
            }
        }
    }
}

/// Units of each product at the start: scarce enough that roughly a fifth of
/// the orders find their stock gone after they were paid.
pub fn initial_stock(orders: u64, skus: usize) -> i64 {
    // An order asks for three units on average (1.5 lines of 1–3), and about
    // 80% are paid; the two restocks add a fifth of the orders' units more.
    (orders as f64 * 1.25 / skus.max(1) as f64).ceil() as i64
}

/// Units each restock adds per product.
pub fn restock_quantity(orders: u64, skus: usize) -> i64 {
    ((orders as f64 * 0.3 / skus.max(1) as f64).ceil() as i64).clamp(1, 1_000_000)
}
