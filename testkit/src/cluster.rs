//! Taking a private PostgreSQL cluster down and up again under a running
//! system, as a database restart, a crash or an outage would.

use anyhow::{Context, bail};
use shared::db::bootstrap::PrivateCluster;

/// What the tests and the chaos run do to the database server. Blocking:
/// call from `spawn_blocking`.
pub trait ClusterFaults {
    /// Restarts the server on the same port, dropping every connection
    /// (`pg_ctl restart --mode=fast`).
    fn restart(&self) -> anyhow::Result<()>;

    /// Crashes the server and starts it again on the same port (`--mode=
    /// immediate`: no shutdown checkpoint, so the new server recovers from
    /// the WAL, as after a power cut).
    fn crash_restart(&self) -> anyhow::Result<()>;

    /// Crashes the server and leaves it down (`pg_ctl stop --mode=immediate`).
    fn crash(&self) -> anyhow::Result<()>;

    /// Starts a server that [`crash`](Self::crash) left down, on its port.
    fn start_again(&self) -> anyhow::Result<()>;
}

impl ClusterFaults for PrivateCluster {
    fn restart(&self) -> anyhow::Result<()> {
        run(self.pg_ctl("restart").arg("--mode=fast"), "pg_ctl restart")
    }

    fn crash_restart(&self) -> anyhow::Result<()> {
        run(
            self.pg_ctl("restart").arg("--mode=immediate"),
            "pg_ctl restart --mode=immediate",
        )
    }

    fn crash(&self) -> anyhow::Result<()> {
        run(
            self.pg_ctl("stop").arg("--mode=immediate"),
            "pg_ctl stop --mode=immediate",
        )
    }

    fn start_again(&self) -> anyhow::Result<()> {
        run(
            self.pg_ctl("start").arg("-o").arg(self.server_options()),
            "pg_ctl start",
        )
    }
}

/// Runs `command`, failing with its stderr when it fails.
pub(crate) fn run(command: &mut std::process::Command, what: &str) -> anyhow::Result<()> {
    let out = command
        .output()
        .with_context(|| format!("{what} could not be run"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
