//! `fanout`: order events pushed to many open streams on one API process.
//!
//! `--streams` shoppers' pages hold a stream each on an order of their own
//! (placed first, its payment held back an hour, so the page stays open for
//! the whole run), and ten dashboards follow every order, while the saga
//! runs `--fanout-rate` orders a second for `--fanout-seconds`, each new
//! order followed by a page of its own too. Reported: event written →
//! received by a client, p50 and p99 over every live event on every stream
//! (the written time is the transaction's, a little before its commit, so
//! this errs long); the API's peak RSS; the database connections the API
//! held at most; and webhook deliveries a second to a fast local receiver
//! (the held orders' `order.pending`, a backlog of `--streams`, sent before
//! the streams open; the endpoint is disabled for the streams' part).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use testkit::process::admin_key;
use testkit::sse::SseReader;
use testkit::webhook_receiver::WebhookReceiver;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

use super::{finish, prepare};
use crate::bench::load::{Shop, percentile};
use crate::bench::report::{Measure, Target};
use crate::bench::{Bench, SAMPLE_EVERY, ScenarioResult};

/// Streams of every order.
const DASHBOARDS: usize = 10;

/// Streams opened at once while the pages arrive.
const OPENING_AT_ONCE: usize = 100;

/// Longest wait for any phase.
const PHASE_DEADLINE: Duration = Duration::from_secs(120);

/// Written → received latencies, in ms, from every stream.
type Latencies = Arc<Mutex<Vec<f64>>>;

pub async fn run(bench: &Bench) -> anyhow::Result<ScenarioResult> {
    let (db, pool, mut system) = prepare(bench, "fanout").await?;
    let streams = bench.args.streams;
    let gateway = system.start_gateway().await?;
    let key = admin_key();
    let api = system.start_api(&key, bench.args.api_connections).await?;
    let shop = Shop::seed(&pool, &api, &key, 1_000).await?;
    let client = stream_client(&key)?;
    let receiver = WebhookReceiver::start().await?;
    let endpoint = create_endpoint(&client, &api, &receiver).await?;

    // The pages' orders, placed with no worker running, their payments
    // then held back an hour: they stay pending, their pages open.
    let held = place_many(&shop, streams).await?;
    sqlx::query(
        "UPDATE tasks SET run_at = now() + interval '1 hour'
         WHERE order_id = ANY($1) AND state = 'available'",
    )
    .bind(&held)
    .execute(&pool)
    .await
    .context("holding back the pages' payments")?;
    for i in 0..bench.args.workers {
        let env = vec![
            ("GATEWAY_URL", gateway.clone()),
            (
                "WORKER_CONCURRENCY",
                bench.args.saga_concurrency.to_string(),
            ),
            ("DATABASE_MAX_CONNECTIONS", "16".to_owned()),
            ("WEBHOOK_ALLOW_PRIVATE_URLS", "true".to_owned()),
            ("WEBHOOK_ALLOW_HTTP", "true".to_owned()),
        ];
        system.start_worker(i, &env).await?;
    }
    // Their `order.pending` deliveries are the webhook backlog.
    let delivered = receiver
        .wait_for(PHASE_DEADLINE, |r| r.len() >= streams)
        .await
        .map_err(|r| anyhow::anyhow!("fanout: {} of {streams} webhooks arrived", r.len()))?;
    let span = delivered[delivered.len() - 1].at - delivered[0].at;
    let deliveries_per_sec = delivered.len() as f64 / span.as_secs_f64().max(1e-3);
    // The streams are measured alone: webhooks are a load of their own.
    client
        .patch(format!("{api}/v1/webhook-endpoints/{endpoint}"))
        .json(&serde_json::json!({ "enabled": false }))
        .send()
        .await?
        .error_for_status()
        .context("disabling the webhook endpoint")?;

    // The pages open, a hundred at a time; each reads its order's first event.
    let latencies: Latencies = Arc::default();
    let page_latencies: Latencies = Arc::default();
    let mut pages = JoinSet::new();
    let opening = Arc::new(Semaphore::new(OPENING_AT_ONCE));
    for order in held {
        let permit = Arc::clone(&opening).acquire_owned().await?;
        let (client, api) = (client.clone(), api.clone());
        pages.spawn(async move {
            let mut reader = open(&client, &format!("{api}/v1/orders/{order}/events")).await?;
            reader.next().await?;
            drop(permit);
            // Held open, reading, until the run ends.
            while reader.next().await?.is_some() {}
            anyhow::Ok(())
        });
    }
    let _all_opened = opening.acquire_many(OPENING_AT_ONCE as u32).await?;
    let mut dashboards = JoinSet::new();
    for _ in 0..DASHBOARDS {
        let mut reader = open(&client, &format!("{api}/v1/events/stream")).await?;
        let latencies = Arc::clone(&latencies);
        dashboards.spawn(async move {
            while let Some(event) = reader.next().await? {
                record(&latencies, &event.data);
            }
            anyhow::Ok(())
        });
    }

    // The saga at a steady rate, each new order followed by a page.
    let rate = bench.args.fanout_rate;
    let total = (rate * bench.args.fanout_seconds as f64).round() as u64;
    let connections = Arc::new(Mutex::new(0_i64));
    let sampling = tokio::spawn(sample_connections(pool.clone(), Arc::clone(&connections)));
    let started = Instant::now();
    let mut followers = JoinSet::new();
    for n in 0..total {
        tokio::time::sleep_until(started + Duration::from_secs_f64(n as f64 / rate)).await;
        let (shop, client, api) = (shop.clone(), client.clone(), api.clone());
        let latencies = Arc::clone(&page_latencies);
        followers.spawn(async move {
            let placed = shop
                .place(n)
                .await
                .map_err(|e| anyhow::anyhow!("an order was refused: {e}"))?;
            let mut reader =
                open(&client, &format!("{api}/v1/orders/{}/events", placed.id)).await?;
            let mut first = true;
            while let Some(event) = reader.next().await? {
                // The first may have been read from the database on opening.
                if !first {
                    record(&latencies, &event.data);
                }
                first = false;
            }
            anyhow::Ok(())
        });
    }
    let deadline = Instant::now() + PHASE_DEADLINE;
    while let Some(followed) = tokio::time::timeout_at(deadline, followers.join_next())
        .await
        .context("fanout: the followed orders did not end within 120 s")?
    {
        followed??;
    }
    system.sample_memory();
    sampling.abort();
    // The pages and the dashboards were open to the end: none failed.
    for set in [&mut pages, &mut dashboards] {
        if let Some(done) = set.try_join_next() {
            done??;
            bail!("fanout: a stream ended before the run did");
        }
        set.abort_all();
    }

    let mut latencies =
        std::mem::take(&mut *latencies.lock().unwrap_or_else(PoisonError::into_inner));
    let mut page_latencies = std::mem::take(
        &mut *page_latencies
            .lock()
            .unwrap_or_else(PoisonError::into_inner),
    );
    let dashboard_p99 = percentile(&mut latencies.clone(), 99.0);
    let page_p99 = percentile(&mut page_latencies.clone(), 99.0);
    latencies.append(&mut page_latencies);
    let peak_rss_mb = finish("fanout", db, pool, system).await?;
    let api_rss = peak_rss_mb.get("fanout/api").copied().unwrap_or(f64::NAN);
    let connections = *connections.lock().unwrap_or_else(PoisonError::into_inner);
    let measures = vec![
        Measure::new(
            "streams open on the API",
            (streams + DASHBOARDS) as f64,
            "streams",
        ),
        Measure::new("live events received", latencies.len() as f64, "events"),
        Measure::new(
            "written → received p50",
            percentile(&mut latencies, 50.0),
            "ms",
        ),
        Measure::new(
            "written → received p99",
            percentile(&mut latencies, 99.0),
            "ms",
        )
        .target(Target::AtMost(50.0)),
        Measure::new("dashboards: written → received p99", dashboard_p99, "ms"),
        Measure::new("orders' pages: written → received p99", page_p99, "ms"),
        Measure::new("API peak RSS", api_rss, "MB").target(Target::AtMost(150.0)),
        Measure::new(
            "API database connections, at most",
            connections as f64,
            "conns",
        )
        .target(Target::AtMost(f64::from(bench.args.api_connections) + 2.0)),
        Measure::new("webhook deliveries", deliveries_per_sec, "/s"),
    ];
    Ok(ScenarioResult {
        measures,
        peak_rss_mb,
        details: None,
    })
}

/// A client for streams: the admin key, no overall timeout.
fn stream_client(key: &str) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {key}").parse()?,
    );
    Ok(reqwest::Client::builder()
        .default_headers(headers)
        .connect_timeout(Duration::from_secs(10))
        .build()?)
}

async fn open(client: &reqwest::Client, url: &str) -> anyhow::Result<SseReader> {
    let response = client.get(url).send().await?;
    if response.status() != 200 {
        bail!("{url} answered {}", response.status());
    }
    Ok(SseReader::new(response))
}

/// Records how long ago `event` was written.
fn record(latencies: &Latencies, event: &serde_json::Value) {
    let written = event["created"]
        .as_str()
        .and_then(|c| DateTime::parse_from_rfc3339(c).ok());
    if let Some(written) = written {
        let ms = (Utc::now() - written.with_timezone(&Utc))
            .num_microseconds()
            .unwrap_or(0) as f64
            / 1e3;
        latencies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(ms);
    }
}

/// A webhook endpoint for every event, to `receiver`; returns its id.
async fn create_endpoint(
    client: &reqwest::Client,
    api: &str,
    receiver: &WebhookReceiver,
) -> anyhow::Result<String> {
    let created: serde_json::Value = client
        .post(format!("{api}/v1/webhook-endpoints"))
        .json(&serde_json::json!({ "url": receiver.url }))
        .send()
        .await?
        .error_for_status()
        .context("creating the webhook endpoint")?
        .json()
        .await?;
    receiver.trust(created["secret"].as_str().context("no secret")?);
    Ok(created["id"].as_str().context("no id")?.to_owned())
}

/// Places `count` orders, 32 at a time; returns their ids.
async fn place_many(shop: &Shop, count: usize) -> anyhow::Result<Vec<Uuid>> {
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut placers = JoinSet::new();
    for _ in 0..32 {
        let (shop, next) = (shop.clone(), Arc::clone(&next));
        placers.spawn(async move {
            let mut ids = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= count as u64 {
                    return anyhow::Ok(ids);
                }
                let placed = shop
                    .place(1_000_000 + n)
                    .await
                    .map_err(|e| anyhow::anyhow!("an order was refused: {e}"))?;
                ids.push(placed.id);
            }
        });
    }
    let mut ids = Vec::with_capacity(count);
    while let Some(placed) = placers.join_next().await {
        ids.extend(placed??);
    }
    Ok(ids)
}

/// Keeps the most connections the API held at once in `most`.
async fn sample_connections(pool: PgPool, most: Arc<Mutex<i64>>) {
    loop {
        let held: Result<i64, _> = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = 'asynccheckout-api'",
        )
        .fetch_one(&pool)
        .await;
        if let Ok(held) = held {
            let mut most = most.lock().unwrap_or_else(PoisonError::into_inner);
            *most = (*most).max(held);
        }
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
}
