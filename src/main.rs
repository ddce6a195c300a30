//! `asynccheckout`: one binary, every role. The subcommand picks it.

use clap::Parser;

mod cli;
mod commands;
mod database;
mod logs_and_traces;
mod metrics_port;
mod shutdown;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A build with crash points arms those named in FAILPOINTS.
    #[cfg(feature = "failpoints")]
    let _crash_points = fail::FailScenario::setup();
    let cli = cli::Cli::parse();
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let _logs_and_traces = logs_and_traces::init(
        cli.log_format,
        colour,
        std::io::stderr,
        &cli.command.service_name(),
    );
    commands::run(cli.command).await
}
