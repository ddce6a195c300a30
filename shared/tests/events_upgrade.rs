//! The upgrade to events numbered as they are written: what the old
//! sequencer had not numbered yet is numbered by the migration, above every
//! id it had handed out, and every event written after the upgrade gets a
//! larger id still, so a reader's cursor from before keeps working.
#![allow(clippy::unwrap_used)]

use std::borrow::Cow;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use uuid::Uuid;

/// The migration that numbers events at insert.
const NUMBERED_AT_INSERT: i64 = 20261201000004;

/// Places an order the way the schema allows at any version, and moves it
/// once, in one transaction: two history rows, so two events through the
/// trigger.
async fn order_with_two_events(pool: &PgPool) -> Uuid {
    let mut tx = pool.begin().await.unwrap();
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO orders (id, customer_email, currency, total_cents, payment_token)
         VALUES ($1, 'ada@example.com', 'USD', 1250, 'tok_visa')",
    )
    .bind(id)
    .execute(&mut *tx)
    .await
    .unwrap();
    for statement in [
        "INSERT INTO order_history (order_id, status, reason) VALUES ($1, 'pending', 'test')",
        "UPDATE orders SET status = 'cancelled' WHERE id = $1",
        "INSERT INTO order_history (order_id, status, reason) VALUES ($1, 'cancelled', 'test')",
    ] {
        sqlx::query(statement)
            .bind(id)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    id
}

/// `(id, order)` of every event, in insert order.
async fn events(pool: &PgPool) -> Vec<(Option<i64>, Uuid)> {
    sqlx::query_as("SELECT id, order_id FROM order_events ORDER BY seq")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = false)]
async fn the_upgrade_numbers_what_the_sequencer_left_above_what_it_handed_out(pool: PgPool) {
    let before = Migrator {
        migrations: Cow::Owned(
            shared::MIGRATOR
                .iter()
                .filter(|m| m.version < NUMBERED_AT_INSERT)
                .cloned()
                .collect(),
        ),
        ..Migrator::DEFAULT
    };
    before.run(&pool).await.unwrap();

    // Under the old schema: two events numbered by a round of the
    // sequencer, then two written and left for the next round.
    let first = order_with_two_events(&pool).await;
    let numbered: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM sequence_order_events(10000) ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(numbered, [1, 2]);
    let second = order_with_two_events(&pool).await;
    assert_eq!(
        events(&pool).await,
        [
            (Some(1), first),
            (Some(2), first),
            (None, second),
            (None, second)
        ]
    );

    shared::MIGRATOR.run(&pool).await.unwrap();

    // The ids handed out stay; the two left over follow them, in order.
    assert_eq!(
        events(&pool).await,
        [
            (Some(1), first),
            (Some(2), first),
            (Some(3), second),
            (Some(4), second)
        ]
    );
    // A reader of the old ids resumes after 2 and gets the two numbered by
    // the upgrade, then what is written after it, above them.
    // (Read until the third is readable: a transaction of another test on
    // the same server may hold the horizon for a moment.)
    let third = order_with_two_events(&pool).await;
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let after_two: Vec<(i64, Uuid)> = loop {
        let read: Vec<(i64, Uuid)> = sqlx::query_as(
            "SELECT id, order_id FROM order_events
             WHERE id > 2 AND id < order_events_horizon() ORDER BY id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        if read.len() >= 4 || std::time::Instant::now() > until {
            break read;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    let orders: Vec<Uuid> = after_two.iter().map(|(_, order)| *order).collect();
    assert_eq!(orders, [second, second, third, third]);
    assert!(after_two[2].0 > 4, "{after_two:?}");
    // Two events of one transaction: consecutive ids.
    assert_eq!(after_two[3].0, after_two[2].0 + 1);
}
