//! Scratch databases: each benchmark works in a database of its own on the
//! chosen server, created for the run and dropped after it.

use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

static NEXT: AtomicU32 = AtomicU32::new(0);

pub struct ScratchDatabase {
    pub name: String,
    pub url: String,
    options: PgConnectOptions,
    server: PgConnectOptions,
}

impl ScratchDatabase {
    /// Creates `asynccheckout_<label>_<pid>_<n>` on the server `server_url`
    /// names.
    pub async fn create(server_url: &str, label: &str) -> anyhow::Result<Self> {
        let server = maintenance(server_url)?;
        let name = format!(
            "asynccheckout_{label}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect_with(&server)
            .await
            .context("connecting to PostgreSQL to create a scratch database")?;
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await?;
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .with_context(|| format!("creating the scratch database {name}"))?;
        admin.close().await?;
        // A plain URL (not sqlx's own rendering) so that libpq tools take it too.
        let mut url = reqwest::Url::parse(server_url).context("the database URL")?;
        url.set_path(&name);
        let options = server.clone().database(&name);
        Ok(Self {
            url: url.to_string(),
            name,
            options,
            server,
        })
    }

    /// A pool of up to `connections` to the scratch database.
    pub async fn pool(&self, connections: u32) -> anyhow::Result<PgPool> {
        Ok(PgPoolOptions::new()
            .max_connections(connections)
            .connect_with(self.options.clone())
            .await?)
    }

    /// Drops the database, disconnecting whoever is still in it.
    pub async fn drop_now(self) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect_with(&self.server).await?;
        sqlx::raw_sql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await
        .with_context(|| format!("dropping the scratch database {}", self.name))?;
        Ok(())
    }
}

/// The server's `postgres` database, where scratch databases are made and
/// dropped (the configured database may not exist yet).
pub fn maintenance(server_url: &str) -> anyhow::Result<PgConnectOptions> {
    let options: PgConnectOptions = server_url.parse().context("the database URL")?;
    Ok(options.database("postgres"))
}

/// Drops the scratch databases of bench runs whose process is gone (killed
/// before it could clean up), so they don't pile up on the server.
pub async fn drop_abandoned(server: &PgConnectOptions) -> anyhow::Result<()> {
    let mut admin = PgConnection::connect_with(server).await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database
         WHERE datname ~ '^asynccheckout_(bench|ceiling)_[0-9]+_[0-9]+$'",
    )
    .fetch_all(&mut admin)
    .await?;
    for name in names {
        let pid = name.split('_').nth(2).unwrap_or_default();
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await?;
        tracing::info!(database = %name, "dropped the scratch database of a bench run that was killed");
    }
    Ok(())
}
