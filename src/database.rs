//! From the command line's database settings to a ready pool: bootstrap a
//! server if none is configured, create the database, apply migrations.

use anyhow::Context;
use shared::db::{self, PoolSettings, Pooler, bootstrap};
use sqlx::PgPool;

use crate::cli::DatabaseArgs;

/// A pool, and the private cluster behind it if we started one: keep this
/// alive for as long as the pool is used; dropping it stops that cluster.
pub struct Database {
    pub pool: PgPool,
    /// The connection string settled on (it may carry a password: don't log it).
    pub url: String,
    _cluster: Option<bootstrap::PrivateCluster>,
}

/// Settles on a server, makes sure the database exists and, when asked,
/// applies the migrations.
pub async fn open(args: &DatabaseArgs, application_name: &str) -> anyhow::Result<Database> {
    open_with(args, application_name, Start::AsItIs).await
}

/// Whether the database is kept or made anew.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    AsItIs,
    /// Dropped (with every connection to it) and created empty: `dev --reset`.
    Afresh,
}

/// [`open`], dropping the database first when `start` says so.
pub async fn open_with(
    args: &DatabaseArgs,
    application_name: &str,
    start: Start,
) -> anyhow::Result<Database> {
    let configured = args.configured_url();
    db::pooler::configure(args.database_pooler, args.listen_url().map(str::to_owned));
    if args.database_pooler == Pooler::Transaction {
        tracing::info!(
            listen = args.listen_url().is_some(),
            "DATABASE_URL goes through a transaction pooler: every unit of work is one transaction"
        );
    }
    let found = bootstrap::resolve(configured, &args.data_dir).await?;
    tracing::info!(source = found.source, "using PostgreSQL");
    if start == Start::Afresh {
        use sqlx::migrate::MigrateDatabase;
        if sqlx::Postgres::database_exists(&found.url).await? {
            sqlx::Postgres::force_drop_database(&found.url)
                .await
                .context("could not drop the development database to start afresh")?;
            tracing::warn!("dropped the development database: starting afresh");
        }
    }
    // Creating the database means connecting to another one (`postgres`),
    // which a pooler or a least-privilege role does not offer: only when
    // asked, or on a server we found ourselves (development).
    if args.create_database || configured.is_none() {
        db::ensure_database_exists(&found.url).await.context(
            "could not reach PostgreSQL to create the database (is DATABASE_URL right?)",
        )?;
    }
    let settings = PoolSettings {
        max_connections: args.database_max_connections,
        application_name: application_name.to_owned(),
        ..PoolSettings::default()
    };
    let pool =
        db::connect(&found.url, &settings).context("DATABASE_URL is not a valid PostgreSQL URL")?;
    refuse_a_missing_database(&pool).await?;
    if args.migrate_on_start {
        match args.database_pooler {
            Pooler::None => migrate(&pool).await?,
            Pooler::Transaction => refuse_an_old_schema(&pool).await?,
        }
    }
    Ok(Database {
        pool,
        url: found.url,
        _cluster: found.cluster,
    })
}

/// Fails when the database DATABASE_URL names does not exist, saying how to
/// create it. Any other failure to connect is only logged: the process
/// starts while the server is down, and its readiness probe says so.
async fn refuse_a_missing_database(pool: &PgPool) -> anyhow::Result<()> {
    let reached = match db::Session::acquire(pool).await {
        Ok(mut session) => sqlx::query("SELECT 1").execute(&mut *session).await,
        Err(e) => Err(e),
    };
    match reached {
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {
            anyhow::bail!(
                "{e}: create it with `asynccheckout migrate` (which creates the database and \
                 applies the migrations), or let this command create it with \
                 CREATE_DATABASE=true"
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot reach the database yet; starting anyway");
            Ok(())
        }
        Ok(_) => Ok(()),
    }
}

/// The connections to PostgreSQL a process may hold at most: its pool
/// (`DATABASE_MAX_CONNECTIONS`) and `dedicated` ones of its own (a worker's
/// LISTENing connection, the API's event feed). Logged at start and
/// exported as `asynccheckout_db_connections_max`, so that an operator can
/// add up pods × this against the server's `max_connections` (README,
/// "Connection budget").
pub fn state_connection_budget(pool: &PgPool, dedicated: u32) {
    let pooled = pool.options().get_max_connections();
    let most = pooled + dedicated;
    tracing::info!(
        most,
        pooled,
        dedicated,
        "this process holds at most {most} PostgreSQL connections"
    );
    metrics::gauge!("asynccheckout_db_connections_max").set(f64::from(most));
}

/// Behind a transaction pooler, where migrating is not possible: fails when
/// the schema is older than this binary, saying how to migrate it.
async fn refuse_an_old_schema(pool: &PgPool) -> anyhow::Result<()> {
    match db::migrations_are_current(pool).await {
        Ok(true) => Ok(()),
        Ok(false) => anyhow::bail!(
            "the database schema is older than this binary, and migrations cannot run through a \
             transaction pooler: run `asynccheckout migrate` with DATABASE_URL pointing at \
             PostgreSQL itself (and DATABASE_POOLER unset) first"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "cannot check the database schema yet; starting anyway");
            Ok(())
        }
    }
}

/// Applies the pending migrations. They hold a session advisory lock, which
/// a transaction pooler would leave on whichever server it happened to be
/// taken on: callers run this on a direct connection only.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    shared::MIGRATOR
        .run(pool)
        .await
        .context("applying the database migrations failed")?;
    // An index built CONCURRENTLY whose build failed stays, INVALID, and a
    // rerun's IF NOT EXISTS keeps it: the migration counts as applied and
    // the index serves nothing.
    let invalid: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text
         FROM pg_index AS i
         JOIN pg_class AS c ON c.oid = i.indexrelid
         WHERE NOT i.indisvalid AND c.relnamespace = current_schema()::regnamespace",
    )
    .fetch_all(pool)
    .await
    .context("looking for invalid indexes after migrating")?;
    if !invalid.is_empty() {
        anyhow::bail!(
            "invalid index(es) {} (a CREATE INDEX CONCURRENTLY that failed, or one still \
             building): run DROP INDEX CONCURRENTLY <name>; for each, then migrate again",
            invalid.join(", ")
        );
    }
    tracing::info!("database schema is current");
    Ok(())
}
