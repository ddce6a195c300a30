//! Lists filtered by whichever of several optional filters the reader set
//! (`$1 IS NULL OR kind = $1`) need a plan made for the values given: a
//! cached generic plan cannot know which filters are set, and once
//! PostgreSQL prefers it (after five executions) a filter that matches
//! nothing, or only old rows, is answered by reading the table backwards,
//! seconds at millions of rows (BENCHMARKS.md, the console at millions of
//! rows). [`custom_plans`] opens a transaction in which every statement is
//! planned for its values.

use sqlx::{Connection, PgConnection, Postgres, Transaction};

/// A transaction on `conn` whose statements are planned for their values
/// (`plan_cache_mode = force_custom_plan`, until it ends).
pub async fn custom_plans(
    conn: &mut PgConnection,
) -> Result<Transaction<'_, Postgres>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}
