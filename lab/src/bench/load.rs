//! Load on the API: a shop seeded with plenty of stock, orders placed at a
//! fixed rate (open loop) or by a fixed number of connections (closed loop),
//! and the latencies of what was placed, read back from the database.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use indicatif::ProgressBar;
use serde_json::json;
use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

/// The card the mock gateway always charges.
const GOOD_CARD: &str = "tok_visa";

/// A client of the API with the catalog it orders from.
#[derive(Clone)]
pub struct Shop {
    /// The API's base URL.
    pub api: String,
    http: reqwest::Client,
    orders_url: String,
    skus: Arc<[String]>,
}

/// One accepted order.
#[derive(Debug, Clone, Copy)]
pub struct Placed {
    pub id: Uuid,
    /// When the request was sent, by the wall clock the database also uses.
    pub sent_at: DateTime<Utc>,
    /// How long the API took to answer 202.
    pub post_ms: f64,
}

/// What one load step produced.
#[derive(Debug, Default)]
pub struct Placements {
    pub placed: Vec<Placed>,
    /// Requests that did not get a 202, with the first such answer.
    pub refused: u64,
    pub first_refusal: Option<String>,
    /// From the first send to the last answer.
    pub elapsed: Duration,
}

impl Shop {
    /// Adds `skus` products with stock no benchmark runs out of.
    pub async fn seed(
        pool: &PgPool,
        api: &str,
        admin_key: &str,
        skus: usize,
    ) -> anyhow::Result<Self> {
        let names: Vec<String> = (0..skus).map(|i| format!("BENCH-{i:04}")).collect();
        sqlx::query(
            "INSERT INTO products (sku, name, price_cents, currency, stock)
             SELECT sku, 'Benchmark item ' || sku, 1999, 'USD', 1000000000 FROM unnest($1::text[]) AS sku",
        )
        .bind(&names)
        .execute(pool)
        .await
        .context("seeding the catalog")?;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {admin_key}")
                .parse()
                .context("the admin key is not a valid header value")?,
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .pool_max_idle_per_host(1024)
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            api: api.to_owned(),
            http,
            orders_url: format!("{api}/v1/orders"),
            skus: names.into(),
        })
    }

    /// Places one order for one of the catalog's items.
    pub async fn place(&self, n: u64) -> Result<Placed, String> {
        let sku = &self.skus[(n as usize) % self.skus.len()];
        let body = json!({
            "customer_email": format!("shopper{n}@example.com"),
            "items": [{ "sku": sku, "quantity": 1 }],
            "payment_token": GOOD_CARD,
        });
        let sent_at = Utc::now();
        let started = Instant::now();
        let response = self
            .http
            .post(&self.orders_url)
            .header("Idempotency-Key", Uuid::new_v4().to_string())
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        let post_ms = started.elapsed().as_secs_f64() * 1e3;
        if status.as_u16() != 202 {
            return Err(format!("{status}: {text}"));
        }
        let order: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let id = order["id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| format!("no order id in {text}"))?;
        Ok(Placed {
            id,
            sent_at,
            post_ms,
        })
    }

    /// `connections` clients each placing orders back to back for `duration`.
    pub async fn closed_loop(
        &self,
        connections: usize,
        duration: Duration,
        bar: &ProgressBar,
    ) -> Placements {
        let started = Instant::now();
        let until = started + duration;
        let mut clients = JoinSet::new();
        for c in 0..connections {
            let shop = self.clone();
            let bar = bar.clone();
            clients.spawn(async move {
                let mut results = Vec::new();
                let mut n = c as u64;
                while Instant::now() < until {
                    results.push(shop.place(n).await);
                    bar.inc(1);
                    n += connections as u64;
                }
                results
            });
        }
        let mut all = Vec::new();
        while let Some(Ok(results)) = clients.join_next().await {
            all.extend(results);
        }
        collect(all, started.elapsed())
    }

    /// Places `rate` orders a second for `duration`, each sent on schedule
    /// whether or not earlier ones have been answered.
    pub async fn open_loop(
        &self,
        rate: f64,
        duration: Duration,
        first: u64,
        bar: &ProgressBar,
    ) -> Placements {
        let total = (rate * duration.as_secs_f64()).round() as u64;
        let started = Instant::now();
        let mut requests = JoinSet::new();
        for i in 0..total {
            tokio::time::sleep_until(started + Duration::from_secs_f64(i as f64 / rate)).await;
            let shop = self.clone();
            let bar = bar.clone();
            requests.spawn(async move {
                let result = shop.place(first + i).await;
                bar.inc(1);
                result
            });
        }
        let mut all = Vec::with_capacity(total as usize);
        while let Some(Ok(result)) = requests.join_next().await {
            all.push(result);
        }
        collect(all, started.elapsed())
    }
}

fn collect(results: Vec<Result<Placed, String>>, elapsed: Duration) -> Placements {
    let mut placements = Placements {
        elapsed,
        ..Placements::default()
    };
    for result in results {
        match result {
            Ok(placed) => placements.placed.push(placed),
            Err(e) => {
                placements.refused += 1;
                placements.first_refusal.get_or_insert(e);
            }
        }
    }
    placements
}

/// From POST to `completed`, for each of `placed` that completed: the
/// completion's time (the completing transaction's) less the send time.
pub async fn completion_latencies(
    pool: &PgPool,
    placed: &[Placed],
) -> anyhow::Result<Vec<(DateTime<Utc>, f64)>> {
    let ids: Vec<Uuid> = placed.iter().map(|p| p.id).collect();
    let sent: std::collections::HashMap<Uuid, DateTime<Utc>> =
        placed.iter().map(|p| (p.id, p.sent_at)).collect();
    let rows: Vec<(Uuid, DateTime<Utc>)> = sqlx::query_as(
        "SELECT order_id, at FROM order_history
         WHERE order_id = ANY($1) AND status = 'completed'",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, at)| {
            let sent = sent.get(&id)?;
            Some((at, (at - *sent).num_microseconds()? as f64 / 1e3))
        })
        .collect())
}

/// Enqueue → claim, per task kind, for tasks of `placed` orders: p50 and p99 in ms.
pub async fn hop_latencies(
    pool: &PgPool,
    placed: &[Placed],
) -> anyhow::Result<Vec<(String, f64, f64)>> {
    let ids: Vec<Uuid> = placed.iter().map(|p| p.id).collect();
    let rows: Vec<(String, f64, f64)> = sqlx::query_as(
        "SELECT kind,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY wait_ms),
                percentile_cont(0.99) WITHIN GROUP (ORDER BY wait_ms)
         FROM (SELECT t.kind, extract(epoch FROM a.started_at - t.created_at) * 1000 AS wait_ms
               FROM tasks t JOIN task_attempts a ON a.task_id = t.id AND a.attempt = 1
               WHERE t.order_id = ANY($1)) AS waits
         GROUP BY kind ORDER BY kind",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// The `p`-th percentile (0–100) of `values`, which it sorts.
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (values.len() - 1) as f64).round() as usize;
    values[rank.min(values.len() - 1)]
}
