//! What the database did for a scenario's orders: statements and
//! transactions per completed order, which statements they were, and how the
//! machine's CPU time was shared between PostgreSQL and our processes.
//!
//! Transactions come from `pg_stat_database`, which every server keeps
//! (backends publish their counts at most a second late, so a window of
//! many seconds is needed). Statements come from `pg_stat_statements` when
//! the server loads it (`shared_preload_libraries = 'pg_stat_statements'`
//! and a restart); without it they are reported as missing, with that hint.
//! CPU time is read from `/proc` (Linux): every process named `postgres`,
//! each process the scenario started, and the lab itself (the load). WAL
//! comes from `pg_stat_wal` (the whole server's: the bench runs alone on
//! it), and the buffers dirtied from `pg_stat_statements`.

use std::collections::BTreeMap;

use sqlx::PgPool;

use super::report::Measure;

/// The server's and the processes' counters at one moment.
pub struct WorkCounters {
    completed_orders: i64,
    transactions: i64,
    /// Calls per statement text, when `pg_stat_statements` is loaded.
    statements: Option<BTreeMap<String, i64>>,
    /// WAL bytes the server has written (`pg_stat_wal`, PostgreSQL 14+).
    wal_bytes: Option<f64>,
    /// Shared buffers this database's statements dirtied, when
    /// `pg_stat_statements` is loaded.
    blocks_dirtied: Option<i64>,
    /// CPU seconds per process group.
    cpu: BTreeMap<String, f64>,
}

/// Makes `pg_stat_statements` readable in the scratch database when the
/// server loads it; says how to load it otherwise.
pub async fn enable_statement_counts(pool: &PgPool) -> Option<String> {
    match sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(pool)
        .await
    {
        Err(e) => Some(format!("pg_stat_statements could not be created: {e}")),
        Ok(_) => match sqlx::raw_sql("SELECT 1 FROM pg_stat_statements LIMIT 1")
            .execute(pool)
            .await
        {
            Ok(_) => None,
            Err(_) => Some(
                "statements per order need pg_stat_statements: set \
                 shared_preload_libraries = 'pg_stat_statements' in postgresql.conf \
                 (or ALTER SYSTEM SET ...) and restart PostgreSQL"
                    .to_owned(),
            ),
        },
    }
}

impl WorkCounters {
    /// Reads every counter now; `processes` are the scenario's, by name.
    pub async fn read(pool: &PgPool, processes: &[(String, u32)]) -> anyhow::Result<Self> {
        let completed_orders =
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM orders WHERE status = 'completed'")
                .fetch_one(pool)
                .await?;
        let transactions = sqlx::query_scalar::<_, i64>(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database
             WHERE datname = current_database()",
        )
        .fetch_one(pool)
        .await?;
        let statements = sqlx::query_as::<_, (String, i64)>(
            "SELECT query, calls FROM pg_stat_statements
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .fetch_all(pool)
        .await
        .ok()
        .map(|rows| {
            let mut calls = BTreeMap::new();
            for (query, n) in rows {
                *calls.entry(query).or_insert(0) += n;
            }
            calls
        });
        let wal_bytes = sqlx::query_scalar::<_, f64>("SELECT wal_bytes::float8 FROM pg_stat_wal")
            .fetch_one(pool)
            .await
            .ok();
        let blocks_dirtied = sqlx::query_scalar::<_, i64>(
            "SELECT coalesce(sum(shared_blks_dirtied), 0)::int8 FROM pg_stat_statements
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .fetch_one(pool)
        .await
        .ok();
        let mut cpu = BTreeMap::new();
        cpu.insert("postgres".to_owned(), postgres_cpu_seconds());
        for (name, pid) in processes {
            *cpu.entry(group_of(name)).or_insert(0.0) += cpu_seconds(*pid).unwrap_or(0.0);
        }
        cpu.insert(
            "load generator (the lab)".to_owned(),
            cpu_seconds(std::process::id()).unwrap_or(0.0),
        );
        Ok(Self {
            completed_orders,
            transactions,
            statements,
            wal_bytes,
            blocks_dirtied,
            cpu,
        })
    }

    /// What happened between `before` and `self`, per completed order; with
    /// the statements that made up most of it.
    pub fn per_order_since(&self, before: &Self, missing_statements: Option<&str>) -> Vec<Measure> {
        let orders = (self.completed_orders - before.completed_orders).max(0) as f64;
        let mut measures = vec![Measure::new(
            "orders completed in the window",
            orders,
            "orders",
        )];
        if orders == 0.0 {
            return measures;
        }
        let per_order = |n: i64| n as f64 / orders;
        measures.push(Measure::new(
            "transactions per completed order",
            per_order(self.transactions - before.transactions),
            "xacts",
        ));
        if let (Some(after), Some(earlier)) = (self.wal_bytes, before.wal_bytes) {
            measures.push(Measure::new(
                "WAL per completed order",
                (after - earlier) / orders / 1024.0,
                "KiB",
            ));
        }
        if let (Some(after), Some(earlier)) = (self.blocks_dirtied, before.blocks_dirtied) {
            measures.push(Measure::new(
                "buffers dirtied per completed order",
                per_order(after - earlier),
                "8 KiB pages",
            ));
        }
        match (&self.statements, &before.statements) {
            (Some(after), Some(earlier)) => {
                let mut calls: Vec<(String, i64)> = after
                    .iter()
                    .map(|(query, n)| (query.clone(), n - earlier.get(query).copied().unwrap_or(0)))
                    .filter(|(query, n)| *n > 0 && sent_by_the_system(query))
                    .collect();
                let total: i64 = calls.iter().map(|(_, n)| n).sum();
                measures.push(
                    Measure::new("statements per completed order", per_order(total), "stmts")
                        .target(super::report::Target::AtMost(8.0)),
                );
                calls.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
                for (query, n) in calls.iter().take(10) {
                    measures.push(Measure::new(
                        format!("  {}", summary(query)),
                        per_order(*n),
                        "per order",
                    ));
                }
            }
            _ => {
                if let Some(hint) = missing_statements {
                    eprintln!("saga: {hint}");
                }
            }
        }
        let cpu: Vec<(String, f64)> = self
            .cpu
            .iter()
            .map(|(group, secs)| {
                (
                    group.clone(),
                    secs - before.cpu.get(group).copied().unwrap_or(0.0),
                )
            })
            .collect();
        let total: f64 = cpu.iter().map(|(_, s)| s).sum();
        for (group, secs) in cpu {
            if total > 0.0 {
                measures.push(Measure::new(
                    format!("CPU share: {group}"),
                    100.0 * secs / total,
                    "%",
                ));
            }
            measures.push(Measure::new(
                format!("CPU ms per order: {group}"),
                1000.0 * secs / orders,
                "ms",
            ));
        }
        measures
    }
}

/// Whether `query` is a statement the API or a worker sent. Left out: the
/// lab's own reads of the counters, and the foreign-key checks PostgreSQL
/// runs itself (a deferred one, at commit, is counted as if it were top
/// level, though no client sent it).
fn sent_by_the_system(query: &str) -> bool {
    let lab = query.contains("pg_stat_") || query.contains("count(*) FROM orders WHERE status");
    let foreign_key_check = query.contains("FROM ONLY");
    !lab && !foreign_key_check
}

/// A statement's first words, on one line, for the report.
fn summary(query: &str) -> String {
    let flat: String = query.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut short: String = flat.chars().take(60).collect();
    if flat.chars().count() > 60 {
        short.push('…');
    }
    short
}

/// `worker-3` and `worker-0` are both "workers"; the API and gateway keep
/// their names.
fn group_of(process: &str) -> String {
    match process.split('-').next() {
        Some("worker") => "workers".to_owned(),
        Some("api") => "api".to_owned(),
        _ => process.to_owned(),
    }
}

/// CPU seconds (user + system) `pid` has used, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count from after it.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are the 14th and 15th fields, 12th and 13th after the name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / CLOCK_TICKS_PER_SECOND)
}

/// Linux reports CPU time in USER_HZ, 100 on every architecture it runs on.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds used by every running process called `postgres` (the server
/// and its backends; a backend that exited in the window is not counted).
fn postgres_cpu_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "postgres")
        })
        .filter_map(cpu_seconds)
        .sum()
}
