//! A running AsyncCheckout for one test: `asynccheckout mock-gateway`, `api`
//! and N `worker` processes against the test's database, with a real SMTP
//! server (aiosmtpd) catching the confirmation emails. Every process is
//! killed when the `System` is dropped; their logs are kept under
//! `target/tmp/test-logs/<test>/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgPool};
use testkit::process;

pub use crate::mail_sink::MailSink;
use tokio::process::Child;

pub const BINARY: &str = env!("CARGO_BIN_EXE_asynccheckout");
pub const DEADLINE: Duration = Duration::from_secs(60);

pub struct Options {
    pub workers: usize,
    /// `ADMISSION_MAX_QUEUE_AGE_SECS` of the API (0: off).
    pub admission_max_queue_age_secs: u64,
    /// More settings for every worker, e.g. `("TASK_LEASE_SECS", "2")`.
    pub worker_env: Vec<(&'static str, String)>,
    /// More settings for the API.
    pub api_env: Vec<(&'static str, String)>,
    /// More settings for the mock gateway, e.g.
    /// `("GATEWAY_AUTHORIZATION_TTL_SECS", "2")`.
    pub gateway_env: Vec<(&'static str, String)>,
    /// The workers' per-call gateway timeout (hangs and lost responses cost this).
    pub gateway_timeout_ms: u64,
    /// The DATABASE_URL of the API and the workers, when it is not the test
    /// database's own (e.g. through PgBouncer); the test's pool connects
    /// directly either way.
    pub processes_database_url: Option<String>,
}

impl Options {
    /// The defaults with no worker started: for tests that drive the API
    /// alone, or start their workers themselves.
    pub fn without_workers() -> Self {
        Self {
            workers: 0,
            ..Self::default()
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            workers: 1,
            admission_max_queue_age_secs: 0,
            worker_env: Vec::new(),
            api_env: Vec::new(),
            gateway_env: Vec::new(),
            gateway_timeout_ms: 1_000,
            processes_database_url: None,
        }
    }
}

pub struct System {
    pub api: String,
    /// The admin key (BOOTSTRAP_ADMIN_KEY) the API was started with.
    pub admin_key: String,
    pub database_url: String,
    pub gateway: String,
    /// Sends the admin key (BOOTSTRAP_ADMIN_KEY) with every request.
    pub http: reqwest::Client,
    pub pool: PgPool,
    pub mail: MailSink,
    /// The API's metrics port, then each worker's.
    pub metrics: Vec<String>,
    logs: PathBuf,
    /// The worker processes, in order; worker `i` runs as `WORKER_ID=worker-<i>`.
    pub workers: Vec<Child>,
    /// What every worker is started with.
    worker_env: Vec<(&'static str, String)>,
    pub api_process: Child,
    /// What the API is started with, before `Options::api_env`.
    api_base_env: Vec<(&'static str, String)>,
    _processes: Vec<Child>,
}

/// Starts a role of the binary, its stderr to `log` (with `RUST_LOG=info`
/// unless `envs` says otherwise), and waits for its `ready` line.
async fn start(
    program: &str,
    args: &[&str],
    envs: &[(&str, String)],
    log: &Path,
) -> (Child, String) {
    let mut all = vec![("RUST_LOG", "info".to_owned())];
    all.extend(envs.iter().map(|(k, v)| (*k, v.clone())));
    process::start(Path::new(program), args, &all, log)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
}

fn field(ready: &str, name: &str) -> String {
    process::field(ready, name).unwrap()
}

fn log_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("test-logs")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl System {
    pub async fn start(test: &str, db: &PgConnectOptions, options: Options) -> Self {
        let logs = log_dir(test);
        let database_url = options
            .processes_database_url
            .clone()
            .unwrap_or_else(|| db.to_url_lossy().to_string());
        let admin_key = format!("ak_{}", uuid::Uuid::new_v4().simple());
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect_with(db.clone())
            .await
            .unwrap();
        let mail = MailSink::start(&logs).await;

        let mut gateway_env = vec![("LISTEN_ADDR", "127.0.0.1:0".to_owned())];
        gateway_env.extend(options.gateway_env.iter().cloned());
        let (gateway_process, ready) = start(
            BINARY,
            &["mock-gateway"],
            &gateway_env,
            &logs.join("gateway.log"),
        )
        .await;
        let gateway = field(&ready, "gateway");
        let mut api_env = vec![
            ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
            ("DATABASE_URL", database_url.clone()),
            ("BOOTSTRAP_ADMIN_KEY", admin_key.clone()),
            ("METRICS_ADDR", "0".into()),
            (
                "ADMISSION_MAX_QUEUE_AGE_SECS",
                options.admission_max_queue_age_secs.to_string(),
            ),
        ];
        let api_base_env = api_env.clone();
        api_env.extend(options.api_env.iter().cloned());
        let (api_process, ready) = start(BINARY, &["api"], &api_env, &logs.join("api.log")).await;
        let api = field(&ready, "api");
        let metrics = vec![field(&ready, "metrics")];
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "authorization",
            format!("Bearer {admin_key}").parse().unwrap(),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap();
        let processes = vec![gateway_process];
        let worker_env = vec![
            ("DATABASE_URL", database_url.clone()),
            ("GATEWAY_URL", gateway.clone()),
            ("GATEWAY_TIMEOUT_MS", options.gateway_timeout_ms.to_string()),
            ("SMTP_URL", mail.url.clone()),
            ("RETRY_BASE_MS", "20".into()),
            ("RETRY_CAP_SECS", "1".into()),
            ("POLL_INTERVAL_MS", "200".into()),
            ("METRICS_ADDR", "0".into()),
        ]
        .into_iter()
        .chain(options.worker_env.iter().cloned())
        .collect();
        let mut system = Self {
            api,
            gateway,
            admin_key,
            database_url,
            http,
            pool,
            mail,
            metrics,
            logs,
            workers: Vec::new(),
            worker_env,
            api_process,
            api_base_env,
            _processes: processes,
        };
        for i in 0..options.workers {
            system.start_worker(i, &[]).await;
        }
        system
    }

    /// Starts a new API process (killing the old one if it still runs) with
    /// the system's API settings plus `env` (not `Options::api_env`), and
    /// points `api` and `metrics[0]` at it. Its log is `api-restarted.log`.
    pub async fn restart_api(&mut self, env: &[(&'static str, String)]) {
        let _ = self.api_process.kill().await;
        let mut all = self.api_base_env.clone();
        all.extend(env.iter().cloned());
        let (process, ready) =
            start(BINARY, &["api"], &all, &self.logs.join("api-restarted.log")).await;
        self.api = field(&ready, "api");
        self.metrics[0] = field(&ready, "metrics");
        self.api_process = process;
    }

    /// Starts one more API process, `name` (its log `<name>.log`), with the
    /// system's API settings plus `env` (not `Options::api_env`), beside the
    /// first; returns its URL. It runs until the system is dropped.
    pub async fn start_another_api(
        &mut self,
        name: &str,
        env: &[(&'static str, String)],
    ) -> String {
        let mut all = self.api_base_env.clone();
        all.extend(env.iter().cloned());
        let (process, ready) = start(
            BINARY,
            &["api"],
            &all,
            &self.logs.join(format!("{name}.log")),
        )
        .await;
        self._processes.push(process);
        field(&ready, "api")
    }

    /// Starts worker `i` (`WORKER_ID=worker-<i>`, log `worker-<i>.log`) with
    /// `env` on top of the system's worker settings, and waits until it is
    /// ready; it is `workers[i]` when started in order.
    pub async fn start_worker(&mut self, i: usize, env: &[(&'static str, String)]) {
        let mut all = vec![("WORKER_ID", format!("worker-{i}"))];
        all.extend(self.worker_env.iter().cloned());
        all.extend(env.iter().cloned());
        let (worker, ready) = start(
            BINARY,
            &["worker"],
            &all,
            &self.logs.join(format!("worker-{i}.log")),
        )
        .await;
        self.metrics.push(field(&ready, "metrics"));
        self.workers.push(worker);
    }

    /// Starts worker `i` with a mail server that refuses every connection:
    /// its confirmations fail every attempt and die, and their orders stay
    /// `confirmed`. Its circuit breakers are off: with them, the mail
    /// server's would open and hold the confirmations (alive, probed each
    /// cool-down) rather than let them die, which is what these tests need.
    pub async fn start_worker_that_cannot_mail(&mut self, i: usize) {
        let closed_port = testkit::process::free_port().unwrap();
        self.start_worker(
            i,
            &[
                ("SMTP_URL", format!("smtp://127.0.0.1:{closed_port}")),
                ("CIRCUIT_BREAKER", "false".to_owned()),
            ],
        )
        .await;
    }

    /// Waits until `order` has taken `status`.
    pub async fn wait_for_status(&self, order: &str, status: &str) {
        let until = tokio::time::Instant::now() + DEADLINE;
        loop {
            let seen = self.order(order).await;
            if seen["status"] == status {
                return;
            }
            assert!(
                tokio::time::Instant::now() < until,
                "{order} never became {status}: {seen:#}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until `count_sql`, a `SELECT count(*)` with `bind` as `$1`,
    /// counts `expected`; `what` names the wait in the failure.
    pub async fn wait_for_count(&self, count_sql: &str, bind: &str, expected: i64, what: &str) {
        let until = tokio::time::Instant::now() + DEADLINE;
        loop {
            let counted: i64 = sqlx::query_scalar(count_sql)
                .bind(bind)
                .fetch_one(&self.pool)
                .await
                .unwrap();
            if counted == expected {
                return;
            }
            assert!(
                tokio::time::Instant::now() < until,
                "{what}: counted {counted}, not {expected}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits until a task of `order` is dead; returns its id.
    pub async fn dead_task_of(&self, order: &str) -> i64 {
        let until = tokio::time::Instant::now() + DEADLINE;
        loop {
            let dead: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM tasks WHERE order_id = $1::uuid AND state = 'dead'",
            )
            .bind(order)
            .fetch_optional(&self.pool)
            .await
            .unwrap();
            if let Some(id) = dead {
                return id;
            }
            assert!(
                tokio::time::Instant::now() < until,
                "no task of {order} died"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET url` with the admin key, read as JSON.
    pub async fn get_json(&self, url: String) -> Value {
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The Prometheus text of metrics port `i` (0: the API; 1..: the workers).
    pub async fn scrape(&self, i: usize) -> String {
        reqwest::get(format!("{}/metrics", self.metrics[i]))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn create_product(&self, sku: &str, price_cents: i64, stock: i64) {
        let response = self
            .http
            .post(format!("{}/v1/products", self.api))
            .json(&json!({ "sku": sku, "name": sku, "price_cents": price_cents, "currency": "USD", "stock": stock }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    }

    pub async fn stock(&self, sku: &str) -> i64 {
        let product: Value = self
            .http
            .get(format!("{}/v1/products/{sku}", self.api))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        product["stock"].as_i64().unwrap()
    }

    /// Pauses (`pause`) or resumes (`resume`) a task kind, as an operator would.
    pub async fn pause_kind(&self, kind: &str, action: &str) {
        let response = self
            .http
            .post(format!("{}/v1/queue/kinds/{kind}/{action}", self.api))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    pub fn order_body(token: &str, items: &[(&str, i64)]) -> Value {
        json!({
            "customer_email": "ada@example.com",
            "items": items.iter().map(|(sku, quantity)| json!({ "sku": sku, "quantity": quantity })).collect::<Vec<_>>(),
            "payment_token": token,
        })
    }

    pub async fn post_order(&self, key: &str, body: &Value) -> reqwest::Response {
        self.post_order_unchecked(key, body).await.unwrap()
    }

    /// Sends `POST /v1/orders` and hands back whatever happened, a failed
    /// connection included.
    pub async fn post_order_unchecked(
        &self,
        key: &str,
        body: &Value,
    ) -> Result<reqwest::Response, reqwest::Error> {
        self.http
            .post(format!("{}/v1/orders", self.api))
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
    }

    /// Places an order and returns its id; the API must accept it.
    pub async fn place(&self, key: &str, token: &str, items: &[(&str, i64)]) -> String {
        let response = self.post_order(key, &Self::order_body(token, items)).await;
        assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
        let order: Value = response.json().await.unwrap();
        order["id"].as_str().unwrap().to_owned()
    }

    pub async fn order(&self, id: &str) -> Value {
        let response = self
            .http
            .get(format!("{}/v1/orders/{id}", self.api))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Waits until the order is in a terminal state, and returns it.
    pub async fn settled(&self, id: &str) -> Value {
        let until = tokio::time::Instant::now() + DEADLINE;
        loop {
            let order = self.order(id).await;
            if matches!(
                order["status"].as_str(),
                Some("completed" | "failed" | "cancelled" | "refunded")
            ) {
                return order;
            }
            assert!(
                tokio::time::Instant::now() < until,
                "order never settled: {order:#}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn ledger(&self) -> Vec<Value> {
        let ledger: Value = self
            .http
            .get(format!("{}/v1/ledger", self.gateway))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ledger["entries"].as_array().unwrap().clone()
    }

    /// Ledger entries of one kind (`charge`, `refund`, `authorization`,
    /// `capture` or `void`) for one order.
    pub async fn ledger_for(&self, order: &str, kind: &str) -> Vec<Value> {
        self.ledger()
            .await
            .into_iter()
            .filter(|e| e["order_id"] == order && e["kind"] == kind)
            .collect()
    }

    pub async fn set_faults(&self, faults: Value) {
        let mut all = json!({ "latency_ms": 0, "fail_rate": 0.0, "hang_rate": 0.0, "lost_response_rate": 0.0 });
        all.as_object_mut()
            .unwrap()
            .extend(faults.as_object().unwrap().clone());
        let response = self
            .http
            .put(format!("{}/v1/faults", self.gateway))
            .json(&all)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    /// The text a process logged so far: `gateway`, `api` or `worker-<i>`.
    pub fn log(&self, process: &str) -> String {
        std::fs::read_to_string(self.logs.join(format!("{process}.log"))).unwrap_or_default()
    }

    pub fn statuses(order: &Value) -> Vec<String> {
        order["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["status"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// The value of the sample `name{labels}` in Prometheus text, summed over
/// samples whose labels include all of `labels`; `None` when there is no such
/// sample at all (a metric never emitted, or misnamed, is not a zero).
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let values: Vec<f64> = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            (metric == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))))
            .then(|| value.parse::<f64>().ok())
            .flatten()
        })
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}
