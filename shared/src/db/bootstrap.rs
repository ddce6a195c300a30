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

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use sqlx::Connection;

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
fn find_postgres_binaries() -> Option<PathBuf> {
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

/// A PostgreSQL server we started in a folder of our own, stopped on drop.
#[derive(Debug)]
pub struct PrivateCluster {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    run_as: Option<String>,
    /// The TCP port on 127.0.0.1 it listens on.
    pub port: u16,
    /// False when the cluster was already running (another process of ours
    /// started it): we leave it running for that process.
    owned: bool,
}

impl PrivateCluster {
    /// Creates (once) and starts a cluster in `dir` from this machine's
    /// PostgreSQL binaries; for tests that need a server of their own.
    pub fn start_in(dir: &Path) -> Result<Self, BootstrapError> {
        let bin_dir = find_postgres_binaries().ok_or(BootstrapError::NoServer)?;
        Self::start(&bin_dir, dir)
    }

    /// The URL of `database` on this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Restarts the server on the same port, dropping every connection
    /// (`pg_ctl restart --mode=fast`).
    pub fn restart(&self) -> Result<(), BootstrapError> {
        self.restart_in_mode("fast")
    }

    /// Crashes the server and starts it again on the same port
    /// (`pg_ctl restart --mode=immediate`: no shutdown checkpoint, so the
    /// new server recovers from the WAL, as after a power cut).
    pub fn crash_restart(&self) -> Result<(), BootstrapError> {
        self.restart_in_mode("immediate")
    }

    fn restart_in_mode(&self, mode: &str) -> Result<(), BootstrapError> {
        self.run(
            self.pg_command("pg_ctl")
                .args(["restart", "--wait", &format!("--mode={mode}"), "--pgdata"])
                .arg(&self.data_dir)
                // Without a log file the new server would hold our output pipe open.
                .arg("--log")
                .arg(self.log_file()),
            "pg_ctl restart",
        )
        .map(drop)
    }

    fn log_file(&self) -> PathBuf {
        self.data_dir
            .parent()
            .unwrap_or(&self.data_dir)
            .join("postgres.log")
    }

    fn start(bin_dir: &Path, dir: &Path) -> Result<Self, BootstrapError> {
        let fail = |reason: String| BootstrapError::PrivateCluster {
            dir: dir.to_owned(),
            reason,
        };
        let run_as = running_as_root().then(|| "postgres".to_owned());
        std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create it: {e}")))?;
        let dir = dir
            .canonicalize()
            .map_err(|e| fail(format!("cannot resolve its path: {e}")))?;
        let data_dir = dir.join("pgdata");
        let mut cluster = Self {
            bin_dir: bin_dir.to_owned(),
            data_dir: data_dir.clone(),
            run_as,
            port: 0,
            owned: false,
        };
        if let Some(user) = &cluster.run_as {
            // The server's user must be able to write its own folder.
            cluster.run(Command::new("chown").args(["-R", user]).arg(&dir), "chown")?;
        }
        if !data_dir.join("PG_VERSION").is_file() {
            tracing::info!(dir = %data_dir.display(), "creating a private PostgreSQL cluster");
            cluster.run(
                cluster
                    .pg_command("initdb")
                    .args([
                        "--auth=trust",
                        "--username=postgres",
                        "--encoding=UTF8",
                        "--no-sync",
                    ])
                    .arg("--pgdata")
                    .arg(&data_dir),
                "initdb",
            )?;
        }
        if let Some(port) = cluster.running_port() {
            tracing::info!(
                port,
                "reusing the private PostgreSQL cluster that is already running"
            );
            cluster.port = port;
            return Ok(cluster);
        }
        cluster.port = free_port().map_err(|e| fail(format!("no free port: {e}")))?;
        let server_options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories=''",
            cluster.port
        );
        cluster.run(
            cluster
                .pg_command("pg_ctl")
                .arg("start")
                .arg("--wait")
                .arg("--pgdata")
                .arg(&data_dir)
                .arg("--log")
                .arg(dir.join("postgres.log"))
                .arg("-o")
                .arg(server_options),
            "pg_ctl start",
        )?;
        cluster.owned = true;
        tracing::info!(port = cluster.port, "started a private PostgreSQL cluster");
        Ok(cluster)
    }

    /// The port of a server already running on this data folder.
    fn running_port(&self) -> Option<u16> {
        let status = self
            .pg_command("pg_ctl")
            .arg("status")
            .arg("--pgdata")
            .arg(&self.data_dir)
            .output()
            .ok()?;
        if !status.status.success() {
            return None;
        }
        // postmaster.pid: pid, data dir, start time, port, ...
        let pid_file = std::fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        pid_file.lines().nth(3)?.trim().parse().ok()
    }

    fn pg_command(&self, program: &str) -> Command {
        let program = self.bin_dir.join(program);
        match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(program);
                command
            }
            None => Command::new(program),
        }
    }

    fn run(&self, command: &mut Command, what: &str) -> Result<Output, BootstrapError> {
        let fail = |reason: String| BootstrapError::PrivateCluster {
            dir: self.data_dir.clone(),
            reason,
        };
        let output = command
            .output()
            .map_err(|e| fail(format!("{what} could not be run: {e}")))?;
        if !output.status.success() {
            return Err(fail(format!(
                "{what} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(output)
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let stopped = self
            .pg_command("pg_ctl")
            .args(["stop", "--wait", "--mode=fast", "--pgdata"])
            .arg(&self.data_dir)
            .output();
        match stopped {
            Ok(out) if out.status.success() => {
                tracing::info!("stopped the private PostgreSQL cluster")
            }
            Ok(out) => tracing::warn!(
                stderr = %String::from_utf8_lossy(&out.stderr).trim(),
                "could not stop the private PostgreSQL cluster"
            ),
            Err(e) => tracing::warn!(error = %e, "could not run pg_ctl stop"),
        }
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}
