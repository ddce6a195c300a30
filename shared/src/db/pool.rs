//! The connection pool and the session settings every connection gets.
//!
//! Every connection runs with `idle_in_transaction_session_timeout` and
//! `statement_timeout`, so none of ours can become the forgotten transaction
//! that pins vacuum or holds row locks, and no query can hang a worker forever.
//! Directly connected, they are sent at connect; behind a transaction pooler,
//! which refuses that, each [`super::Session`] sets them for its transaction.

use std::time::Duration;

use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

use super::pooler::{self, Pooler};

/// Server-side cap on any one statement.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Server-side cap on a transaction sitting idle between statements.
pub const IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

/// How a process sizes and guards its pool.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Upper bound on open connections from this process.
    pub max_connections: u32,
    /// How long a caller waits for a free connection before failing.
    pub acquire_timeout: Duration,
    /// Server-side cap on any one statement.
    pub statement_timeout: Duration,
    /// Server-side cap on a transaction sitting idle between statements.
    pub idle_in_transaction_timeout: Duration,
    /// Shown in `pg_stat_activity.application_name`.
    pub application_name: String,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
            statement_timeout: STATEMENT_TIMEOUT,
            idle_in_transaction_timeout: IDLE_IN_TRANSACTION_TIMEOUT,
            application_name: "asynccheckout".to_owned(),
        }
    }
}

/// Opens a pool to `url` with `settings`. Connections are opened lazily, so
/// this succeeds while the server is down; callers that need the server now
/// run a query.
pub fn connect(url: &str, settings: &PoolSettings) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    let options = options.application_name(&settings.application_name);
    let options = match pooler::configured() {
        Pooler::None => with_session_timeouts(options, settings),
        // A statement cached on one server connection is gone on the next;
        // PgBouncer refuses startup parameters it does not know (sqlx sends
        // extra_float_digits = 2; the server's default, 1, is as exact).
        Pooler::Transaction => options.statement_cache_capacity(0).extra_float_digits(None),
    };
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_lazy_with(options))
}

fn with_session_timeouts(options: PgConnectOptions, settings: &PoolSettings) -> PgConnectOptions {
    options.options([
        ("statement_timeout", millis(settings.statement_timeout)),
        (
            "idle_in_transaction_session_timeout",
            millis(settings.idle_in_transaction_timeout),
        ),
    ])
}

/// A pool of one connection for one `PgListener` and nothing else, or
/// `None` when this process cannot LISTEN: behind a transaction pooler with
/// no `LISTEN_DATABASE_URL`. It connects to `LISTEN_DATABASE_URL` when that
/// is set, otherwise as `pool` does.
///
/// A listener must not borrow from the pool that serves queries: sqlx hands
/// a listener's connection back to its pool when it drops or reconnects it,
/// and a query that then gets that connection can fail on a notification
/// meant for the listener ("unexpected message: NotificationResponse", seen
/// as a 500 after a PostgreSQL restart).
pub fn listener_pool(pool: &PgPool) -> Result<Option<PgPool>, sqlx::Error> {
    let options = match (pooler::listen_url(), pooler::configured()) {
        (Some(url), _) => {
            let direct: PgConnectOptions = url.parse()?;
            let name = pool
                .connect_options()
                .get_application_name()
                .map(str::to_owned);
            let direct = match name {
                Some(name) => direct.application_name(&name),
                None => direct,
            };
            with_session_timeouts(direct, &PoolSettings::default())
        }
        (None, Pooler::None) => pool.connect_options().as_ref().clone(),
        (None, Pooler::Transaction) => return Ok(None),
    };
    Ok(Some(
        PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with(options),
    ))
}

/// Creates the database `url` names when it does not exist yet.
pub async fn ensure_database_exists(url: &str) -> Result<(), sqlx::Error> {
    if !Postgres::database_exists(url).await? {
        match Postgres::create_database(url).await {
            Ok(()) => tracing::info!("created the database"),
            // Another process created it first.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn millis(duration: Duration) -> String {
    format!("{}ms", duration.as_millis())
}
