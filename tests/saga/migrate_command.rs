//! `asynccheckout migrate` on a schema with an index whose CONCURRENTLY
//! build failed: it says so, names the index, and does not call the schema
//! current until the index is dropped.

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
