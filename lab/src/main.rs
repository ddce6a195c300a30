//! `asynccheckout-lab`: the tools that measure and break AsyncCheckout, kept
//! out of the product. `bench` measures it against PostgreSQL's own ceiling
//! (BENCHMARKS.md); `chaos` runs it under faults and checks that nothing
//! accepted was lost and no money is wrong (RELIABILITY.md). Both start the
//! product binary's roles as real processes.

mod bench;
mod chaos;
mod cli;
mod interrupt;
mod product;

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let product = product::locate(cli.product.as_deref())?;
    match cli.command {
        cli::Command::Bench { database, bench } => bench::run(&product, database, bench).await,
        cli::Command::Chaos { chaos } => chaos::run(&product, chaos).await,
    }
}
