//! `asynccheckout migrate`: create the database if it is missing, apply
//! pending migrations and exit.

use shared::db::Pooler;

use crate::cli::DatabaseArgs;
use crate::database;

pub async fn run(mut args: DatabaseArgs) -> anyhow::Result<()> {
    if args.database_pooler == Pooler::Transaction {
        anyhow::bail!(
            "migrations hold a session advisory lock, which a transaction pooler cannot keep: run \
             `asynccheckout migrate` with DATABASE_URL pointing at PostgreSQL itself and \
             DATABASE_POOLER unset"
        );
    }
    args.migrate_on_start = true;
    args.create_database = true;
    database::open(&args, "asynccheckout-migrate").await?;
    Ok(())
}
