//! The ceiling: what PostgreSQL alone does with our hot paths' SQL on this
//! machine, run by pgbench with no application in between. Every other
//! scenario divides its throughput by the matching line of this table,
//! measured in the same run.
//!
//! The queue's lines run on a lean schema of their own (`schema.sql`); the
//! `saga`, `api_write` and `batch100_product` lines run the product's own
//! statements on the product's schema (the migrations), so that a scenario
//! can be compared both with the bare bones of its work and with the
//! product's own SQL alone.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Serialize;
use sqlx::PgPool;

use shared::orders::{PLACE_SQL, STEP_END_SQL};
use shared::queue::{CLAIM_SQL, COMPLETE_BATCH_SQL, WAKEUP_CHANNEL};

use super::scratch::ScratchDatabase;

const SCHEMA: &str = include_str!("ceiling/schema.sql");

/// How much larger the no-op backlog is than the lean one. The lean lines
/// enqueue a task for each they complete; `batch100_product` does not, and
/// runs at about 25,000 tasks/s here: a backlog of the lean size would last
/// 8 s of its 10, this one 24 (and the run fails if it runs dry).
const NOOP_BACKLOG_FACTOR: u64 = 3;

/// One hot path: its pgbench script and the tasks (or orders) one of its
/// transactions moves.
struct HotPath {
    name: &'static str,
    script: Script,
    rows_per_transaction: u32,
    defines: &'static [(&'static str, &'static str)],
    schema: Schema,
    seed: Seed,
}

/// What a hot path's tables hold when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seed {
    /// The lean schema's backlog of ready tasks.
    LeanBacklog,
    /// A catalogue, and placed orders whose charges wait.
    Orders,
    /// A backlog of the product's no-op tasks, as `bench queue` inserts,
    /// of `NOOP_BACKLOG_FACTOR` times the others' size: nothing refills it.
    NoopBacklog,
}

/// A hot path's pgbench script.
#[derive(Debug, Clone, Copy)]
enum Script {
    /// As written in `ceiling/`.
    Fixed(&'static str),
    /// The product's own placing statement (`shared::orders::PLACE_SQL`).
    Place,
    /// The placement, then `ceiling/saga.sql`, then the product's own step
    /// end (`shared::orders::STEP_END_SQL`) for each of the three steps.
    Saga,
    /// The product's claim of 100 tasks (`shared::queue::CLAIM_SQL`), then
    /// its completion of them (`shared::queue::COMPLETE_BATCH_SQL`).
    Queue,
}

impl Script {
    fn text(self) -> String {
        match self {
            Self::Fixed(text) => text.to_owned(),
            Self::Place => place_script(),
            Self::Saga => saga_script(),
            Self::Queue => queue_script(),
        }
    }
}

/// POST /v1/orders as the product sends it: one line of 1–3 of one of the
/// catalogue's 100 products, priced from the catalogue, under a new key.
fn place_script() -> String {
    let charge = shared::orders::TaskKind::ChargePayment;
    let max_attempts = charge.max_attempts().to_string();
    let kind = format!("'{}'", charge.as_str());
    let values: [(usize, &str); 15] = [
        (1, "'ceiling'"),
        (2, "gen_random_uuid()::text"),
        (3, "'{}'::jsonb"),
        (4, "gen_random_uuid()"),
        (5, "'shopper@example.com'"),
        (6, "'tok_visa'"),
        (7, "'{}'::jsonb"),
        (8, "ARRAY[1]"),
        (9, "ARRAY['SKU-' || :sku]"),
        (10, "ARRAY[:quantity]"),
        (11, &kind),
        (12, &max_attempts),
        (13, "NULL::text"),
        (14, "'order accepted'"),
        (15, "'automatic'"),
    ];
    format!(
        "\\set sku random(1, 100)\n\\set quantity random(1, 3)\n{};\n",
        plain_column_names(&bind(PLACE_SQL, &values)).trim_end()
    )
}

/// The saga's script: the placement and the claim, then each step's end
/// with that step's values in place of the product's parameters. The first
/// two steps keep the next step's task (handed over, already claimed) for
/// the one after.
fn saga_script() -> String {
    use shared::orders::TaskKind::{RefundPayment, ReserveInventory, SendConfirmation};
    let max_attempts = |kind: shared::orders::TaskKind| kind.max_attempts().to_string();
    let steps = [
        (
            "charge_payment's end: paid, and reserve_inventory handed over",
            [
                ":task_id",
                ":attempt",
                "'pending'",
                "'paid'",
                "'payment taken'",
                "'ch_' || :task_id",
            ],
            (
                "'reserve_inventory'",
                max_attempts(ReserveInventory),
                "false",
            ),
            true,
        ),
        (
            "reserve_inventory's end: the stock taken, confirmed, send_confirmation handed over",
            [
                ":successor_id",
                "1",
                "'paid'",
                "'confirmed'",
                "'stock reserved'",
                "NULL::text",
            ],
            (
                "'send_confirmation'",
                max_attempts(SendConfirmation),
                "true",
            ),
            true,
        ),
        (
            "send_confirmation's end: completed",
            [
                ":successor_id",
                "1",
                "'confirmed'",
                "'completed'",
                "'confirmation sent'",
                "NULL::text",
            ],
            ("NULL::text", "NULL::integer".to_owned(), "false"),
            false,
        ),
    ];
    let mut script = place_script();
    script.push_str(include_str!("ceiling/saga.sql"));
    for (
        i,
        (what, [task, attempt, from, to, reason, charge], (next, next_attempts, reserve), keep),
    ) in steps.into_iter().enumerate()
    {
        let refund_attempts = max_attempts(RefundPayment);
        let values: [(usize, &str); 25] = [
            (1, task),
            (2, "'ceiling-' || :client_id"),
            (3, attempt),
            (4, ":order_id"),
            (5, &format!("{from}::order_status")),
            (6, &format!("{to}::order_status")),
            (7, reason),
            (8, charge),
            (9, "NULL::text"),
            (10, "NULL::text"),
            (11, "NULL::text"),
            (12, next),
            (13, &next_attempts),
            (14, reserve),
            (15, "'refunding'::order_status"),
            (16, "'out of stock after payment'"),
            (17, "'out_of_stock'"),
            (18, "'refund_payment'"),
            (19, &refund_attempts),
            (20, "NULL::text"),
            (
                21,
                "ARRAY['reserve_inventory', 'send_confirmation', 'refund_payment']",
            ),
            (22, "30"),
            (23, "'asynccheckout_tasks'"),
            (24, "false"),
            (25, "NULL::text"),
        ];
        let statement = plain_column_names(&bind(STEP_END_SQL, &values));
        script.push_str(&format!("-- {}. {what}\n{statement}", i + 3));
        script.push_str(if keep { "\n\\gset\n" } else { ";\n" });
    }
    script
}

/// The queue's work as the product writes it: the worker's claim of 100
/// no-op tasks, one commit; then the completer's statement for them (each
/// fenced on its lease and recorded as an attempt, with no follow-up, as
/// `bench queue`'s tasks have none), one commit. The claim's rows are
/// gathered into arrays for the completion, as the worker gathers them.
fn queue_script() -> String {
    let worker = "'ceiling-' || :client_id";
    let claim = bind(
        CLAIM_SQL,
        &[(1, worker), (2, "ARRAY['noop']"), (3, "100"), (4, "30")],
    );
    let channel = format!("'{WAKEUP_CHANNEL}'");
    let complete = bind(
        COMPLETE_BATCH_SQL,
        &[
            (1, worker),
            (2, "(:ids)::bigint[]"),
            (3, "(:attempts)::integer[]"),
            (4, "'{}'::bigint[]"),
            (5, "'{}'::text[]"),
            (6, "'{}'::jsonb[]"),
            (7, "'{}'::integer[]"),
            (8, "'{}'::timestamptz[]"),
            (9, "'{}'::uuid[]"),
            (10, "'{}'::text[]"),
            (11, &channel),
            (12, "'{}'::text[]"),
        ],
    );
    format!(
        "-- The claim.\nWITH claimed AS (\n{}\n)\nSELECT coalesce(array_agg(id), '{{}}') AS ids,\n       coalesce(array_agg(attempts), '{{}}') AS attempts\nFROM claimed\n\\gset\n-- The completion.\n{};\n",
        plain_column_names(&claim).trim_end(),
        plain_column_names(&complete).trim_end()
    )
}

/// `sql` with each `$n` replaced by its value (the highest first, so that
/// `$1` does not match the start of `$12`).
fn bind(sql: &str, values: &[(usize, &str)]) -> String {
    let mut bound = sql.to_owned();
    let mut values = values.to_vec();
    values.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    for (n, value) in values {
        bound = bound.replace(&format!("${n}"), value);
    }
    bound
}

/// sqlx's column overrides (`AS "successor_id?: TaskId"`) as plain names
/// (`AS successor_id`), which pgbench's `\gset` takes as variable names.
fn plain_column_names(sql: &str) -> String {
    let mut plain = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find("AS \"") {
        plain.push_str(&rest[..at + 3]);
        let quoted = &rest[at + 4..];
        let Some(end) = quoted.find('"') else {
            plain.push_str(&rest[at + 3..]);
            return plain;
        };
        let name: String = quoted[..end]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        plain.push_str(&name);
        rest = &quoted[end + 1..];
    }
    plain.push_str(rest);
    plain
}

/// The tables a hot path runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Schema {
    /// `schema.sql`: the queue's and the order's bare bones.
    Lean,
    /// The product's migrations, with a catalogue to order from.
    Product,
}

const PATHS: &[HotPath] = &[
    HotPath {
        name: API_WRITE,
        script: Script::Place,
        rows_per_transaction: 1,
        defines: &[],
        schema: Schema::Product,
        seed: Seed::Orders,
    },
    HotPath {
        name: API_WRITE_LEAN,
        script: Script::Fixed(include_str!("ceiling/api_write.sql")),
        rows_per_transaction: 1,
        defines: &[],
        schema: Schema::Lean,
        seed: Seed::LeanBacklog,
    },
    HotPath {
        name: CLAIM_COMPLETE,
        script: Script::Fixed(include_str!("ceiling/claim_complete.sql")),
        rows_per_transaction: 1,
        defines: &[],
        schema: Schema::Lean,
        seed: Seed::LeanBacklog,
    },
    HotPath {
        name: CLAIM_THEN_COMPLETE,
        script: Script::Fixed(include_str!("ceiling/claim_then_complete.sql")),
        rows_per_transaction: 1,
        defines: &[],
        schema: Schema::Lean,
        seed: Seed::LeanBacklog,
    },
    HotPath {
        name: BATCH_100,
        script: Script::Fixed(include_str!("ceiling/claim_batch.sql")),
        rows_per_transaction: 100,
        defines: &[("n", "100")],
        schema: Schema::Lean,
        seed: Seed::LeanBacklog,
    },
    HotPath {
        name: SAGA,
        script: Script::Saga,
        rows_per_transaction: 1,
        defines: &[],
        schema: Schema::Product,
        seed: Seed::Orders,
    },
    HotPath {
        name: BATCH_100_PRODUCT,
        script: Script::Queue,
        rows_per_transaction: 100,
        defines: &[],
        schema: Schema::Product,
        seed: Seed::NoopBacklog,
    },
];

/// `POST /v1/orders`: the product's placing statement on the product's
/// schema (priced from the catalogue; the key, the order, its line, its
/// history and its first task), one commit.
pub const API_WRITE: &str = "api_write";
/// An order row and its first task in two lean tables, one commit: the
/// placement's bare bones (the `api_write` of the benchmarks before
/// 2026-11-30).
pub const API_WRITE_LEAN: &str = "api_write_lean";
/// Claim, complete and enqueue the next, one task per commit.
pub const CLAIM_COMPLETE: &str = "claim_complete";
/// Claim and commit, then complete and enqueue the next: two commits per task.
pub const CLAIM_THEN_COMPLETE: &str = "claim_then_complete";
/// Claim, complete and enqueue the next for 100 tasks per commit.
pub const BATCH_100: &str = "batch100";
/// The queue's work as the product writes it, on the product's schema: its
/// claim of 100 tasks, one commit; then its completion of them, each
/// recorded as an attempt, one commit. A reference at `batch100`'s batch
/// size, not a bound: a worker claims and completes up to ten times as many
/// per statement.
pub const BATCH_100_PRODUCT: &str = "batch100_product";
/// One order from POST to completed: the product's statements, one commit
/// each (placed, claimed, then each step's end).
pub const SAGA: &str = "saga";

#[derive(Debug, Clone, Serialize)]
pub struct CeilingLine {
    pub path: String,
    /// Tasks (or orders) per second.
    pub rows_per_sec: f64,
    pub transactions_per_sec: f64,
    pub mean_latency_ms: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Ceiling {
    pub clients: u32,
    pub seconds: u64,
    pub backlog: u64,
    pub lines: Vec<CeilingLine>,
}

impl Ceiling {
    /// Rows per second of `path`, when it was measured.
    pub fn of(&self, path: &str) -> Option<f64> {
        self.lines
            .iter()
            .find(|l| l.path == path)
            .map(|l| l.rows_per_sec)
    }
}

/// How the ceiling is measured.
#[derive(Debug, Clone)]
pub struct CeilingPlan {
    pub seconds: u64,
    pub clients: u32,
    pub backlog: u64,
}

/// Measures each of `paths` (all when empty), each schema in a scratch
/// database of its own.
pub async fn measure(
    server_url: &str,
    plan: &CeilingPlan,
    paths: &[&str],
    progress: &indicatif::MultiProgress,
) -> anyhow::Result<Ceiling> {
    let pgbench = find_pgbench()?;
    let work = tempfile_dir()?;
    let mut ceiling = Ceiling {
        clients: plan.clients,
        seconds: plan.seconds,
        backlog: plan.backlog,
        lines: Vec::new(),
    };
    for schema in [Schema::Lean, Schema::Product] {
        let wanted: Vec<&HotPath> = PATHS
            .iter()
            .filter(|p| p.schema == schema && (paths.is_empty() || paths.contains(&p.name)))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let scratch = ScratchDatabase::create(server_url, "ceiling").await?;
        let pool = scratch.pool(2).await?;
        create_schema(&pool, schema).await?;
        for path in wanted {
            let bar = progress.add(super::progress::spinner(format!("ceiling: {}", path.name)));
            reset(&pool, path.seed, plan.backlog).await?;
            let script = work.join(format!("{}.sql", path.name));
            std::fs::write(&script, path.script.text()).context("writing a pgbench script")?;
            let line = run_pgbench(&pgbench, &scratch.url, &script, path, plan).await?;
            if path.seed == Seed::NoopBacklog {
                still_has_a_backlog(&pool, path).await?;
            }
            bar.finish_with_message(format!(
                "ceiling: {} {:.0} rows/s",
                path.name, line.rows_per_sec
            ));
            ceiling.lines.push(line);
        }
        pool.close().await;
        scratch.drop_now().await?;
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(ceiling)
}

/// Fails when a path whose backlog nothing refills emptied it: its last
/// transactions claimed fewer tasks than it counts, and its rate would be
/// overstated.
async fn still_has_a_backlog(pool: &PgPool, path: &HotPath) -> anyhow::Result<()> {
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks WHERE state = 'available'")
        .fetch_one(pool)
        .await
        .context("counting the backlog left")?;
    if left == 0 {
        bail!(
            "{}'s backlog ran dry before pgbench stopped, so its rate would be overstated: \
             run it for fewer seconds (--ceiling-seconds)",
            path.name
        );
    }
    Ok(())
}

async fn create_schema(pool: &PgPool, schema: Schema) -> anyhow::Result<()> {
    match schema {
        Schema::Lean => sqlx::raw_sql(SCHEMA)
            .execute(pool)
            .await
            .map(drop)
            .context("creating the ceiling's schema"),
        Schema::Product => shared::MIGRATOR
            .run(pool)
            .await
            .context("applying the migrations to the ceiling's database"),
    }
}

/// Fresh tables with a checkpoint behind them, holding `seed`. The lean
/// queue's: a backlog of ready tasks, `run_at` spread over the past hour so
/// new tasks go to the tail. The product's queue: a larger backlog of no-op
/// tasks, spread the same way. The saga's and the placement's: a catalogue
/// with stock to spare, and placed orders whose charges wait, so that every
/// client's claim finds one however the clients interleave.
async fn reset(pool: &PgPool, seed: Seed, backlog: u64) -> anyhow::Result<()> {
    let mut statements = match seed {
        Seed::LeanBacklog => vec![
            "TRUNCATE tasks, orders RESTART IDENTITY".to_owned(),
            format!(
                "INSERT INTO tasks (kind, order_id, run_at)
                 SELECT 'step1', gen_random_uuid(), now() - interval '1 hour' + g * interval '1 millisecond'
                 FROM generate_series(1, {backlog}) AS g"
            ),
            "VACUUM ANALYZE tasks".to_owned(),
            "VACUUM ANALYZE orders".to_owned(),
        ],
        Seed::NoopBacklog => vec![
            "TRUNCATE tasks, task_attempts CASCADE".to_owned(),
            format!(
                "INSERT INTO tasks (kind, payload, max_attempts, run_at)
                 SELECT 'noop', '{{}}'::jsonb, 5, now() - interval '1 hour' + g * interval '1 millisecond'
                 FROM generate_series(1, {}) AS g",
                backlog * NOOP_BACKLOG_FACTOR
            ),
            "VACUUM ANALYZE tasks".to_owned(),
        ],
        Seed::Orders => vec![
            "TRUNCATE tasks, task_attempts, orders, order_items, order_history, order_events,
                      idempotency_keys, products CASCADE"
                .to_owned(),
            "INSERT INTO products (sku, name, price_cents, currency, stock)
             SELECT 'SKU-' || g, 'Product ' || g, 1000, 'EUR', 1000000000
             FROM generate_series(1, 100) AS g"
                .to_owned(),
            "WITH placed AS (
                 INSERT INTO orders (id, customer_email, currency, total_cents, payment_token)
                 SELECT gen_random_uuid(), 'shopper@example.com', 'EUR', 1000, 'tok_visa'
                 FROM generate_series(1, 200)
                 RETURNING id
             ),
             lines AS (
                 INSERT INTO order_items (order_id, line, sku, quantity, unit_price_cents)
                 SELECT id, 1, 'SKU-1', 1, 1000 FROM placed
             ),
             history AS (
                 INSERT INTO order_history (order_id, status, reason)
                 SELECT id, 'pending', 'order accepted' FROM placed
             )
             INSERT INTO tasks (kind, payload, max_attempts, order_id, run_at)
             SELECT 'charge_payment', jsonb_build_object('order_id', id), 5, id,
                    now() - interval '1 hour'
             FROM placed"
                .to_owned(),
            // Not VACUUM ANALYZE: statistics that say the emptied tables are
            // empty make plans (the trigger's, the foreign keys') that slow
            // down as the tables fill, and halved this ceiling (897 against
            // 1,784 placements/s, 2026-11-30). Tables never analyzed are
            // planned from their real size, as a fresh product database is.
            "ANALYZE products".to_owned(),
        ],
    };
    statements.push("CHECKPOINT".to_owned());
    for statement in &statements {
        sqlx::raw_sql(statement)
            .execute(pool)
            .await
            .with_context(|| format!("resetting the ceiling's tables: {statement}"))?;
    }
    Ok(())
}

async fn run_pgbench(
    pgbench: &Path,
    url: &str,
    script: &Path,
    path: &HotPath,
    plan: &CeilingPlan,
) -> anyhow::Result<CeilingLine> {
    let mut command = pgbench_command(pgbench, script, plan.clients, plan.seconds);
    for (name, value) in path.defines {
        command.args(["-D", &format!("{name}={value}")]);
    }
    let output = run_to_end(command, url, plan.seconds).await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let number = |prefix: &str| {
        stdout.lines().find_map(|line| {
            line.strip_prefix(prefix)?
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
    };
    // A client that failed aborts the run, which still prints a rate.
    let (true, Some(tps), Some(latency)) = (
        output.status.success(),
        number("tps = "),
        number("latency average = "),
    ) else {
        bail!(
            "pgbench failed on {}: {}{}",
            path.name,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    };
    Ok(CeilingLine {
        path: path.name.to_owned(),
        rows_per_sec: tps * f64::from(path.rows_per_transaction),
        transactions_per_sec: tps,
        mean_latency_ms: latency,
    })
}

/// The product's placing statement from `clients` pgbench clients back to
/// back for `seconds`: how fast, and how long each took, with PostgreSQL
/// alone. The `api` scenario sets its own figures beside these, for the same
/// number of clients (its 32 HTTP connections share the API's pool of
/// database connections; pgbench's 32 are each a database connection).
#[derive(Debug, Clone, Serialize)]
pub struct Placements {
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

pub async fn placements(
    server_url: &str,
    clients: u32,
    seconds: u64,
) -> anyhow::Result<Placements> {
    let pgbench = find_pgbench()?;
    let base = tempfile_dir()?;
    let scratch = ScratchDatabase::create(server_url, "ceiling").await?;
    let pool = scratch.pool(2).await?;
    create_schema(&pool, Schema::Product).await?;
    reset(&pool, Seed::Orders, 0).await?;
    pool.close().await;
    // A folder of its own, so that only this run's logs are read.
    let work = base.join(format!("placements-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&work).context("creating a folder for pgbench's logs")?;
    let script = work.join("place.sql");
    std::fs::write(&script, place_script()).context("writing a pgbench script")?;
    let prefix = work.join("placements");
    let mut command = pgbench_command(&pgbench, &script, clients, seconds);
    command
        .arg("--log")
        .arg(format!("--log-prefix={}", prefix.display()));
    let output = run_to_end(command, &scratch.url, seconds).await?;
    if !output.status.success() {
        bail!(
            "pgbench failed on the placements: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // Each line of pgbench's transaction log: client, transaction, latency
    // in microseconds, script, and when it ended.
    let mut latencies_ms = Vec::new();
    for entry in std::fs::read_dir(&work).context("reading pgbench's logs")? {
        let path = entry?.path();
        let is_log = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("placements."));
        if !is_log {
            continue;
        }
        let log = std::fs::read_to_string(&path).context("reading a pgbench log")?;
        latencies_ms.extend(
            log.lines()
                .filter_map(|line| line.split_whitespace().nth(2)?.parse::<f64>().ok())
                .map(|micros| micros / 1_000.0),
        );
    }
    scratch.drop_now().await?;
    let _ = std::fs::remove_dir_all(&work);
    let _ = std::fs::remove_dir(&base);
    if latencies_ms.is_empty() {
        bail!("pgbench logged no placement");
    }
    Ok(Placements {
        per_sec: latencies_ms.len() as f64 / seconds as f64,
        p50_ms: super::load::percentile(&mut latencies_ms, 50.0),
        p99_ms: super::load::percentile(&mut latencies_ms, 99.0),
    })
}

/// pgbench running `script` from `clients` clients (as many threads as
/// cores, at most one per client) for `seconds`, with prepared statements
/// and without vacuuming tables of its own; the caller adds what its run
/// needs, then runs it with [`run_to_end`].
fn pgbench_command(
    pgbench: &Path,
    script: &Path,
    clients: u32,
    seconds: u64,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(pgbench);
    command
        .args(["-n", "-M", "prepared"])
        .args(["-c", &clients.to_string()])
        .args(["-j", &clients.min(super::machine::cores()).to_string()])
        .args(["-T", &seconds.to_string()])
        .arg("-f")
        .arg(script)
        .kill_on_drop(true);
    command
}

/// Runs a pgbench `command` of `seconds` against `url`, with two minutes to
/// spare before it is given up on.
async fn run_to_end(
    mut command: tokio::process::Command,
    url: &str,
    seconds: u64,
) -> anyhow::Result<std::process::Output> {
    tokio::time::timeout(
        Duration::from_secs(seconds + 120),
        command.arg(url).output(),
    )
    .await
    .context("pgbench did not finish in time")?
    .context("could not run pgbench")
}

/// pgbench from PATH, or beside pg_config's binaries, or in Debian's
/// versioned folders.
fn find_pgbench() -> anyhow::Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("pgbench"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let pg_config = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).join("pgbench"));
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.flatten()
                .map(|e| e.path().join("bin/pgbench"))
                .collect()
        })
        .unwrap_or_default();
    debian.sort();
    debian.reverse();
    on_path
        .into_iter()
        .chain(pg_config)
        .chain(debian)
        .find(|p| p.is_file())
        .context(
            "pgbench was not found; it measures the ceiling every benchmark is a ratio of \
             (Debian: apt-get install postgresql-contrib, or put it on PATH)",
        )
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("asynccheckout-ceiling-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("creating a folder for pgbench's scripts")?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_saga_script_binds_every_parameter_of_the_products_statements() {
        let script = saga_script();
        assert_eq!(unbound_parameters(&script), 0, "{script}");
        assert_eq!(script.matches("INSERT INTO idempotency_keys").count(), 1);
        assert_eq!(script.matches("the_order AS MATERIALIZED").count(), 3);
        assert!(script.contains("AS successor_id,"));
        assert!(!script.contains("\"successor_id"));
    }

    #[test]
    fn the_queue_script_binds_every_parameter_of_the_products_claim_and_completion() {
        let script = queue_script();
        assert_eq!(unbound_parameters(&script), 0, "{script}");
        assert!(script.contains("FOR UPDATE SKIP LOCKED"), "{script}");
        assert!(script.contains("INSERT INTO task_attempts"), "{script}");
        assert!(script.contains("AS id,"), "{script}");
        assert!(!script.contains("\"id"), "{script}");
        // pgbench reads its variables in comments too, where no type can be
        // inferred for them.
        let variable = |l: &str| {
            l.split(':')
                .skip(1)
                .any(|after| after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
        };
        let commented = script.lines().filter(|l| l.trim_start().starts_with("--"));
        assert!(!commented.clone().any(variable), "{script}");
    }

    #[test]
    fn the_placement_script_binds_every_parameter_of_the_products_placement() {
        let script = place_script();
        assert_eq!(unbound_parameters(&script), 0, "{script}");
        assert!(script.starts_with("\\set sku"), "{script}");
        assert!(script.contains("AS task,"), "{script}");
        assert!(script.trim_end().ends_with(';'), "{script}");
    }

    /// How many `$n` placeholders are left in `script`.
    fn unbound_parameters(script: &str) -> usize {
        script
            .match_indices('$')
            .filter(|(at, _)| script[at + 1..].starts_with(|c: char| c.is_ascii_digit()))
            .count()
    }
}
