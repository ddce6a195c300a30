//! The lab's command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Measure AsyncCheckout and break it on purpose: `bench` and `chaos`.
#[derive(Debug, Parser)]
#[command(name = "asynccheckout-lab", version)]
pub struct Cli {
    /// The product binary whose roles are started (default: `asynccheckout`
    /// next to this program, as `cargo build` leaves it).
    #[arg(long, env = "ASYNCCHECKOUT_BIN", global = true)]
    pub product: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure throughput and latency against PostgreSQL's own ceiling on
    /// this machine, in scratch databases (see BENCHMARKS.md).
    Bench {
        #[command(flatten)]
        database: crate::bench::ServerArgs,
        #[command(flatten)]
        bench: crate::bench::BenchArgs,
    },
    /// Run the whole system under faults on a private PostgreSQL cluster:
    /// kill workers, the API and the database, break the gateway, then check
    /// that no accepted order was lost and no money is wrong (see
    /// RELIABILITY.md). Exits 1 on any violation.
    Chaos {
        #[command(flatten)]
        chaos: crate::chaos::ChaosArgs,
    },
}
