//! `asynccheckout database`: the development database on its own, for
//! scripts (the test command) that need a PostgreSQL URL.

use crate::cli::DatabaseArgs;
use crate::{database, shutdown};

pub async fn run(mut args: DatabaseArgs) -> anyhow::Result<()> {
    args.create_database = true;
    let shutdown = shutdown::on_signal()?;
    let db = database::open(&args, "asynccheckout-database").await?;
    println!("ready database_url={}", db.url);
    shutdown.cancelled().await;
    db.pool.close().await;
    Ok(())
}
