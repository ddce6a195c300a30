//! A worker's settings: every one a flag with an environment fallback.

use std::time::Duration;

use shared::queue::Backoff;

/// How a worker process runs its steps.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerConfig {
    /// Steps this process runs at once; it claims only as many tasks as it
    /// has free slots.
    #[arg(long = "worker-concurrency", env = "WORKER_CONCURRENCY", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub concurrency: u32,

    /// This worker's name in leases and attempt records (default: hostname-pid).
    #[arg(long, env = "WORKER_ID")]
    pub worker_id: Option<String>,

    /// On SIGTERM/SIGINT, how long running steps get to finish before they are
    /// interrupted and handed back.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 25)]
    pub shutdown_grace_secs: u64,

    /// How long a claim is valid without renewal. Running steps renew it every
    /// third of this; a crashed worker's tasks are rescued after it.
    #[arg(long = "task-lease-secs", env = "TASK_LEASE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub lease_secs: u64,

    /// Fallback polling interval (jittered) when no notification arrives.
    #[arg(long, env = "POLL_INTERVAL_MS", default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(10..))]
    pub poll_interval_ms: u64,

    /// Delay before the first retry; it doubles with each failed attempt.
    #[arg(long, env = "RETRY_BASE_MS", default_value_t = 1_000)]
    pub retry_base_ms: u64,

    /// No retry waits longer than this.
    #[arg(long, env = "RETRY_CAP_SECS", default_value_t = 300)]
    pub retry_cap_secs: u64,

    /// How often this worker looks for expired leases to rescue.
    #[arg(long, env = "RESCUE_INTERVAL_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub rescue_interval_secs: u64,

    /// Completed tasks (with their attempts) are deleted after this many hours.
    #[arg(
        long = "task-retention-hours",
        env = "TASK_RETENTION_HOURS",
        default_value_t = 168
    )]
    pub retention_hours: u64,

    /// Idempotency keys of `POST /v1/orders` are kept this many hours (at
    /// least 24); a retry with an older key places a new order.
    #[arg(long, env = "IDEMPOTENCY_KEY_RETENTION_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u64).range(24..))]
    pub idempotency_key_retention_hours: u64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 16,
            worker_id: None,
            shutdown_grace_secs: 25,
            lease_secs: 30,
            poll_interval_ms: 2_000,
            retry_base_ms: 1_000,
            retry_cap_secs: 300,
            rescue_interval_secs: 10,
            retention_hours: 168,
            idempotency_key_retention_hours: 24,
        }
    }
}

impl WorkerConfig {
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }

    pub fn backoff(&self) -> Backoff {
        Backoff {
            base: Duration::from_millis(self.retry_base_ms),
            cap: Duration::from_secs(self.retry_cap_secs),
        }
    }

    pub fn rescue_interval(&self) -> Duration {
        Duration::from_secs(self.rescue_interval_secs)
    }

    pub fn retention(&self) -> Duration {
        Duration::from_secs(self.retention_hours.saturating_mul(3_600))
    }

    pub fn idempotency_key_retention(&self) -> Duration {
        Duration::from_secs(self.idempotency_key_retention_hours.saturating_mul(3_600))
    }

    /// `WORKER_ID`, or `hostname-pid`: unique per process, readable in
    /// `pg_stat_activity` and in attempt records.
    pub fn resolved_worker_id(&self) -> String {
        self.worker_id.clone().unwrap_or_else(|| {
            let host = std::env::var("HOSTNAME")
                .ok()
                .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "worker".to_owned());
            format!("{host}-{}", std::process::id())
        })
    }
}
