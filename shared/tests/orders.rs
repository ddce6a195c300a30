//! Orders in the database: placing is idempotent per key, and keys expire.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::json;
use shared::catalog::{self, NewProduct, Sku};
use shared::money::{Cents, Currency};
use shared::orders::{self, CaptureMethod, CheckedOrder, Placement, PricingError};
use sqlx::PgPool;
use uuid::Uuid;

async fn order(pool: &PgPool) -> CheckedOrder {
    let mut conn = pool.acquire().await.unwrap();
    let product = NewProduct {
        sku: Sku::parse("MUG").unwrap(),
        name: "Mug".to_owned(),
        price: Cents::new(1250).unwrap(),
        currency: "USD".parse::<Currency>().unwrap(),
        stock: 5,
    };
    let _ = catalog::insert(&mut conn, &product).await;
    CheckedOrder {
        id: Uuid::now_v7(),
        customer_email: "ada@example.com".to_owned(),
        lines: vec![(product.sku, 1)],
        payment_token: "tok_visa".to_owned(),
        metadata: json!({}),
        capture_method: CaptureMethod::Automatic,
        traceparent: None,
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_expired_idempotency_key_places_a_new_order_and_a_live_one_replays(pool: PgPool) {
    let request = json!({ "n": 1 });
    let mut tx = pool.begin().await.unwrap();
    let first = order(&pool).await;
    assert_eq!(
        orders::place(&mut tx, "client", "old", &request, &first)
            .await
            .unwrap()
            .order_id(),
        Some(first.id)
    );
    let live = order(&pool).await;
    assert_eq!(
        orders::place(&mut tx, "client", "new", &request, &live)
            .await
            .unwrap()
            .order_id(),
        Some(live.id)
    );
    tx.commit().await.unwrap();
    sqlx::query(
        "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old'",
    )
    .execute(&pool)
    .await
    .unwrap();

    let mut conn = pool.acquire().await.unwrap();
    let deleted = orders::delete_expired_keys(&mut conn, Duration::from_secs(24 * 3600), 100)
        .await
        .unwrap();

    assert_eq!(deleted, 1);
    let mut tx = pool.begin().await.unwrap();
    let again = order(&pool).await;
    assert_eq!(
        orders::place(&mut tx, "client", "old", &request, &again)
            .await
            .unwrap()
            .order_id(),
        Some(again.id)
    );
    let replay = order(&pool).await;
    assert_eq!(
        orders::place(&mut tx, "client", "new", &request, &replay)
            .await
            .unwrap(),
        Placement::Replayed(live.id)
    );
    tx.commit().await.unwrap();
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_answer_built_from_a_placement_is_what_reading_the_order_back_returns(pool: PgPool) {
    let new = order(&pool).await;
    let mut conn = pool.acquire().await.unwrap();
    let Placement::Created(accepted) = orders::place(&mut conn, "client", "k", &json!({}), &new)
        .await
        .unwrap()
    else {
        panic!("a new key places a new order")
    };

    let (order, lines, history, tasks) = orders::as_placed(&accepted);

    let read = orders::get(&mut conn, new.id).await.unwrap().unwrap();
    assert_eq!(format!("{order:?}"), format!("{read:?}"));
    assert_eq!(lines, orders::lines(&mut conn, new.id).await.unwrap());
    let read_history = orders::history(&mut conn, new.id).await.unwrap();
    assert_eq!(format!("{history:?}"), format!("{read_history:?}"));
    let read_tasks = orders::tasks(&mut conn, new.id).await.unwrap();
    assert_eq!(format!("{tasks:?}"), format!("{read_tasks:?}"));
    assert_eq!(read_tasks.len(), 1);
}

/// Adds a product priced `price_cents` in `currency`, with stock to spare.
async fn add_product(pool: &PgPool, sku: &str, price_cents: i64, currency: &str) {
    let product = NewProduct {
        sku: Sku::parse(sku).unwrap(),
        name: sku.to_owned(),
        price: Cents::new(price_cents).unwrap(),
        currency: currency.parse::<Currency>().unwrap(),
        stock: 1000,
    };
    catalog::insert(&mut pool.acquire().await.unwrap(), &product)
        .await
        .unwrap();
}

/// The placing statement prices the order itself, and writes nothing (not
/// even the key) unless every line prices: a sku it does not know, two
/// currencies, a total past the largest amount. Each line at fault is named
/// as the API names it.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_order_that_does_not_price_writes_nothing_and_names_the_line(pool: PgPool) {
    add_product(&pool, "MUG", 1250, "USD").await;
    add_product(&pool, "TEA", 400, "EUR").await;
    add_product(&pool, "GOLD", i64::MAX / 2 + 1, "USD").await;
    add_product(&pool, "SILVER", i64::MAX / 2 + 1, "USD").await;
    let with = |lines: &[(&str, i32)]| CheckedOrder {
        id: Uuid::now_v7(),
        customer_email: "ada@example.com".to_owned(),
        lines: lines
            .iter()
            .map(|(sku, quantity)| (Sku::parse(sku).unwrap(), *quantity))
            .collect(),
        payment_token: "tok_visa".to_owned(),
        metadata: json!({}),
        capture_method: CaptureMethod::Automatic,
        traceparent: None,
    };
    let cases = [
        (
            with(&[("MUG", 1), ("NOPE", 1)]),
            "items[1].sku",
            "no product has sku \"NOPE\"",
        ),
        (
            with(&[("MUG", 1), ("TEA", 1)]),
            "items[1].sku",
            "is priced in EUR, but items[0] is in USD; one order, one currency",
        ),
        (
            with(&[("GOLD", 2)]),
            "items",
            "the order total is too large",
        ),
        (
            with(&[("GOLD", 1), ("SILVER", 1)]),
            "items",
            "the order total is too large",
        ),
    ];
    let mut conn = pool.acquire().await.unwrap();
    for (i, (order, field, message)) in cases.into_iter().enumerate() {
        let placed = orders::place(&mut conn, "client", &format!("k{i}"), &json!({}), &order).await;
        let Err(PricingError::Invalid(invalid)) = placed else {
            panic!("case {i}: expected the line named, got {placed:?}");
        };
        assert_eq!(invalid.0.len(), 1, "case {i}: {invalid:?}");
        assert_eq!(invalid.0[0].field, field, "case {i}");
        assert_eq!(invalid.0[0].message, message, "case {i}");
    }
    let written: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM idempotency_keys)
              + (SELECT count(*) FROM order_items) + (SELECT count(*) FROM tasks)",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(written, 0);

    let Placement::Created(accepted) = orders::place(
        &mut conn,
        "client",
        "fine",
        &json!({}),
        &with(&[("TEA", 3)]),
    )
    .await
    .unwrap() else {
        panic!("an order that prices is placed");
    };
    assert_eq!(accepted.order.total.get(), 1200);
    assert_eq!(accepted.order.currency.as_str(), "EUR");
    assert_eq!(accepted.order.lines[0].unit_price.get(), 400);
}

/// The legal moves that bring a pending order to `status`.
fn path_to(status: orders::OrderStatus) -> Vec<&'static str> {
    use orders::OrderStatus::*;
    match status {
        Pending => vec![],
        Paid => vec!["paid"],
        Confirmed => vec!["paid", "confirmed"],
        Completed => vec!["paid", "confirmed", "completed"],
        Failed => vec!["failed"],
        Cancelled => vec!["cancelled"],
        Refunding => vec!["refunding"],
        Refunded => vec!["refunding", "refunded"],
        Authorized => vec!["authorized"],
        Reserved => vec!["authorized", "reserved"],
        Voiding => vec!["voiding"],
        Cancelling => vec!["paid", "cancelling"],
    }
}

/// The database refuses every move the order chart does not have, whatever
/// code asks for it (a raw UPDATE here), and allows every one it has: the
/// trigger and `OrderStatus::transition_to` agree on all 132 pairs.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_database_refuses_exactly_the_moves_the_order_chart_refuses(pool: PgPool) {
    let mut checked = 0;
    for from in orders::OrderStatus::ALL {
        for to in orders::OrderStatus::ALL {
            if from == to {
                continue;
            }
            let new = order(&pool).await;
            let mut conn = pool.acquire().await.unwrap();
            let key = format!("chart-{from}-{to}");
            orders::place(&mut conn, "test", &key, &json!({ "k": key }), &new)
                .await
                .unwrap();
            let mut tx = pool.begin().await.unwrap();
            for step in path_to(from) {
                sqlx::query("UPDATE orders SET status = $2::order_status WHERE id = $1")
                    .bind(new.id)
                    .bind(step)
                    .execute(&mut *tx)
                    .await
                    .unwrap_or_else(|e| panic!("legal step to {step} refused: {e}"));
            }
            let moved = sqlx::query("UPDATE orders SET status = $2::order_status WHERE id = $1")
                .bind(new.id)
                .bind(to.to_string())
                .execute(&mut *tx)
                .await;
            tx.rollback().await.unwrap();
            let legal = from.transition_to(to).is_ok();
            match moved {
                Ok(_) => assert!(legal, "the database let {from} -> {to} through"),
                Err(sqlx::Error::Database(e)) => {
                    assert!(!legal, "the database refused legal {from} -> {to}: {e}");
                    assert_eq!(e.code().as_deref(), Some("23514"), "{e}");
                    assert!(e.message().contains("an order cannot go from"), "{e}");
                }
                Err(e) => panic!("{from} -> {to}: {e}"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 132);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn orders_per_status_are_counted_small_and_estimated_large(pool: PgPool) {
    sqlx::query(
        "INSERT INTO orders (id, status, customer_email, currency, total_cents, payment_token)
         SELECT gen_random_uuid(),
                (CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'completed' END)::order_status,
                'ada@example.com', 'USD', 100, 'tok_visa'
         FROM generate_series(1, 2000) AS i",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE orders").execute(&pool).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let of = |counts: &[orders::StatusCount], status: orders::OrderStatus| {
        counts
            .iter()
            .find(|c| c.status == status)
            .map(|c| (c.count, c.estimated))
    };

    let exact = orders::count_by_status(&mut conn, i64::MAX).await.unwrap();
    assert_eq!(exact.len(), 2, "only the statuses orders are in: {exact:?}");
    assert_eq!(
        of(&exact, orders::OrderStatus::Completed),
        Some((1_800, false))
    );
    assert_eq!(of(&exact, orders::OrderStatus::Failed), Some((200, false)));

    let estimated = orders::count_by_status(&mut conn, 1_000).await.unwrap();
    assert_eq!(
        estimated.len(),
        orders::OrderStatus::ALL.len(),
        "every status: {estimated:?}"
    );
    assert!(estimated.iter().all(|c| c.estimated));
    // ANALYZE read every row of a table this small.
    assert_eq!(
        of(&estimated, orders::OrderStatus::Completed),
        Some((1_800, true))
    );
    assert_eq!(
        of(&estimated, orders::OrderStatus::Pending),
        Some((1, true))
    );
}
