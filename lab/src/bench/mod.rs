//! `asynccheckout-lab bench <scenario>`: measures the system on this machine
//! against PostgreSQL's own ceiling for the same SQL, measured in the same
//! run (see BENCHMARKS.md for the method and the results).
//!
//! Every scenario works in scratch databases it creates and drops, starts
//! the processes it needs from this binary, shows progress on stderr, and
//! prints a table (or, with `--json`, a JSON report) on stdout.

mod ceiling;
mod db_work;
mod load;
mod machine;
mod progress;
mod report;
mod scenarios;
mod scratch;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::MultiProgress;
use secrecy::{ExposeSecret, SecretString};

use ceiling::{Ceiling, CeilingPlan};
use report::{Measure, Report};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// pgbench on the raw SQL of the hot paths: what the others divide by.
    Ceiling,
    /// Drain a backlog of no-op tasks with one worker process, then two.
    Queue,
    /// Three-hop no-op chains, each hop enqueued by the previous one's completion.
    Chain,
    /// Orders from POST to `completed`, open loop, stepped up to saturation.
    Saga,
    /// `POST /v1/orders` alone, 32 connections, workers stopped.
    Api,
    /// POST → `completed` at a moderate fixed rate, and each hop's wait.
    Latency,
    /// The saga at a fixed rate for a long time: steady throughput, bounded tables.
    Soak,
    /// The `latency` load with and without a slowloris client against the API.
    Hostile,
    /// Order events pushed to thousands of open streams on one API process,
    /// and webhooks to a local receiver.
    Fanout,
    /// The console's pages and counts with millions of tasks and orders.
    Console,
    /// Every scenario but soak, one after another.
    All,
}

/// What to run and how big.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    #[arg(value_enum)]
    pub scenario: Scenario,

    /// Print the report as JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Run each scenario at a tiny size, only to show it works (CI does).
    #[arg(long)]
    pub tiny: bool,

    /// Run the measured part this many times and report the medians.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub repeat: u32,

    /// Seconds pgbench runs each ceiling path.
    #[arg(long, default_value_t = 10)]
    pub ceiling_seconds: u64,

    /// pgbench clients for the ceiling.
    #[arg(long, default_value_t = 8)]
    pub ceiling_clients: u32,

    /// `queue`: no-op tasks in the backlog.
    #[arg(long, default_value_t = 200_000)]
    pub tasks: u64,

    /// `chain`: three-hop chains.
    #[arg(long, default_value_t = 50_000)]
    pub chains: u64,

    /// `queue`/`chain`: steps each worker process runs at once.
    #[arg(long, default_value_t = 1024)]
    pub worker_concurrency: u32,

    /// The API's database connections (DATABASE_MAX_CONNECTIONS).
    #[arg(long, default_value_t = 16)]
    pub api_connections: u32,

    /// `saga`/`latency`/`soak`: worker processes.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,

    /// `saga`/`latency`/`soak`: steps each of those workers runs at once.
    #[arg(long, default_value_t = 128)]
    pub saga_concurrency: u32,

    /// `api`/`latency`/each `saga` rate: seconds of load.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,

    /// `saga`: the rates (orders/s) stepped through, until one is not sustained.
    #[arg(long, value_delimiter = ',', default_values_t = [100.0, 150.0, 200.0, 250.0, 300.0, 400.0, 600.0, 800.0, 1000.0, 1200.0])]
    pub rates: Vec<f64>,

    /// `latency`: orders per second.
    #[arg(long, default_value_t = 50.0)]
    pub latency_rate: f64,

    /// `latency`: seconds of load (after a warm-up of one second).
    #[arg(long, default_value_t = 30)]
    pub latency_seconds: u64,

    /// `hostile`: connections the slowloris client holds against the API.
    #[arg(long, default_value_t = 1_000)]
    pub slow_connections: usize,

    /// `fanout`: shoppers' pages holding a stream each (plus ten dashboards).
    #[arg(long, default_value_t = 5_000)]
    pub streams: usize,

    /// `fanout`: orders per second while the streams are open.
    #[arg(long, default_value_t = 100.0)]
    pub fanout_rate: f64,

    /// `fanout`: seconds of load.
    #[arg(long, default_value_t = 30)]
    pub fanout_seconds: u64,

    /// `console`: tasks in the database.
    #[arg(long, default_value_t = 5_000_000)]
    pub console_tasks: u64,

    /// `console`: orders in the database.
    #[arg(long, default_value_t = 1_000_000)]
    pub console_orders: u64,

    /// `soak`: orders per second; keep it under `saga`'s maximum on the
    /// machine (BENCHMARKS.md's run used 140, 93% of that sitting's maximum).
    #[arg(long, default_value_t = 100.0)]
    pub soak_rate: f64,

    /// `soak`: minutes.
    #[arg(long, default_value_t = 30.0)]
    pub soak_minutes: f64,

    /// Where the processes' logs go (default: a folder under the temp dir).
    #[arg(long)]
    pub logs: Option<PathBuf>,
}

/// The PostgreSQL server the bench makes its scratch databases on.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// PostgreSQL connection string (its database is only used to connect).
    /// When unset: a server on 127.0.0.1:5432 (as $PGUSER, default postgres)
    /// if one answers, otherwise a private cluster in DATA_DIR.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<SecretString>,

    /// Folder for the private PostgreSQL cluster, when one is needed.
    #[arg(long, env = "DATA_DIR", default_value = ".asynccheckout")]
    pub data_dir: PathBuf,
}

impl BenchArgs {
    /// The sizes `--tiny` stands for.
    fn shrunk(mut self) -> Self {
        if self.tiny {
            self.ceiling_seconds = 1;
            self.tasks = 2_000;
            self.chains = 500;
            self.seconds = 2;
            self.rates = vec![50.0, 100.0];
            self.latency_rate = 20.0;
            self.latency_seconds = 2;
            self.slow_connections = 100;
            self.streams = 200;
            self.fanout_rate = 20.0;
            self.fanout_seconds = 2;
            self.console_tasks = 50_000;
            self.console_orders = 10_000;
            self.soak_rate = 40.0;
            self.soak_minutes = 0.25;
            self.repeat = 1;
        }
        self
    }

    fn ceiling_plan(&self) -> CeilingPlan {
        CeilingPlan {
            seconds: self.ceiling_seconds,
            clients: self.ceiling_clients,
            backlog: if self.tiny { 20_000 } else { 200_000 },
        }
    }
}

/// What a scenario hands back: its measures and its processes' peak memory.
#[derive(Debug, Default)]
pub struct ScenarioResult {
    pub measures: Vec<Measure>,
    pub peak_rss_mb: std::collections::BTreeMap<String, f64>,
    /// Time series and the like, for the JSON report.
    pub details: Option<serde_json::Value>,
}

/// Everything a scenario needs.
pub struct Bench {
    /// The product binary whose roles the scenarios start.
    pub product: PathBuf,
    /// The server's URL, as configured or found.
    pub server_url: String,
    pub args: BenchArgs,
    pub progress: MultiProgress,
    pub ceiling: Ceiling,
    pub logs: PathBuf,
}

pub async fn run(product: &Path, database: ServerArgs, args: BenchArgs) -> anyhow::Result<()> {
    let args = args.shrunk();
    let configured = database.database_url.as_ref().map(|u| u.expose_secret());
    let found = shared::db::bootstrap::resolve(configured, &database.data_dir).await?;
    let server = scratch::maintenance(&found.url)?;
    // Keeps a private cluster, if one was started, running until the end.
    let _cluster = found.cluster;
    let logs = args.logs.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("asynccheckout-bench-{}", std::process::id()))
    });
    let scenarios: Vec<Scenario> = match args.scenario {
        Scenario::All => vec![
            Scenario::Ceiling,
            Scenario::Queue,
            Scenario::Chain,
            Scenario::Api,
            Scenario::Latency,
            Scenario::Hostile,
            Scenario::Fanout,
            Scenario::Console,
            Scenario::Saga,
        ],
        one => vec![one],
    };
    let progress = MultiProgress::new();
    scratch::drop_abandoned(&server).await?;
    let machine = {
        let pool = sqlx::PgPool::connect_with(server).await?;
        let machine = machine::describe(&pool).await?;
        pool.close().await;
        machine
    };
    let mut bench = Bench {
        product: product.to_owned(),
        server_url: found.url.clone(),
        args,
        progress,
        ceiling: Ceiling::default(),
        logs,
    };
    // One ceiling for the whole run, measured first, for the paths needed.
    let paths = ceiling_paths(&scenarios);
    if !paths.is_empty() {
        bench.ceiling = ceiling::measure(
            &bench.server_url,
            &bench.args.ceiling_plan(),
            &paths,
            &bench.progress,
        )
        .await?;
    }
    let mut reports = Vec::new();
    for scenario in scenarios {
        let started_at = chrono::Utc::now();
        let started = Instant::now();
        let mut runs = Vec::new();
        let mut peak_rss_mb = std::collections::BTreeMap::new();
        let mut details = Vec::new();
        let repeat = if scenario == Scenario::Ceiling {
            1
        } else {
            bench.args.repeat
        };
        for _ in 0..repeat {
            let outcome = scenarios::run(scenario, &bench).await?;
            for (process, mb) in outcome.peak_rss_mb {
                let peak = peak_rss_mb.entry(process).or_insert(0.0_f64);
                *peak = peak.max(mb);
            }
            runs.push(outcome.measures);
            details.extend(outcome.details);
        }
        let results = report::medians(&runs);
        let report = Report {
            scenario: format!("{scenario:?}").to_lowercase(),
            started_at,
            elapsed_secs: started.elapsed().as_secs_f64(),
            machine: machine.clone(),
            parameters: parameters(scenario, &bench.args),
            ceiling: bench.ceiling.clone(),
            results,
            peak_rss_mb,
            runs: if runs.len() > 1 { runs } else { Vec::new() },
            details,
        };
        if !bench.args.json {
            report.print_table();
        }
        reports.push(report);
    }
    if bench.args.json {
        let json = if reports.len() == 1 {
            serde_json::to_string_pretty(&reports[0])?
        } else {
            serde_json::to_string_pretty(&reports)?
        };
        println!("{json}");
    } else {
        println!("process logs: {}", bench.logs.display());
    }
    Ok(())
}

/// The ceiling lines the scenarios compare against.
fn ceiling_paths(scenarios: &[Scenario]) -> Vec<&'static str> {
    let mut paths = Vec::new();
    for scenario in scenarios {
        let wanted: &[&'static str] = match scenario {
            Scenario::Ceiling => &[
                ceiling::API_WRITE,
                ceiling::API_WRITE_LEAN,
                ceiling::CLAIM_COMPLETE,
                ceiling::CLAIM_THEN_COMPLETE,
                ceiling::BATCH_100,
                ceiling::BATCH_100_PRODUCT,
                ceiling::SAGA,
            ],
            Scenario::Queue => &[ceiling::BATCH_100, ceiling::BATCH_100_PRODUCT],
            Scenario::Chain => &[ceiling::BATCH_100],
            Scenario::Saga => &[ceiling::SAGA, ceiling::API_WRITE],
            Scenario::Api => &[ceiling::API_WRITE, ceiling::API_WRITE_LEAN],
            Scenario::Soak => &[ceiling::API_WRITE],
            Scenario::Latency
            | Scenario::Hostile
            | Scenario::Fanout
            | Scenario::Console
            | Scenario::All => &[],
        };
        for path in wanted {
            if !paths.contains(path) {
                paths.push(*path);
            }
        }
    }
    paths
}

fn parameters(scenario: Scenario, args: &BenchArgs) -> serde_json::Value {
    use serde_json::json;
    match scenario {
        Scenario::Ceiling => {
            json!({ "seconds": args.ceiling_seconds, "clients": args.ceiling_clients })
        }
        Scenario::Queue => {
            json!({ "tasks": args.tasks, "worker_concurrency": args.worker_concurrency, "repeat": args.repeat })
        }
        Scenario::Chain => {
            json!({ "chains": args.chains, "hops": 3, "worker_concurrency": args.worker_concurrency, "repeat": args.repeat })
        }
        Scenario::Api => {
            json!({ "connections": scenarios::API_CONNECTIONS, "seconds": args.seconds, "repeat": args.repeat })
        }
        Scenario::Latency => {
            json!({ "rate": args.latency_rate, "seconds": args.seconds, "workers": args.workers, "repeat": args.repeat })
        }
        Scenario::Saga => {
            json!({ "rates": args.rates, "seconds_per_rate": args.seconds, "workers": args.workers, "worker_concurrency": args.saga_concurrency, "repeat": args.repeat })
        }
        Scenario::Hostile => {
            json!({ "rate": args.latency_rate, "seconds": args.latency_seconds, "slow_connections": args.slow_connections, "workers": args.workers })
        }
        Scenario::Fanout => {
            json!({ "streams": args.streams, "dashboards": 10, "rate": args.fanout_rate, "seconds": args.fanout_seconds, "workers": args.workers })
        }
        Scenario::Soak => {
            json!({ "rate": args.soak_rate, "minutes": args.soak_minutes, "workers": args.workers, "worker_concurrency": args.saga_concurrency })
        }
        Scenario::Console => {
            json!({ "tasks": args.console_tasks, "orders": args.console_orders })
        }
        Scenario::All => json!({}),
    }
}

/// A pause that is not synchronisation: how often progress is sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(500);
