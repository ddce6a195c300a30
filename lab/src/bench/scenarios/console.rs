//! `console`: the operations console's pages at millions of rows. Loads
//! `--console-tasks` tasks (5 million: mostly finished, a backlog, dead
//! ones with errors, cancelled ones) and `--console-orders` orders (1
//! million, in every status) straight into a scratch database, analyzes it,
//! starts an API, signs in, and times every page and every count the
//! console has, cold once and then the median of warm loads. The target is
//! 200 ms each.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use sqlx::PgPool;

use super::{finish, prepare};
use crate::bench::report::{Measure, Target};
use crate::bench::{Bench, ScenarioResult};

/// The longest a page may take.
const PAGE_TARGET_MS: f64 = 200.0;

/// Warm loads of each page, of which the median is reported.
const WARM_LOADS: usize = 5;

pub async fn run(bench: &Bench) -> anyhow::Result<ScenarioResult> {
    let label = "console";
    let (db, pool, mut system) = prepare(bench, label).await?;
    let (tasks, orders) = (bench.args.console_tasks, bench.args.console_orders);
    let loading = Instant::now();
    load(&pool, tasks, orders).await?;
    eprintln!(
        "console: {tasks} tasks and {orders} orders loaded and analyzed in {:.0?}",
        loading.elapsed()
    );

    let admin_key = format!("ak_{}", uuid::Uuid::new_v4().simple());
    let api = system.start_api(&admin_key, 8).await?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?;
    let cookie = sign_in(&http, &api, &admin_key).await?;

    let sample = sample_ids(&pool).await?;
    let pages = [
        ("overview (counts, charts, workers)", "/ui".to_owned()),
        ("tasks, newest", "/ui/tasks".to_owned()),
        ("tasks, dead", "/ui/tasks?state=dead".to_owned()),
        (
            "tasks, dead of a kind with an error text",
            "/ui/tasks?state=dead&kind=send_confirmation&error=refused".to_owned(),
        ),
        ("tasks, available", "/ui/tasks?state=available".to_owned()),
        (
            "tasks, of a kind",
            "/ui/tasks?kind=reserve_inventory".to_owned(),
        ),
        (
            "tasks, of a rare kind (refunds)",
            "/ui/tasks?kind=refund_payment".to_owned(),
        ),
        (
            "tasks, of a kind with none",
            "/ui/tasks?kind=export_report".to_owned(),
        ),
        (
            "tasks, of an order",
            format!("/ui/tasks?order_id={}", sample.order),
        ),
        ("task, one dead", format!("/ui/tasks/{}", sample.dead_task)),
        ("orders, newest", "/ui/orders".to_owned()),
        ("orders, failed", "/ui/orders?status=failed".to_owned()),
        (
            "orders, by e-mail",
            format!("/ui/orders?q={}", sample.email),
        ),
        ("order, one", format!("/ui/orders/{}", sample.order)),
    ];
    let mut outcome = ScenarioResult::default();
    let mut details = Vec::new();
    for (name, path) in &pages {
        let url = format!("{api}{path}");
        let timing = time_get(&http, &url, &cookie).await?;
        details.push(serde_json::json!({
            "page": name, "path": path, "cold_ms": timing.cold_ms, "warm_median_ms": timing.warm_ms,
        }));
        outcome.measures.push(
            Measure::new(format!("{name}, warm median"), timing.warm_ms, "ms")
                .target(Target::AtMost(PAGE_TARGET_MS)),
        );
        outcome.measures.push(Measure::new(
            format!("{name}, first load"),
            timing.cold_ms,
            "ms",
        ));
    }
    // The bulk retry's count, the first step of its confirmation.
    let counted = time_count_dead(&http, &api, &cookie).await?;
    outcome.measures.push(
        Measure::new("retry-dead count (up to 10,000)", counted, "ms")
            .target(Target::AtMost(PAGE_TARGET_MS)),
    );
    // The API's queue statistics count exactly, for comparison.
    let stats = time_get_bearer(&http, &format!("{api}/v1/queue/stats"), &admin_key).await?;
    outcome.measures.push(Measure::new(
        "GET /v1/queue/stats (exact counts), warm median",
        stats,
        "ms",
    ));
    outcome.details = Some(serde_json::json!({
        "tasks": tasks, "orders": orders, "pages": details,
    }));
    outcome.peak_rss_mb = finish(label, db, pool, system).await?;
    Ok(outcome)
}

/// Fills the tables as a shop a few months old would have them: every
/// order's saga tasks finished, a backlog waiting, dead tasks with errors,
/// webhook deliveries done, each order in a status.
async fn load(pool: &PgPool, tasks: u64, orders: u64) -> anyhow::Result<()> {
    let orders = orders as i64;
    // Orders with time-ordered ids (UUIDv7's layout), spread over 90 days.
    sqlx::query(
        r#"
        INSERT INTO orders (id, status, customer_email, currency, total_cents, payment_token,
                            charge_id, created_at, updated_at)
        SELECT (lpad(to_hex((extract(epoch FROM at) * 1000)::bigint), 12, '0') || '7'
                || substr(md5(i::text), 1, 3) || '8' || substr(md5(i::text), 4, 15))::uuid,
               status, 'shopper' || (i % 200000) || '@example.com', 'USD', 1250 + i % 5000,
               'tok_visa', CASE WHEN status IN ('pending', 'cancelled', 'failed') THEN NULL
                                ELSE 'ch_' || md5(i::text) END,
               at, at
        FROM (
            SELECT i,
                   now() - interval '90 days' * (1 - i::float8 / $1) AS at,
                   (CASE
                        WHEN i % 100 < 85 THEN 'completed'
                        WHEN i % 100 < 93 THEN 'failed'
                        WHEN i % 100 < 97 THEN 'refunded'
                        WHEN i % 100 < 99 THEN 'cancelled'
                        ELSE (ARRAY['pending', 'paid', 'confirmed', 'refunding'])[1 + i % 4]
                    END)::order_status AS status
            FROM generate_series(1, $1::bigint) AS i
        ) AS made
        "#,
    )
    .bind(orders)
    .execute(pool)
    .await
    .context("loading the orders")?;

    // Of the tasks: 2% a backlog waiting, 0.8% dead, 0.2% cancelled, and of
    // the rest, each order's saga steps and webhook deliveries.
    let total = tasks as i64;
    let backlog = total / 50;
    let dead = total * 8 / 1000;
    let cancelled = total / 500;
    let finished = total - backlog - dead - cancelled;
    // Inserted in time order, as they would have been: each order's saga
    // steps (and a refund for a refunded one) among the webhook deliveries.
    let saga_orders = orders.min(finished / 4);
    sqlx::query(
        r#"
        INSERT INTO tasks (kind, payload, state, attempts, max_attempts, run_at, attempted_at,
                           created_at, finished_at, order_id)
        SELECT kind, '{}', 'completed', 1, 10, at, at, at, at + interval '40 ms', order_id
        FROM (
            SELECT step.kind, o.created_at + step.n * interval '50 ms' AS at, o.id AS order_id
            FROM (SELECT id, created_at, status FROM orders ORDER BY id LIMIT $2) AS o
            CROSS JOIN unnest(ARRAY['charge_payment', 'reserve_inventory', 'send_confirmation', 'refund_payment'])
                WITH ORDINALITY AS step (kind, n)
            WHERE step.kind <> 'refund_payment' OR o.status = 'refunded'
            UNION ALL
            SELECT 'deliver_webhook', now() - interval '90 days' * (1 - i::float8 / $1), NULL
            FROM generate_series(1, $1::bigint) AS i
        ) AS made
        ORDER BY at
        "#,
    )
    .bind(finished - 3 * saga_orders - saga_orders / 25)
    .bind(saga_orders)
    .execute(pool)
    .await
    .context("loading the finished tasks")?;
    sqlx::query(
        r#"
        INSERT INTO tasks (kind, payload, state, attempts, max_attempts, last_error, run_at,
                           attempted_at, finished_at)
        SELECT CASE WHEN i % 4 = 0 THEN 'charge_payment' ELSE 'send_confirmation' END, '{}', 'dead',
               8, 8,
               CASE WHEN i % 4 = 0 THEN 'the payment gateway answered 503 eight times'
                    ELSE 'the mail server refused: 554 5.7.1 relay denied (' || i || ')' END,
               now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour'
        FROM generate_series(1, $1::bigint) AS i
        "#,
    )
    .bind(dead)
    .execute(pool)
    .await
    .context("loading the dead tasks")?;
    sqlx::query(
        r#"
        INSERT INTO tasks (kind, payload, state, max_attempts, run_at, finished_at)
        SELECT 'charge_payment', '{}', 'cancelled', 8, now() - interval '2 hours', now() - interval '2 hours'
        FROM generate_series(1, $1::bigint)
        "#,
    )
    .bind(cancelled)
    .execute(pool)
    .await
    .context("loading the cancelled tasks")?;
    sqlx::query(
        r#"
        INSERT INTO tasks (kind, payload, max_attempts, run_at)
        SELECT 'deliver_webhook', '{}', 10, now() - interval '10 minutes' + i * interval '1 ms'
        FROM generate_series(1, $1::bigint) AS i
        "#,
    )
    .bind(backlog)
    .execute(pool)
    .await
    .context("loading the backlog")?;
    for table in ["orders", "tasks"] {
        sqlx::raw_sql(&format!("VACUUM ANALYZE {table}"))
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// An order, a dead task and a shopper's e-mail to open.
struct Sample {
    order: uuid::Uuid,
    dead_task: i64,
    email: String,
}

async fn sample_ids(pool: &PgPool) -> anyhow::Result<Sample> {
    let (order, email): (uuid::Uuid, String) = sqlx::query_as(
        "SELECT id, customer_email FROM orders WHERE status = 'completed' ORDER BY id DESC LIMIT 1 OFFSET 1000",
    )
    .fetch_one(pool)
    .await?;
    let dead_task: i64 =
        sqlx::query_scalar("SELECT id FROM tasks WHERE state = 'dead' ORDER BY id LIMIT 1")
            .fetch_one(pool)
            .await?;
    Ok(Sample {
        order,
        dead_task,
        email,
    })
}

/// Signs in; returns the session cookie (`name=value`).
async fn sign_in(http: &reqwest::Client, api: &str, key: &str) -> anyhow::Result<String> {
    let answer = http
        .post(format!("{api}/ui/sign-in"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("api_key={key}"))
        .send()
        .await?;
    let cookie = answer
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("signing in to the console gave no cookie")?;
    Ok(cookie.to_owned())
}

struct Timing {
    cold_ms: f64,
    warm_ms: f64,
}

/// Loads `url` once cold, then [`WARM_LOADS`] times; every answer must be 200.
async fn time_get(http: &reqwest::Client, url: &str, cookie: &str) -> anyhow::Result<Timing> {
    let load = || http.get(url).header(COOKIE, cookie);
    let cold_ms = time_once(url, load()).await?;
    let warm_ms = warm_median(url, load).await?;
    Ok(Timing { cold_ms, warm_ms })
}

/// The warm median of `GET url` with a bearer key.
async fn time_get_bearer(http: &reqwest::Client, url: &str, key: &str) -> anyhow::Result<f64> {
    warm_median(url, || http.get(url).bearer_auth(key)).await
}

/// The warm median of the bulk retry's first step: counting the matches.
async fn time_count_dead(http: &reqwest::Client, api: &str, cookie: &str) -> anyhow::Result<f64> {
    let page = http
        .get(format!("{api}/ui/tasks?state=dead"))
        .header(COOKIE, cookie)
        .send()
        .await?
        .text()
        .await?;
    let marker = r#"name="csrf" value=""#;
    let at = page
        .find(marker)
        .context("the dead tasks page has no CSRF token")?
        + marker.len();
    let csrf = page.get(at..at + 32).context("a short CSRF token")?;
    let url = format!("{api}/ui/tasks/retry-dead");
    warm_median("the retry-dead count", || {
        http.post(&url)
            .header(COOKIE, cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("csrf={csrf}&kind=send_confirmation&error=refused"))
    })
    .await
}

/// The median of [`WARM_LOADS`] sends of `request`.
async fn warm_median(
    what: &str,
    request: impl Fn() -> reqwest::RequestBuilder,
) -> anyhow::Result<f64> {
    let mut times = Vec::new();
    for _ in 0..WARM_LOADS {
        times.push(time_once(what, request()).await?);
    }
    Ok(median(times))
}

/// How long `request` takes to be answered in full, in ms; it must be 200.
async fn time_once(what: &str, request: reqwest::RequestBuilder) -> anyhow::Result<f64> {
    let started = Instant::now();
    let answer = request.send().await?;
    let status = answer.status();
    let body = answer.text().await?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if status != 200 {
        bail!("{what} answered {status}: {body}");
    }
    Ok(ms)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
