//! The system under test: API, worker and gateway processes of the product
//! binary against one database, each logging to a file, each watched for
//! its peak resident memory, any of them killed or stopped at will.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use tokio::process::Child;

use crate::process::{self, field, peak_kib};

struct Process {
    name: String,
    child: Child,
    /// Highest VmHWM read so far, in kB.
    peak_kib: u64,
}

/// The processes one scenario runs.
pub struct System {
    binary: PathBuf,
    database_url: String,
    logs: PathBuf,
    processes: Vec<Process>,
    /// Peaks of processes already stopped.
    stopped_peaks: BTreeMap<String, f64>,
    /// Settings every process started from now on gets, before its own.
    shared_env: Vec<(&'static str, String)>,
}

/// Requests a second the lab's key may make (see [`System::start_api_as`]).
const LAB_RATE_LIMIT: &str = "1000000";

/// The settings every process gets; the caller adds its own.
fn common_env(database_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", database_url.to_owned()),
        ("MIGRATE_ON_START", "false".to_owned()),
        ("METRICS_ADDR", "127.0.0.1:0".to_owned()),
        ("LOG_FORMAT", "json".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ]
}

impl System {
    /// No process yet: `binary` is the product's, `logs` the folder for their logs.
    pub fn new(binary: &Path, database_url: &str, logs: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(logs)
            .with_context(|| format!("creating the log folder {}", logs.display()))?;
        Ok(Self {
            binary: binary.to_owned(),
            database_url: database_url.to_owned(),
            logs: logs.to_owned(),
            processes: Vec::new(),
            stopped_peaks: BTreeMap::new(),
            shared_env: Vec::new(),
        })
    }

    /// Gives every process started from now on `env` too (before its own
    /// settings, which win).
    pub fn share_env(&mut self, env: &[(&'static str, String)]) {
        self.shared_env.extend(env.iter().cloned());
    }

    /// Starts `asynccheckout <args>` as `name` with `env` and returns its
    /// `ready` line.
    pub async fn start(
        &mut self,
        name: &str,
        args: &[&str],
        env: &[(&str, String)],
    ) -> anyhow::Result<String> {
        let mut all = common_env(&self.database_url);
        all.extend(self.shared_env.iter().cloned());
        all.extend(env.iter().map(|(k, v)| (*k, v.clone())));
        let log = self.logs.join(format!("{name}.log"));
        let (child, ready) = process::start(&self.binary, args, &all, &log)
            .await
            .with_context(|| format!("starting {name}"))?;
        self.processes.push(Process {
            name: name.to_owned(),
            child,
            peak_kib: 0,
        });
        Ok(ready)
    }

    /// Starts the mock gateway (no added latency, no faults); returns its URL.
    pub async fn start_gateway(&mut self) -> anyhow::Result<String> {
        self.start_gateway_with(&[]).await
    }

    /// Starts the mock gateway with `env` (its fault settings); returns its URL.
    pub async fn start_gateway_with(&mut self, env: &[(&str, String)]) -> anyhow::Result<String> {
        let mut all = vec![("LISTEN_ADDR", "127.0.0.1:0".to_owned())];
        all.extend(env.iter().map(|(k, v)| (*k, v.clone())));
        let ready = self.start("gateway", &["mock-gateway"], &all).await?;
        field(&ready, "gateway")
    }

    /// Starts the API with `admin_key` and a pool of `connections`; returns
    /// its URL.
    pub async fn start_api(&mut self, admin_key: &str, connections: u32) -> anyhow::Result<String> {
        self.start_api_as("api", "127.0.0.1:0", admin_key, connections)
            .await
    }

    /// Starts an API process called `name` listening on `addr` (a fixed
    /// address lets a restarted API take its predecessor's place). The lab's
    /// load comes from one key, one trusted client standing for a whole
    /// storefront, so its rate limit is set far above any load here: the
    /// limiter's work is still done and measured on every request, and none
    /// is refused.
    pub async fn start_api_as(
        &mut self,
        name: &str,
        addr: &str,
        admin_key: &str,
        connections: u32,
    ) -> anyhow::Result<String> {
        let ready = self
            .start(
                name,
                &["api"],
                &[
                    ("LISTEN_ADDR", addr.to_owned()),
                    ("BOOTSTRAP_ADMIN_KEY", admin_key.to_owned()),
                    ("DATABASE_MAX_CONNECTIONS", connections.to_string()),
                    ("RATE_LIMIT_PER_SECOND", LAB_RATE_LIMIT.to_owned()),
                    // The lab's webhook receivers listen on 127.0.0.1.
                    ("WEBHOOK_ALLOW_PRIVATE_URLS", "true".to_owned()),
                    ("WEBHOOK_ALLOW_HTTP", "true".to_owned()),
                ],
            )
            .await?;
        field(&ready, "api")
    }

    /// Starts worker `i` with `env` on top of the bench defaults.
    pub async fn start_worker(&mut self, i: usize, env: &[(&str, String)]) -> anyhow::Result<()> {
        let name = format!("worker-{i}");
        let mut all = vec![
            ("WORKER_ID", name.clone()),
            ("MAIL_DIR", self.logs.join("mail").display().to_string()),
        ];
        all.extend(env.iter().map(|(k, v)| (*k, v.clone())));
        self.start(&name, &["worker"], &all).await?;
        Ok(())
    }

    /// Reads every running process's peak RSS so far.
    pub fn sample_memory(&mut self) {
        for process in &mut self.processes {
            if let Some(kib) = process.child.id().and_then(peak_kib) {
                process.peak_kib = process.peak_kib.max(kib);
            }
        }
    }

    /// Peak RSS per process in MB, stopped ones included.
    pub fn peak_rss_mb(&mut self) -> BTreeMap<String, f64> {
        self.sample_memory();
        let mut peaks = self.stopped_peaks.clone();
        for process in &self.processes {
            peaks.insert(process.name.clone(), process.peak_kib as f64 / 1024.0);
        }
        peaks
    }

    /// The name and process id of every process still running.
    pub fn pids(&self) -> Vec<(String, u32)> {
        self.processes
            .iter()
            .filter_map(|p| Some((p.name.clone(), p.child.id()?)))
            .collect()
    }

    /// Names of the processes still running, in start order.
    pub fn running(&self) -> Vec<String> {
        self.processes.iter().map(|p| p.name.clone()).collect()
    }

    /// The folder holding every process's log (`<name>.log`).
    pub fn logs(&self) -> &Path {
        &self.logs
    }

    /// Processes that exited on their own since the last look (none of ours
    /// should), with how they ended; they are no longer counted as running.
    pub fn exited(&mut self) -> Vec<String> {
        let mut gone = Vec::new();
        self.processes
            .retain_mut(|process| match process.child.try_wait() {
                Ok(Some(status)) => {
                    gone.push(format!("{} exited on its own ({status})", process.name));
                    false
                }
                _ => true,
            });
        gone
    }

    /// Kills the process called exactly `name` with SIGKILL, as a crash
    /// would, and waits until it is gone. False when no such process runs.
    pub async fn kill(&mut self, name: &str) -> bool {
        self.sample_memory();
        let Some(index) = self.processes.iter().position(|p| p.name == name) else {
            return false;
        };
        let mut process = self.processes.remove(index);
        self.stopped_peaks
            .insert(process.name.clone(), process.peak_kib as f64 / 1024.0);
        // tokio's kill is SIGKILL on Unix, and it reaps the child.
        let _ = process.child.kill().await;
        true
    }

    /// Stops every process whose name starts with `prefix`.
    pub async fn stop(&mut self, prefix: &str) {
        self.sample_memory();
        let (stopping, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.processes)
            .into_iter()
            .partition(|p| p.name.starts_with(prefix));
        self.processes = keep;
        for mut process in stopping {
            self.stopped_peaks
                .insert(process.name.clone(), process.peak_kib as f64 / 1024.0);
            let _ = process.child.kill().await;
        }
    }
}
