//! Many orders through one API and three workers, with scarce stock and mixed
//! cards: every order settles and the money and the stock add up.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{Options, System};

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn five_hundred_orders_settle_with_money_and_stock_conserved(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start(
        "five_hundred",
        &db,
        Options {
            workers: 3,
            // 500 orders as fast as one key can send them: a storefront this
            // busy has its key's limit raised, as this one is.
            api_env: vec![("RATE_LIMIT_PER_SECOND", "10000".to_owned())],
            ..Options::default()
        },
    )
    .await;
    let initial: HashMap<&str, i64> = HashMap::from([("A", 120), ("B", 80), ("C", 400)]);
    for (sku, stock) in &initial {
        system.create_product(sku, 700, *stock).await;
    }

    let tokens = [
        "tok_visa",
        "tok_visa",
        "tok_visa",
        "tok_chargeDeclined",
        "tok_chargeDeclinedInsufficientFunds",
    ];
    let carts: [&[(&str, i64)]; 4] = [&[("A", 1)], &[("B", 2)], &[("A", 1), ("C", 1)], &[("C", 3)]];
    let mut placed = Vec::new();
    for batch in (0..500).collect::<Vec<usize>>().chunks(50) {
        let posts = batch.iter().map(|&i| {
            let key = format!("load-{i}");
            let (token, cart) = (tokens[i % tokens.len()], carts[i % carts.len()]);
            let system = &system;
            async move { (system.place(&key, token, cart).await, cart) }
        });
        placed.extend(futures::future::join_all(posts).await);
    }

    let ledger = {
        let mut orders = Vec::new();
        for (id, cart) in &placed {
            orders.push((system.settled(id).await, *cart));
        }
        (orders, system.ledger().await)
    };
    let (orders, ledger) = ledger;
    let mut sold: HashMap<&str, i64> = HashMap::new();
    let mut outcomes: HashMap<String, usize> = HashMap::new();
    for (order, cart) in &orders {
        let id = order["id"].as_str().unwrap();
        let status = order["status"].as_str().unwrap();
        *outcomes.entry(status.to_owned()).or_default() += 1;
        let charges: Vec<&Value> = ledger
            .iter()
            .filter(|e| e["order_id"] == id && e["kind"] == "charge")
            .collect();
        let refunds: Vec<&Value> = ledger
            .iter()
            .filter(|e| e["order_id"] == id && e["kind"] == "refund")
            .collect();
        assert!(charges.len() <= 1, "order {id} charged twice");
        for refund in &refunds {
            assert!(
                charges.iter().any(|c| c["id"] == refund["charge"]),
                "refund without its charge: {refund}"
            );
        }
        let net: i64 = charges
            .iter()
            .map(|c| c["amount"].as_i64().unwrap())
            .sum::<i64>()
            - refunds
                .iter()
                .map(|r| r["amount"].as_i64().unwrap())
                .sum::<i64>();
        if status == "completed" {
            assert_eq!(net, order["total_cents"].as_i64().unwrap(), "order {id}");
            for (sku, quantity) in cart.iter() {
                *sold.entry(sku).or_default() += quantity;
            }
        } else {
            assert_eq!(net, 0, "order {id} is {status} but kept money");
        }
    }
    for (sku, stock) in &initial {
        assert_eq!(
            system.stock(sku).await,
            stock - sold.get(sku).copied().unwrap_or(0),
            "stock of {sku}"
        );
    }
    println!("500 orders: {outcomes:?}");
    assert!(
        outcomes.get("refunded").copied().unwrap_or(0) > 0,
        "stock was meant to run out: {outcomes:?}"
    );
    assert!(outcomes.get("failed").copied().unwrap_or(0) > 0);
    assert!(outcomes.get("completed").copied().unwrap_or(0) > 0);
    let stuck: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tasks WHERE state IN ('running', 'dead')")
            .fetch_one(&system.pool)
            .await
            .unwrap();
    assert_eq!(stuck, 0);
}
