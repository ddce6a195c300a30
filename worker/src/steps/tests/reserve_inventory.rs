//! `reserve_inventory`: all the stock or none, and what follows either way.

use mock_gateway::Faults;
use shared::orders::OrderStatus;
use sqlx::PgPool;

use super::harness::Saga;
use crate::steps::reserve_inventory::ReserveInventory;

async fn stock(saga: &Saga) -> i32 {
    sqlx::query_scalar("SELECT stock FROM products WHERE sku = 'MUG'")
        .fetch_one(&saga.pool)
        .await
        .expect("the stock reads")
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn enough_stock_confirms_the_order_and_queues_the_email(pool: PgPool) {
    let saga = Saga::start(pool, Faults::default(), 5).await;
    let task = saga.order_at(OrderStatus::Paid, "tok_visa", 2).await;

    saga.run(&ReserveInventory, &task)
        .await
        .expect("the step succeeds");

    assert_eq!(saga.order(&task).await.status, OrderStatus::Confirmed);
    assert_eq!(stock(&saga).await, 3);
    assert_eq!(
        saga.tasks(&task).await,
        [
            ("reserve_inventory".to_owned(), "completed".to_owned()),
            ("send_confirmation".to_owned(), "available".to_owned()),
        ]
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn short_stock_takes_none_and_refunds_the_order(pool: PgPool) {
    let saga = Saga::start(pool, Faults::default(), 1).await;
    let task = saga.order_at(OrderStatus::Paid, "tok_visa", 2).await;

    saga.run(&ReserveInventory, &task)
        .await
        .expect("running short is a decision, not an error");

    let order = saga.order(&task).await;
    assert_eq!(order.status, OrderStatus::Refunding);
    assert_eq!(order.failure_code.as_deref(), Some("out_of_stock"));
    assert_eq!(stock(&saga).await, 1, "none of the stock was taken");
    assert_eq!(
        saga.next_kind(&task).await.as_deref(),
        Some("refund_payment")
    );
}
