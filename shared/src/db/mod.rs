//! Database access: the connection pool every process shares, the schema
//! migrations, and the bootstrap that finds or starts a PostgreSQL server when
//! none is configured.

mod availability;
pub mod bootstrap;
mod filtered_lists;
mod pool;
pub mod pooler;
mod session;

pub use availability::{is_retryable_conflict, is_unavailable};
pub use filtered_lists::custom_plans;
pub use pool::{
    IDLE_IN_TRANSACTION_TIMEOUT, PoolSettings, STATEMENT_TIMEOUT, connect, ensure_database_exists,
    listener_pool,
};
pub use pooler::Pooler;
pub use session::Session;

/// The schema migrations in `migrations/`, embedded in the binary. `sqlx
/// migrate run` applies the same files; either takes an advisory lock, so
/// processes starting together apply each migration once.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Whether every embedded migration has been applied (and none has been
/// changed since). `false` means this binary expects a newer schema.
pub async fn migrations_are_current(pool: &sqlx::PgPool) -> Result<bool, sqlx::Error> {
    let applied: Vec<(i64, Vec<u8>)> = match sqlx::query_as(
        "SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version",
    )
    .fetch_all(&mut *Session::acquire(pool).await?)
    .await
    {
        Ok(rows) => rows,
        // No bookkeeping table yet: nothing has been applied.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => return Ok(false),
        Err(e) => return Err(e),
    };
    Ok(MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .all(|m| {
            applied
                .iter()
                .any(|(version, checksum)| *version == m.version && checksum[..] == m.checksum[..])
        }))
}
