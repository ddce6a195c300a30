//! The formats the database holds a task's kind and trace context, an
//! order's currency and a product's SKU and currency to: refused when
//! written, whether by an insert or by an update that sets them (a trigger
//! checks them then, where a table constraint was evaluated again at every
//! update of the row).
#![allow(clippy::unwrap_used)]

use sqlx::PgPool;

/// Runs `sql` and returns the SQLSTATE it failed with, if it failed.
async fn refusal(pool: &PgPool, sql: &str) -> Option<String> {
    match sqlx::raw_sql(sql).execute(pool).await {
        Ok(_) => None,
        Err(sqlx::Error::Database(e)) => Some(e.code().unwrap_or_default().into_owned()),
        Err(other) => panic!("{sql}: {other}"),
    }
}

const CHECK_VIOLATION: Option<&str> = Some("23514");

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn malformed_kinds_and_trace_contexts_are_refused_on_insert_and_on_update(pool: PgPool) {
    let insert = |kind: &str, trace: &str| {
        format!(
            "INSERT INTO tasks (kind, payload, max_attempts, traceparent)
             VALUES ('{kind}', '{{}}', 3, {trace})"
        )
    };
    let good_trace = "'00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'";
    assert_eq!(
        refusal(&pool, &insert("send_confirmation", good_trace)).await,
        None
    );
    assert_eq!(refusal(&pool, &insert("noop", "NULL")).await, None);
    for (kind, trace) in [
        ("Send Confirmation", "NULL"),
        ("", "NULL"),
        ("9lives", "NULL"),
        ("noop", "'00-xyz'"),
        ("noop", "'not a trace context'"),
    ] {
        assert_eq!(
            refusal(&pool, &insert(kind, trace)).await.as_deref(),
            CHECK_VIOLATION,
            "kind {kind:?}, traceparent {trace}"
        );
    }
    for set in ["kind = 'Bad Kind'", "traceparent = 'garbage'"] {
        assert_eq!(
            refusal(&pool, &format!("UPDATE tasks SET {set}"))
                .await
                .as_deref(),
            CHECK_VIOLATION,
            "{set}"
        );
    }
    // The refusal names the constraint the trigger replaced, as it did.
    let named = sqlx::raw_sql(&insert("Bad Kind", "NULL"))
        .execute(&pool)
        .await
        .unwrap_err();
    let constraint = named.as_database_error().and_then(|e| e.constraint());
    assert_eq!(constraint, Some("tasks_kind_check"), "{named}");
    // Also where triggers marked for origin only stay silent (logical
    // replication's apply), as a constraint did.
    let mut replica = pool.acquire().await.unwrap().detach();
    sqlx::raw_sql("SET session_replication_role = replica")
        .execute(&mut replica)
        .await
        .unwrap();
    let applied = sqlx::raw_sql(&insert("Bad Kind", "NULL"))
        .execute(&mut replica)
        .await;
    assert!(applied.is_err(), "a malformed kind went in as a replica");
    // An update that sets neither leaves the rows as they were written.
    assert_eq!(refusal(&pool, "UPDATE tasks SET attempts = 1").await, None);
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM tasks ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(kinds, ["send_confirmation", "noop"]);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn malformed_currencies_are_refused_on_insert_and_on_update(pool: PgPool) {
    let product = |sku: &str, currency: &str| {
        format!(
            "INSERT INTO products (sku, name, price_cents, currency, stock)
             VALUES ('{sku}', 'Mug', 1250, '{currency}', 5)"
        )
    };
    assert_eq!(refusal(&pool, &product("MUG", "EUR")).await, None);
    for currency in ["eur", "EURO", "E1R", ""] {
        assert_eq!(
            refusal(&pool, &product("CUP", currency)).await.as_deref(),
            CHECK_VIOLATION,
            "{currency:?}"
        );
    }
    assert_eq!(
        refusal(&pool, &product("a mug", "EUR")).await.as_deref(),
        CHECK_VIOLATION
    );
    for set in ["currency = 'usd'", "sku = 'MUG!'"] {
        assert_eq!(
            refusal(&pool, &format!("UPDATE products SET {set}"))
                .await
                .as_deref(),
            CHECK_VIOLATION,
            "{set}"
        );
    }
    let order = |currency: &str| {
        format!(
            "INSERT INTO orders (id, customer_email, currency, total_cents, payment_token)
             VALUES (gen_random_uuid(), 'ada@example.com', '{currency}', 1250, 'tok_visa')"
        )
    };
    assert_eq!(refusal(&pool, &order("EUR")).await, None);
    assert_eq!(
        refusal(&pool, &order("Eur")).await.as_deref(),
        CHECK_VIOLATION
    );
    assert_eq!(
        refusal(&pool, "UPDATE orders SET currency = 'EURO'")
            .await
            .as_deref(),
        CHECK_VIOLATION
    );
    assert_eq!(
        refusal(&pool, "UPDATE products SET stock = stock - 1").await,
        None
    );
}
