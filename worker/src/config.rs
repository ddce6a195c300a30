//! A worker's settings: every one a flag with an environment fallback.

use std::time::Duration;

use shared::queue::Backoff;

use crate::breaker::BreakerConfig;

/// The defaults, written once: the flags and [`WorkerConfig::default`] both
/// read them.
pub mod defaults {
    pub const CONCURRENCY: u32 = 16;
    pub const SHUTDOWN_GRACE_SECS: u64 = 25;
    pub const LEASE_SECS: u64 = 30;
    pub const POLL_INTERVAL_MS: u64 = 2_000;
    pub const RETRY_BASE_MS: u64 = 1_000;
    pub const RETRY_CAP_SECS: u64 = 300;
    pub const RESCUE_INTERVAL_SECS: u64 = 10;
    pub const RETENTION_HOURS: u64 = 168;
    pub const IDEMPOTENCY_KEY_RETENTION_HOURS: u64 = 24;
    pub const EVENT_RETENTION_DAYS: u64 = 30;
}

/// How a worker process runs its steps.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerConfig {
    /// Steps this process runs at once; it claims only as many tasks as it
    /// has free slots.
    #[arg(long = "worker-concurrency", env = "WORKER_CONCURRENCY", default_value_t = defaults::CONCURRENCY, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub concurrency: u32,

    /// This worker's name in leases and attempt records (default: hostname-pid).
    #[arg(long, env = "WORKER_ID")]
    pub worker_id: Option<String>,

    /// On SIGTERM/SIGINT, how long running steps get to finish before they are
    /// interrupted and handed back.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = defaults::SHUTDOWN_GRACE_SECS)]
    pub shutdown_grace_secs: u64,

    /// How long a claim is valid without renewal. Running steps renew it every
    /// third of this; a crashed worker's tasks are rescued after it.
    #[arg(long = "task-lease-secs", env = "TASK_LEASE_SECS", default_value_t = defaults::LEASE_SECS, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub lease_secs: u64,

    /// Fallback polling interval (jittered) when no notification arrives.
    #[arg(long, env = "POLL_INTERVAL_MS", default_value_t = defaults::POLL_INTERVAL_MS, value_parser = clap::value_parser!(u64).range(10..))]
    pub poll_interval_ms: u64,

    /// Delay before the first retry; it doubles with each failed attempt.
    #[arg(long, env = "RETRY_BASE_MS", default_value_t = defaults::RETRY_BASE_MS)]
    pub retry_base_ms: u64,

    /// No retry waits longer than this.
    #[arg(long, env = "RETRY_CAP_SECS", default_value_t = defaults::RETRY_CAP_SECS)]
    pub retry_cap_secs: u64,

    /// How often this worker looks for expired leases to rescue.
    #[arg(long, env = "RESCUE_INTERVAL_SECS", default_value_t = defaults::RESCUE_INTERVAL_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub rescue_interval_secs: u64,

    /// Completed tasks (with their attempts) are deleted after this many hours.
    #[arg(
        long = "task-retention-hours",
        env = "TASK_RETENTION_HOURS",
        default_value_t = defaults::RETENTION_HOURS
    )]
    pub retention_hours: u64,

    /// Idempotency keys of `POST /v1/orders` are kept this many hours (at
    /// least 24); a retry with an older key places a new order.
    #[arg(long, env = "IDEMPOTENCY_KEY_RETENTION_HOURS", default_value_t = defaults::IDEMPOTENCY_KEY_RETENTION_HOURS, value_parser = clap::value_parser!(u64).range(24..))]
    pub idempotency_key_retention_hours: u64,

    /// Order events (`GET /v1/events`) are deleted after this many days.
    #[arg(long, env = "EVENT_RETENTION_DAYS", default_value_t = defaults::EVENT_RETENTION_DAYS, value_parser = clap::value_parser!(u64).range(1..))]
    pub event_retention_days: u64,

    /// Seconds after being placed by which an order must be past its
    /// payment and stock (`confirmed`); one that is not is compensated
    /// (refunded or voided, its stock put back) with the failure
    /// `deadline_exceeded`. 0 turns the deadline off.
    #[arg(long, env = "ORDER_DEADLINE_SECS", default_value_t = 0)]
    pub order_deadline_secs: u64,

    #[command(flatten)]
    pub breakers: BreakerConfig,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: defaults::CONCURRENCY,
            worker_id: None,
            shutdown_grace_secs: defaults::SHUTDOWN_GRACE_SECS,
            lease_secs: defaults::LEASE_SECS,
            poll_interval_ms: defaults::POLL_INTERVAL_MS,
            retry_base_ms: defaults::RETRY_BASE_MS,
            retry_cap_secs: defaults::RETRY_CAP_SECS,
            rescue_interval_secs: defaults::RESCUE_INTERVAL_SECS,
            retention_hours: defaults::RETENTION_HOURS,
            idempotency_key_retention_hours: defaults::IDEMPOTENCY_KEY_RETENTION_HOURS,
            event_retention_days: defaults::EVENT_RETENTION_DAYS,
            order_deadline_secs: 0,
            breakers: BreakerConfig::default(),
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

    /// With a deadline, a payment call in flight when an order passes it
    /// must have ended before the order's compensation looks it up: the
    /// compensation waits out the running step's lease, which is renewed
    /// every third of it, so the gateway's timeout must stay under two
    /// thirds of the lease.
    pub fn check_deadline_against(&self, gateway_timeout: Duration) -> Result<(), String> {
        if self.order_deadline().is_none() || gateway_timeout * 3 < self.lease() * 2 {
            return Ok(());
        }
        Err(format!(
            "ORDER_DEADLINE_SECS needs GATEWAY_TIMEOUT_MS ({} ms) under two thirds of \
             TASK_LEASE_SECS ({} s): a payment call in flight when an order passes its \
             deadline must end before the order's compensation looks for what it did; \
             raise TASK_LEASE_SECS or lower GATEWAY_TIMEOUT_MS",
            gateway_timeout.as_millis(),
            self.lease_secs
        ))
    }

    /// The deadline per order, when one is set.
    pub fn order_deadline(&self) -> Option<Duration> {
        (self.order_deadline_secs > 0).then(|| Duration::from_secs(self.order_deadline_secs))
    }

    pub fn event_retention(&self) -> Duration {
        Duration::from_secs(self.event_retention_days.saturating_mul(86_400))
    }

    /// `WORKER_ID`, or `hostname-pid`: unique per process, readable in
    /// `pg_stat_activity` and in attempt records.
    pub fn resolved_worker_id(&self) -> String {
        self.worker_id
            .clone()
            .unwrap_or_else(|| format!("{}-{}", host_name(), std::process::id()))
    }
}

/// This machine's (or pod's) name: `HOSTNAME`, else the kernel's, else
/// `worker`.
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".to_owned())
}
