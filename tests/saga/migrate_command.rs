//! `asynccheckout migrate` on a schema with an index whose CONCURRENTLY
//! build failed: it says so, names the index, and does not call the schema
//! current until the index is dropped. And who creates a missing database:
//! `migrate` does; the API, given DATABASE_URL, does not.

use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::process::Command;

use crate::system::BINARY;

async fn migrate(database_url: &str) -> (bool, String) {
    let out = Command::new(BINARY)
        .arg("migrate")
        .env("DATABASE_URL", database_url)
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn migrate_names_an_index_left_invalid_by_a_failed_build(
    pool_options: PgPoolOptions,
    db: PgConnectOptions,
) {
    let pool = pool_options.connect_with(db.clone()).await.unwrap();
    let database_url = db.to_url_lossy().to_string();
    assert!(migrate(&database_url).await.0, "a current schema migrates");

    // A unique index over duplicates fails to build and stays, INVALID.
    sqlx::raw_sql("CREATE TABLE leftovers (x integer); INSERT INTO leftovers VALUES (1), (1);")
        .execute(&pool)
        .await
        .unwrap();
    let failed = sqlx::raw_sql("CREATE UNIQUE INDEX CONCURRENTLY leftovers_x ON leftovers (x)")
        .execute(&pool)
        .await;
    assert!(failed.is_err());

    let (ok, stderr) = migrate(&database_url).await;
    assert!(!ok, "migrate called a schema with an invalid index current");
    assert!(stderr.contains("leftovers_x"), "{stderr}");
    assert!(stderr.contains("DROP INDEX CONCURRENTLY"), "{stderr}");

    sqlx::raw_sql("DROP INDEX CONCURRENTLY leftovers_x")
        .execute(&pool)
        .await
        .unwrap();
    let (ok, stderr) = migrate(&database_url).await;
    assert!(ok, "{stderr}");
}

/// With DATABASE_URL naming a database that does not exist, the API touches
/// no other database (a pooler or a least-privilege role offers no other):
/// it stops at once, says how to create it, and creates nothing. `migrate`
/// creates it, and the API then starts on it.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn only_migrate_creates_a_missing_database(
    pool_options: PgPoolOptions,
    db: PgConnectOptions,
) {
    let pool = pool_options.connect_with(db.clone()).await.unwrap();
    // Short: a test database's name is already PostgreSQL's longest (63
    // bytes), and a longer one would be cut back to it.
    let name = format!(
        "missing_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let missing = db.clone().database(&name);
    let url = missing.to_url_lossy().to_string();
    let exists = || async {
        sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
        )
        .bind(&name)
        .fetch_one(&pool)
        .await
        .unwrap()
    };

    let mut api = Command::new(BINARY);
    api.arg("api")
        .env("DATABASE_URL", &url)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("METRICS_ADDR", "0")
        .kill_on_drop(true);
    let api = tokio::time::timeout(crate::system::DEADLINE, api.output())
        .await
        .expect("the API kept running on a database that does not exist")
        .unwrap();
    let stderr = String::from_utf8_lossy(&api.stderr);
    assert!(!api.status.success(), "{stderr}");
    assert!(stderr.contains("asynccheckout migrate"), "{stderr}");
    assert!(!exists().await, "the API created the database");

    let (ok, stderr) = migrate(&url).await;
    assert!(ok, "{stderr}");
    assert!(exists().await, "migrate did not create the database");
    sqlx::raw_sql(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&pool)
        .await
        .unwrap();
}
