//! A PostgreSQL server of our own: created once in a folder with `initdb`,
//! started on a free port of 127.0.0.1 with `pg_ctl`, stopped when dropped.
//! As root it runs as the `postgres` system user (see [`super::server_user`]).

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::server_user::{as_user, server_user_home};
use super::{BootstrapError, find_postgres_binaries};

/// The system user a private cluster runs as when we are root.
const SERVER_USER: &str = "postgres";

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

    /// `pg_ctl <action> --wait --pgdata <its data> --log <its log>`, run as
    /// the server's user; add the action's own options. (The log file keeps
    /// a server started by it from holding our output pipe open.)
    pub fn pg_ctl(&self, action: &str) -> Command {
        let mut command = self.pg_command("pg_ctl");
        command
            .args([action, "--wait", "--pgdata"])
            .arg(&self.data_dir)
            .arg("--log")
            .arg(self.log_file());
        command
    }

    /// The server options it is started with: its port on 127.0.0.1 only,
    /// no Unix socket (for `pg_ctl start -o`).
    pub fn server_options(&self) -> String {
        format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories=''",
            self.port
        )
    }

    fn log_file(&self) -> PathBuf {
        self.data_dir
            .parent()
            .unwrap_or(&self.data_dir)
            .join("postgres.log")
    }

    pub(super) fn start(bin_dir: &Path, dir: &Path) -> Result<Self, BootstrapError> {
        let fail = |reason: String| BootstrapError::PrivateCluster {
            dir: dir.to_owned(),
            reason,
        };
        let run_as = running_as_root().then(|| SERVER_USER.to_owned());
        std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create it: {e}")))?;
        let dir = dir
            .canonicalize()
            .map_err(|e| fail(format!("cannot resolve its path: {e}")))?;
        let dir = match &run_as {
            Some(user) => server_user_home(&dir, user)?,
            None => dir,
        };
        let data_dir = dir.join("pgdata");
        let mut cluster = Self {
            bin_dir: bin_dir.to_owned(),
            data_dir: data_dir.clone(),
            run_as,
            port: 0,
            owned: false,
        };
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
        cluster.run(
            cluster
                .pg_ctl("start")
                .arg("-o")
                .arg(cluster.server_options()),
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

    /// A PostgreSQL program, run as the server's user, from the cluster's
    /// own folder: the server's user may not be able to enter ours.
    fn pg_command(&self, program: &str) -> Command {
        let mut command = as_user(self.run_as.as_deref(), &self.bin_dir.join(program));
        command.current_dir(self.data_dir.parent().unwrap_or(&self.data_dir));
        command
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

/// Whether this process runs as root, which PostgreSQL (and PgBouncer)
/// refuse to run as.
pub fn running_as_root() -> bool {
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
