//! What a chaos run leaves behind, gathered once for the checks to judge:
//! the database's final state (orders, open tasks, stock, what was sold),
//! the gateway's ledger, the confirmations mailed, the first panic in each
//! process's log, and what the shoppers and the faults recorded on the way.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;
use sqlx::PgPool;
use uuid::Uuid;

use testkit::slowloris::SlowlorisRecord;

use super::mayhem::MayhemLog;
use super::shoppers::{Exchange, Purchase};

/// Everything the checks judge.
pub struct Evidence<'a> {
    /// Every order in the database, by id.
    pub orders: HashMap<Uuid, OrderRow>,
    /// Tasks running, waiting or dead.
    pub open_tasks: Vec<OpenTask>,
    /// How many tasks are done (completed or cancelled).
    pub settled_tasks: usize,
    /// Each product's stock at the end, by sku.
    pub stock: Vec<(String, i64)>,
    /// Units sold (in `confirmed` or `completed` orders), by sku.
    pub sold: HashMap<String, i64>,
    /// Each log file with the first line that says a thread panicked.
    pub logs: Vec<(String, Option<String>)>,
    /// Every event, oldest first.
    pub events: Vec<EventRow>,
    /// Each order's statuses, in the order it took them.
    pub histories: HashMap<Uuid, Vec<String>>,
    /// What the run itself recorded on the way.
    pub run: RunRecord<'a>,
}

/// An event as the database holds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub order_id: Uuid,
    pub event_type: String,
}

/// One webhook receiver of the run: the event types its endpoint
/// subscribed to (empty: all), and every request it got.
#[derive(Debug, Clone)]
pub struct ReceiverRecord {
    pub name: &'static str,
    pub types: Vec<String>,
    pub received: Vec<testkit::webhook_receiver::Received>,
}

/// What the run itself recorded, to go with what is read at the end.
pub struct RunRecord<'a> {
    /// The gateway's ledger.
    pub ledger: &'a [LedgerEntry],
    /// How each shopper's order went.
    pub outcomes: &'a [Purchase],
    /// Shopper tasks that died (each one's order escaped the other checks).
    pub shopper_failures: &'a [String],
    /// Every request the shoppers sent, with its answer.
    pub exchanges: &'a [Exchange],
    /// The faults injected, and when.
    pub mayhem: &'a MayhemLog,
    /// Each product's stock before the run.
    pub initial_stock: &'a BTreeMap<String, i64>,
    /// Confirmations mailed, per order.
    pub mailed: &'a HashMap<Uuid, usize>,
    /// What the slowloris client saw of the API.
    pub slowloris: &'a SlowlorisRecord,
    /// What each webhook receiver got.
    pub receivers: &'a [ReceiverRecord],
}

/// One line of the gateway's `GET /v1/ledger`.
#[derive(Debug, Clone, Deserialize)]
pub struct LedgerEntry {
    pub id: String,
    /// `charge`, `refund`, `authorization`, `capture` or `void`.
    pub kind: String,
    pub amount: i64,
    pub order_id: Option<String>,
    pub charge: Option<String>,
    /// The payment intent an authorization, capture or void belongs to.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// When an authorization lapses if it is neither captured nor voided.
    #[serde(default)]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// An order as the database has it at the end.
#[derive(Debug, sqlx::FromRow)]
pub struct OrderRow {
    pub id: Uuid,
    pub status: String,
    pub total_cents: i64,
    pub charge_id: Option<String>,
}

/// A task that is not done: running, waiting, or dead.
#[derive(Debug, sqlx::FromRow)]
pub struct OpenTask {
    pub id: i64,
    pub kind: String,
    pub state: String,
    pub due: bool,
    pub order_id: Option<String>,
    pub last_error: Option<String>,
}

impl<'a> Evidence<'a> {
    /// Reads the database through `pool` and the logs in `logs`, and puts
    /// them beside what the run `recorded`.
    pub async fn gather(
        pool: &PgPool,
        logs: &Path,
        recorded: RunRecord<'a>,
    ) -> anyhow::Result<Self> {
        let orders: Vec<OrderRow> = sqlx::query_as(
            "SELECT id, status::text AS status, total_cents, charge_id FROM orders ORDER BY id",
        )
        .fetch_all(pool)
        .await
        .context("reading the orders")?;
        let open_tasks: Vec<OpenTask> = sqlx::query_as(
            "SELECT id, kind, state::text AS state, run_at <= now() AS due,
                    payload->>'order_id' AS order_id, last_error
             FROM tasks
             WHERE state IN ('running', 'available', 'dead')
             ORDER BY id",
        )
        .fetch_all(pool)
        .await
        .context("reading the open tasks")?;
        let settled_tasks: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM tasks WHERE state NOT IN ('running', 'available', 'dead')",
        )
        .fetch_one(pool)
        .await
        .context("counting the settled tasks")?;
        let stock: Vec<(String, i64)> =
            sqlx::query_as("SELECT sku, stock::bigint FROM products ORDER BY sku")
                .fetch_all(pool)
                .await
                .context("reading the stock")?;
        let sold: HashMap<String, i64> = sqlx::query_as(
            "SELECT i.sku, sum(i.quantity)::bigint
             FROM order_items AS i JOIN orders AS o ON o.id = i.order_id
             WHERE o.status IN ('completed', 'confirmed')
             GROUP BY i.sku",
        )
        .fetch_all(pool)
        .await
        .context("reading what was sold")?
        .into_iter()
        .collect();
        let events: Vec<EventRow> = sqlx::query_as(
            "SELECT id, order_id, type AS event_type FROM order_events
             WHERE id IS NOT NULL ORDER BY id",
        )
        .fetch_all(pool)
        .await
        .context("reading the events")?;
        let history: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT order_id, status::text FROM order_history ORDER BY order_id, id",
        )
        .fetch_all(pool)
        .await
        .context("reading the order histories")?;
        let mut histories: HashMap<Uuid, Vec<String>> = HashMap::new();
        for (order, status) in history {
            histories.entry(order).or_default().push(status);
        }
        Ok(Self {
            events,
            histories,
            orders: orders.into_iter().map(|o| (o.id, o)).collect(),
            open_tasks,
            settled_tasks: usize::try_from(settled_tasks).unwrap_or(0),
            stock,
            sold,
            logs: first_panics(logs)?,
            run: recorded,
        })
    }
}

/// Each `*.log` in `logs` with its first line that says `panicked at`.
fn first_panics(logs: &Path) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let entries = std::fs::read_dir(logs)
        .with_context(|| format!("listing the logs in {}", logs.display()))?;
    let mut found = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "log") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let panic = text
            .lines()
            .find(|line| line.contains("panicked at"))
            .map(str::to_owned);
        found.push((path.display().to_string(), panic));
    }
    found.sort();
    Ok(found)
}

/// Confirmations sent, per order, read from the emails' Message-IDs
/// (`<order-{id}@asynccheckout>`) in the workers' development mail transport
/// folder (one `.eml` file per email).
pub fn confirmations(mail: &Path) -> anyhow::Result<HashMap<Uuid, usize>> {
    let mut sent = HashMap::new();
    let Ok(entries) = std::fs::read_dir(mail) else {
        return Ok(sent); // nothing was mailed
    };
    for entry in entries {
        let path = entry?.path();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let id = text.lines().find_map(|line| {
            let value = line.strip_prefix("Message-ID: <order-")?;
            Uuid::parse_str(value.strip_suffix("@asynccheckout>")?).ok()
        });
        if let Some(id) = id {
            *sent.entry(id).or_insert(0) += 1;
        }
    }
    Ok(sent)
}
