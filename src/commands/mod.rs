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
        Command::Migrate { database } => migrate::run(database).await,
        Command::Worker {
            database,
            worker,
            gateway,
            mail,
            metrics,
        } => worker::run(database, worker, gateway, mail, metrics).await,
        Command::Api {
            database,
            listen,
            bootstrap,
            metrics,
            admission,
            shutdown_grace_secs,
        } => {
            api::run(api::Settings {
                database,
                listen,
                bootstrap,
                metrics,
                admission,
                shutdown_grace_secs,
            })
            .await
        }
        Command::MockGateway {
            listen_addr,
            faults,
        } => mock_gateway::run(&listen_addr, faults).await,
        Command::Openapi => {
            print!("{}", ::api::openapi_json());
            Ok(())
        }
        Command::Dev {
            database,
            listen,
            bootstrap,
            metrics,
            admission,
            worker,
            gateway_url,
            gateway_timeout_ms,
            mail,
            faults,
        } => {
            dev::run(dev::Settings {
                database,
                listen,
                bootstrap,
                metrics,
                admission,
                worker,
                gateway_url,
                gateway_timeout_ms,
                mail,
                faults,
            })
            .await
        }
        Command::Database { database } => database::run(database).await,
        Command::Keys { database, action } => keys::run(database, action).await,
    }
}
