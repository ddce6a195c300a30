//! One module per subcommand; each turns parsed settings into a running role.

use anyhow::bail;

use crate::cli::Command;

mod database;
mod dev;
mod migrate;
mod worker;

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Migrate { database } => migrate::run(database).await,
        Command::Worker { database, worker } => worker::run(database, worker).await,
        Command::Dev { database, worker } => dev::run(database, worker).await,
        Command::Database { database } => database::run(database).await,
        Command::Api => not_yet("api", "the order saga (issue #3)"),
        Command::MockGateway => not_yet("mock-gateway", "the order saga (issue #3)"),
        Command::Keys => not_yet("keys", "API keys (issue #4)"),
    }
}

fn not_yet(command: &str, arrives_with: &str) -> anyhow::Result<()> {
    bail!("`asynccheckout {command}` is not built yet; it arrives with {arrives_with}")
}
