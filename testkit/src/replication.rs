//! A primary and a synchronous streaming standby, as two private clusters
//! from this machine's PostgreSQL binaries (`initdb`, `pg_basebackup -R`),
//! for the failover test: the primary can be killed (SIGKILL, every server
//! process at once) and the standby promoted.
//!
//! With `synchronous_standby_names = '*'` and `synchronous_commit = on`, a
//! commit on the primary returns only once the standby has flushed it: what
//! was acknowledged survives the primary. The standby runs with no
//! synchronous standby of its own, so once promoted it commits alone.
//!
//! As root the servers run as the `postgres` system user (PostgreSQL
//! refuses root), in a folder under the system's temporary directory.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use shared::db::bootstrap::find_postgres_binaries;

use crate::process::free_port;

/// A primary and its synchronous standby; both are stopped when dropped.
#[derive(Debug)]
pub struct ReplicaPair {
    bin_dir: PathBuf,
    dir: PathBuf,
    run_as: Option<&'static str>,
    /// The primary's port on 127.0.0.1.
    pub primary_port: u16,
    /// The standby's port on 127.0.0.1.
    pub standby_port: u16,
}

impl ReplicaPair {
    /// Creates and starts a primary and a standby that streams from it
    /// synchronously; returns once the standby is in sync.
    pub fn start() -> anyhow::Result<Self> {
        // The folder the found `initdb` really lives in (it may be reached by a
        // link from a folder without the other programs).
        let bin_dir = find_postgres_binaries()
            .and_then(|dir| dir.join("initdb").canonicalize().ok())
            .and_then(|initdb| initdb.parent().map(PathBuf::from))
            .filter(|dir| dir.join("pg_basebackup").is_file() && dir.join("psql").is_file())
            .context("no PostgreSQL binaries (initdb, pg_basebackup, psql) on this machine")?;
        let primary_port = free_port()?;
        let standby_port = free_port()?;
        let dir = std::env::temp_dir().join(format!("asynccheckout-replicas-{primary_port}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let run_as = shared::db::bootstrap::running_as_root().then_some("postgres");
        if let Some(user) = run_as {
            let chown = Command::new("chown").arg(user).arg(&dir).status()?;
            if !chown.success() {
                bail!("cannot hand {} to the {user} user", dir.display());
            }
        }
        let pair = Self {
            bin_dir,
            dir,
            run_as,
            primary_port,
            standby_port,
        };
        pair.run(
            pair.command("initdb")
                .args([
                    "--auth=trust",
                    "--username=postgres",
                    "--encoding=UTF8",
                    "--no-sync",
                ])
                .arg("--pgdata")
                .arg(pair.data("primary")),
            "initdb",
        )?;
        pair.start_server("primary", primary_port, "synchronous_standby_names='*'")?;
        pair.run(
            pair.command("pg_basebackup")
                .args([
                    "--host=127.0.0.1",
                    "--username=postgres",
                    "--write-recovery-conf",
                ])
                .arg(format!("--port={primary_port}"))
                .args(["--wal-method=stream", "--checkpoint=fast", "--no-sync"])
                .arg("--pgdata")
                .arg(pair.data("standby")),
            "pg_basebackup",
        )?;
        pair.start_standby()?;
        pair.wait_for_sync()?;
        Ok(pair)
    }

    /// The URL of `database` on the primary.
    pub fn primary_url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}",
            self.primary_port
        )
    }

    /// The URL of `database` on the standby.
    pub fn standby_url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}",
            self.standby_port
        )
    }

    /// Kills every process of the primary server at once (SIGKILL): no
    /// shutdown, no goodbye to its clients or its standby.
    pub fn kill_primary(&self) -> anyhow::Result<()> {
        let pid_file = std::fs::read_to_string(self.data("primary").join("postmaster.pid"))
            .context("the primary's postmaster.pid")?;
        let postmaster = pid_file
            .lines()
            .next()
            .context("an empty postmaster.pid")?
            .trim()
            .to_owned();
        // Its children first, so none outlives it for a moment.
        let _ = Command::new("pkill")
            .args(["-KILL", "-P", &postmaster])
            .status();
        let killed = Command::new("kill").args(["-KILL", &postmaster]).status()?;
        if !killed.success() {
            bail!("could not kill the primary's postmaster {postmaster}");
        }
        Ok(())
    }

    /// Promotes the standby to a primary and waits until it accepts writes.
    pub fn promote_standby(&self) -> anyhow::Result<()> {
        self.run(
            self.command("pg_ctl")
                .args(["promote", "--wait", "--pgdata"])
                .arg(self.data("standby")),
            "pg_ctl promote",
        )
    }

    /// Crashes the standby and leaves it down (`pg_ctl stop --mode=immediate`).
    pub fn stop_standby(&self) -> anyhow::Result<()> {
        self.run(
            self.command("pg_ctl")
                .args(["stop", "--wait", "--mode=immediate", "--pgdata"])
                .arg(self.data("standby")),
            "pg_ctl stop",
        )
    }

    /// Starts the standby that [`Self::stop_standby`] stopped, on its port.
    pub fn start_standby(&self) -> anyhow::Result<()> {
        self.start_server("standby", self.standby_port, "synchronous_standby_names=''")
    }

    fn start_server(&self, name: &str, port: u16, extra: &str) -> anyhow::Result<()> {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' \
             -c synchronous_commit=on -c {extra}"
        );
        self.run(
            self.command("pg_ctl")
                .args(["start", "--wait", "--pgdata"])
                .arg(self.data(name))
                .arg("--log")
                .arg(self.dir.join(format!("{name}.log")))
                .arg("-o")
                .arg(options),
            "pg_ctl start",
        )
    }

    /// Waits until the primary reports its standby as synchronous.
    fn wait_for_sync(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let out = self
                .command("psql")
                .args([
                    "--host=127.0.0.1",
                    "--username=postgres",
                    "--no-align",
                    "--tuples-only",
                ])
                .arg(format!("--port={}", self.primary_port))
                .args([
                    "--command",
                    "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'",
                ])
                .output()?;
            if String::from_utf8_lossy(&out.stdout).trim() == "1" {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!(
                    "the standby did not become synchronous within 30 s: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn data(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin_dir.join(program);
        let mut command = match self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(program);
                command
            }
            None => Command::new(program),
        };
        command.current_dir(&self.dir);
        command
    }

    fn run(&self, command: &mut Command, what: &str) -> anyhow::Result<()> {
        crate::cluster::run(command, what)
    }
}

impl Drop for ReplicaPair {
    fn drop(&mut self) {
        for name in ["standby", "primary"] {
            let _ = self
                .command("pg_ctl")
                .args(["stop", "--mode=immediate", "--pgdata"])
                .arg(self.data(name))
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
