//! The PostgreSQL a chaos run uses, and the one fault it suffers: a single
//! private cluster crashed and restarted (`pg_ctl restart --mode=immediate`),
//! or, with `--failover`, a primary with a synchronous standby whose primary
//! is killed (SIGKILL, every process) while the standby is promoted and
//! PgBouncer pointed at it.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use shared::db::bootstrap::PrivateCluster;
use testkit::cluster::ClusterFaults;
use testkit::pgbouncer::PgBouncer;
use testkit::replication::ReplicaPair;

/// The run's PostgreSQL.
#[derive(Debug)]
pub enum RunDatabase {
    Single(PrivateCluster),
    Replicated {
        pair: ReplicaPair,
        /// Whether the standby has been promoted.
        failed_over: AtomicBool,
    },
}

impl RunDatabase {
    /// Starts one cluster in `dir`, or a primary and its standby. Blocking.
    pub fn start(dir: &Path, failover: bool) -> anyhow::Result<Self> {
        Ok(if failover {
            Self::Replicated {
                pair: ReplicaPair::start()
                    .context("starting a primary and a synchronous standby")?,
                failed_over: AtomicBool::new(false),
            }
        } else {
            Self::Single(
                PrivateCluster::start_in(dir).context("starting a private PostgreSQL cluster")?,
            )
        })
    }

    /// The URL of `database` on the server that is the primary now.
    pub fn url(&self, database: &str) -> String {
        match self {
            Self::Single(cluster) => cluster.url(database),
            Self::Replicated { pair, failed_over } => {
                if failed_over.load(Ordering::Acquire) {
                    pair.standby_url(database)
                } else {
                    pair.primary_url(database)
                }
            }
        }
    }

    /// Whether the primary changed during the run.
    pub fn failed_over(&self) -> bool {
        matches!(self, Self::Replicated { failed_over, .. } if failed_over.load(Ordering::Acquire))
    }

    /// What [`Self::fault`] does, for the log and the summary.
    pub fn fault_name(&self) -> &'static str {
        match self {
            Self::Single(_) => "PostgreSQL crash-restarted",
            Self::Replicated { .. } => "PostgreSQL failed over",
        }
    }

    /// The run's database fault; `bouncer`, when the processes go through
    /// one, is pointed at the new primary. Blocking.
    pub fn fault(&self, bouncer: Option<&PgBouncer>) -> anyhow::Result<()> {
        match self {
            Self::Single(cluster) => cluster.crash_restart(),
            Self::Replicated { pair, failed_over } => {
                pair.kill_primary()?;
                pair.promote_standby()?;
                failed_over.store(true, Ordering::Release);
                match bouncer {
                    Some(bouncer) => bouncer.point_at(pair.standby_port),
                    None => Ok(()),
                }
            }
        }
    }
}
