//! Finding a PostgreSQL server when none is configured.
//!
//! In order:
//! 1. `DATABASE_URL`, when set, is used as it is.
//! 2. A server answering on `127.0.0.1:5432` that lets `$PGUSER` (default
//!    `postgres`) in without a password is used, with the database
//!    [`DEFAULT_DATABASE`].
//! 3. Otherwise a private cluster is created (once) and started from the
//!    machine's own PostgreSQL binaries (`initdb`/`pg_ctl` on `PATH`, in
//!    `pg_config --bindir`, or under `/usr/lib/postgresql/*/bin`) in a folder
//!    of the project's; it listens on a free port on 127.0.0.1 only and is
//!    stopped when the [`PrivateCluster`] is dropped.
//! 4. With none of these, the error names the ways out.
//!
//! PostgreSQL refuses to run as root; when we are root the private cluster
//! runs as the `postgres` system user that the distribution's packages create.
//! That user must be able to reach the cluster's folder. When a parent folder
//! is closed to it (a checkout under `/root`, or any folder of mode 0700), the
//! cluster is kept in a folder of its own under the system's temporary
//! directory instead, named after the requested folder so that the next start
//! finds it again; the log says where, and `pgdata` in the requested folder
//! links to it.

mod private_cluster;
mod server_user;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sqlx::Connection;

pub use private_cluster::{PrivateCluster, running_as_root};
pub use server_user::fallback_home;

/// The database used when the URL is not given.
pub const DEFAULT_DATABASE: &str = "asynccheckout";

/// The server the bootstrap settled on.
#[derive(Debug)]
pub struct Bootstrapped {
    /// Connection string including the database name.
    pub url: String,
    /// Set when we started a private cluster; dropping it stops the server.
    pub cluster: Option<PrivateCluster>,
    /// Where the server came from, for the log.
    pub source: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(
        "no PostgreSQL server is configured or running, and no PostgreSQL binaries were found \
         to start a private one. Either set DATABASE_URL (for example \
         postgres://user:password@host:5432/asynccheckout), install PostgreSQL \
         (Debian/Ubuntu: apt-get install postgresql), or run `docker compose up`"
    )]
    NoServer,
    #[error("could not start a private PostgreSQL cluster in {dir}: {reason}")]
    PrivateCluster { dir: PathBuf, reason: String },
}

/// Settles on a server: `configured` when given, else a local one, else a
/// private cluster under `data_dir`.
pub async fn resolve(
    configured: Option<&str>,
    data_dir: &Path,
) -> Result<Bootstrapped, BootstrapError> {
    if let Some(url) = configured {
        return Ok(Bootstrapped {
            url: url.to_owned(),
            cluster: None,
            source: "DATABASE_URL",
        });
    }
    let user = std::env::var("PGUSER").unwrap_or_else(|_| "postgres".to_owned());
    let local = format!("postgres://{user}@127.0.0.1:5432");
    if local_server_answers().await {
        match sqlx::PgConnection::connect(&format!("{local}/postgres")).await {
            Ok(conn) => {
                let _ = conn.close().await;
                return Ok(Bootstrapped {
                    url: format!("{local}/{DEFAULT_DATABASE}"),
                    cluster: None,
                    source: "the server on 127.0.0.1:5432",
                });
            }
            Err(e) => tracing::warn!(
                error = %e,
                user,
                "the server on 127.0.0.1:5432 answers but will not let us in without a password; \
                 starting a private cluster instead (set DATABASE_URL to use that server)"
            ),
        }
    }
    let Some(bin_dir) = find_postgres_binaries() else {
        return Err(BootstrapError::NoServer);
    };
    let data_dir = data_dir.to_owned();
    let cluster = tokio::task::spawn_blocking(move || PrivateCluster::start(&bin_dir, &data_dir))
        .await
        .map_err(|e| BootstrapError::PrivateCluster {
            dir: PathBuf::new(),
            reason: e.to_string(),
        })??;
    Ok(Bootstrapped {
        url: format!(
            "postgres://postgres@127.0.0.1:{}/{DEFAULT_DATABASE}",
            cluster.port
        ),
        cluster: Some(cluster),
        source: "a private cluster",
    })
}

async fn local_server_answers() -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 5432));
    matches!(
        tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

/// The folder holding `initdb` and `pg_ctl`, if this machine has them.
pub fn find_postgres_binaries() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    let mut packaged: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| dirs.flatten().map(|d| d.path().join("bin")).collect())
        .unwrap_or_default();
    // Newest major version first.
    packaged.sort_by(|a, b| b.cmp(a));
    on_path
        .into_iter()
        .chain(from_pg_config)
        .chain(packaged)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}
