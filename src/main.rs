//! `asynccheckout`: one binary, every role. The subcommand picks it.

use clap::Parser;

mod cli;
mod commands;
mod database;
mod observability;
mod shutdown;
mod telemetry;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    telemetry::init(cli.log_format, std::io::stderr);
    commands::run(cli.command).await
}
