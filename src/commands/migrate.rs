//! `asynccheckout migrate`: create the database if it is missing, apply
//! pending migrations and exit.

use crate::cli::DatabaseArgs;
use crate::database;

pub async fn run(mut args: DatabaseArgs) -> anyhow::Result<()> {
    args.migrate_on_start = true;
    args.create_database = true;
    database::open(&args, "asynccheckout-migrate").await?;
    Ok(())
}
