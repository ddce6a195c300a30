//! What a benchmark ran on: the machine, and the PostgreSQL server and the
//! settings that decide its speed. Recorded with every report.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::PgPool;

/// The server settings that matter for commit-heavy work.
const SETTINGS: &[&str] = &[
    "synchronous_commit",
    "fsync",
    "wal_sync_method",
    "full_page_writes",
    "shared_buffers",
    "max_connections",
    "max_wal_size",
    "checkpoint_timeout",
    "commit_delay",
    "autovacuum",
    "wal_level",
];

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: u32,
    pub memory_gib: f64,
    pub cpu: String,
    pub kernel: String,
    pub postgres: String,
    pub postgres_settings: BTreeMap<String, String>,
}

pub fn cores() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1)
}

pub async fn describe(pool: &PgPool) -> anyhow::Result<Machine> {
    let postgres: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(pool)
        .await?;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name = ANY($1) ORDER BY name",
    )
    .bind(SETTINGS)
    .fetch_all(pool)
    .await?;
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned();
    Ok(Machine {
        cores: cores(),
        memory_gib: (memory_kib / 1_048_576.0 * 10.0).round() / 10.0,
        cpu,
        kernel,
        postgres,
        postgres_settings: rows.into_iter().collect(),
    })
}
