//! `asynccheckout dev` as a newcomer runs it, again and again: one
//! development key across starts (not a new live admin key each time),
//! `--reset` to start over with empty data, and mail files named after the
//! order they confirm.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use testkit::process;
use tokio::process::Child;

const BINARY: &str = env!("CARGO_BIN_EXE_asynccheckout");

/// A running `dev`: its process, its API and its key.
struct Dev {
    child: Child,
    api: String,
    key: String,
    /// The console's address, from the ready line.
    ui: String,
}

impl Dev {
    async fn start(db: &PgConnectOptions, data: &Path, extra: &[&str], log: &str) -> Self {
        let mut args = vec!["dev"];
        args.extend(extra);
        let env = [
            ("DATABASE_URL", db.to_url_lossy().to_string()),
            ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
            ("METRICS_ADDR", "0".to_owned()),
            ("DATA_DIR", data.display().to_string()),
            ("MAIL_DIR", data.join("mail").display().to_string()),
            ("RUST_LOG", "info".to_owned()),
        ];
        let (child, ready) = process::start(Path::new(BINARY), &args, &env, &data.join(log))
            .await
            .unwrap();
        Self {
            child,
            api: process::field(&ready, "api").unwrap(),
            key: process::field(&ready, "key").unwrap(),
            ui: process::field(&ready, "ui").unwrap(),
        }
    }

    /// SIGTERM, then waits for a clean exit.
    async fn stop(mut self) {
        process::signal(self.child.id().unwrap(), "-TERM").unwrap();
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("dev did not stop within 30 s of SIGTERM")
            .unwrap();
        assert!(status.success(), "dev exited with {status}");
    }

    async fn get(&self, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}{path}", self.api))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

async fn live_dev_keys(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM api_keys WHERE name = 'dev' AND revoked_at IS NULL")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn dev_keeps_one_key_across_starts_and_reset_starts_over(
    pool_options: PgPoolOptions,
    db: PgConnectOptions,
) {
    let pool = pool_options.connect_with(db.clone()).await.unwrap();
    let data = std::env::temp_dir().join(format!("asynccheckout-dev-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&data).unwrap();

    let first = Dev::start(&db, &data, &[], "dev-1.log").await;
    let key = first.key.clone();
    // The console's address from the ready line opens its sign-in page.
    assert_eq!(first.ui, format!("{}/ui", first.api));
    let sign_in = reqwest::get(format!("{}/sign-in", first.ui)).await.unwrap();
    assert_eq!(sign_in.status(), 200);
    assert!(
        sign_in
            .text()
            .await
            .unwrap()
            .contains("Sign in to the console")
    );
    // An order, so that there is data to start over from.
    let placed = reqwest::Client::new()
        .post(format!("{}/v1/orders", first.api))
        .bearer_auth(&key)
        .header("Idempotency-Key", "dev-order")
        .json(&json!({ "customer_email": "ada@example.com",
                       "items": [{ "sku": "MUG", "quantity": 1 }],
                       "payment_token": "tok_visa" }))
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), 202);
    let order: Value = placed.json().await.unwrap();
    let id = order["id"].as_str().unwrap().to_owned();
    let until = tokio::time::Instant::now() + Duration::from_secs(60);
    while first.get(&format!("/v1/orders/{id}")).await["status"] != "completed" {
        assert!(
            tokio::time::Instant::now() < until,
            "the order never completed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.stop().await;
    // Its confirmation is named after it.
    assert!(data.join("mail").join(format!("order-{id}.eml")).is_file());

    let second = Dev::start(&db, &data, &[], "dev-2.log").await;
    assert_eq!(
        second.key, key,
        "the second start reuses the development key"
    );
    assert_eq!(live_dev_keys(&pool).await, 1);
    assert_eq!(
        second.get(&format!("/v1/orders/{id}")).await["id"],
        id.as_str()
    );
    second.stop().await;
    pool.close().await;

    // --reset: an empty database (the demo catalog seeded again), a new key,
    // no mail.
    // With DATABASE_URL set, --reset wants --yes before it drops anything.
    let refused = tokio::process::Command::new(BINARY)
        .args(["dev", "--reset"])
        .env("DATABASE_URL", db.to_url_lossy().to_string())
        .env("DATA_DIR", &data)
        .env("MAIL_DIR", data.join("mail"))
        .output()
        .await
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("add --yes to confirm"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(
        data.join("mail").join(format!("order-{id}.eml")).exists(),
        "nothing deleted"
    );
    std::fs::write(data.join("mail").join("notes.txt"), "mine").unwrap();

    let reset = Dev::start(&db, &data, &["--reset", "--yes"], "dev-3.log").await;
    assert_ne!(reset.key, key, "a new key for the new data");
    let orders = reset.get("/v1/orders").await;
    assert_eq!(orders["items"].as_array().unwrap().len(), 0, "{orders:#}");
    let mug = reset.get("/v1/products/MUG").await;
    assert_eq!(mug["sku"], "MUG");
    assert!(!data.join("mail").join(format!("order-{id}.eml")).exists());
    assert!(
        data.join("mail").join("notes.txt").exists(),
        "only confirmations are deleted"
    );
    reset.stop().await;
    std::fs::remove_dir_all(&data).unwrap();
}
