//! One module per subcommand; each turns parsed settings into a running role.

use crate::cli::Command;

mod api;
mod database;
mod dev;
mod keys;
mod migrate;
mod mock_gateway;
mod worker;

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Migrate(database) => migrate::run(database).await,
        Command::Worker(args) => worker::run(args).await,
        Command::Api(args) => api::run(args).await,
        Command::MockGateway(args) => mock_gateway::run(args).await,
        Command::Openapi => {
            print!("{}", ::api::openapi_json());
            Ok(())
        }
        Command::Dev(args) => dev::run(args).await,
        Command::Database(database) => database::run(database).await,
        Command::Keys { database, action } => keys::run(database, action).await,
    }
}
