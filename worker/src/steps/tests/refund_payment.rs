//! `refund_payment`: a charge is refunded once; no charge, nothing to refund.

use mock_gateway::Faults;
use shared::orders::{self, OrderStatus};
use sqlx::PgPool;

use super::harness::{PRICE, Saga};
use crate::StepError;
use crate::steps::refund_payment::RefundPayment;
use crate::steps::{charge_key, refund_key};

/// Charges the order at the gateway as its charge step would have.
async fn charge(saga: &Saga, order: uuid::Uuid) -> String {
    saga.deps
        .gateway
        .charge(&charge_key(order), PRICE, "USD", "tok_visa", order, None)
        .await
        .expect("the gateway charges")
        .id
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_charged_order_is_refunded_once(pool: PgPool) {
    let saga = Saga::start(pool, Faults::default(), 5).await;
    let task = saga.order_at(OrderStatus::Refunding, "tok_visa", 1).await;
    let charged = charge(&saga, task.order_id.expect("an order")).await;

    saga.run(&RefundPayment(saga.deps.clone()), &task)
        .await
        .expect("the step succeeds");

    let order = saga.order(&task).await;
    assert_eq!(order.status, OrderStatus::Refunded);
    assert_eq!(order.charge_id, Some(charged), "found by the charge's key");
    assert!(order.refund_id.is_some_and(|id| id.starts_with("re_")));
    assert_eq!(saga.ledger("refund").await, [refund_key(order.id)]);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_order_never_charged_is_refunded_with_nothing_to_give_back(pool: PgPool) {
    let saga = Saga::start(pool, Faults::default(), 5).await;
    let task = saga.order_at(OrderStatus::Refunding, "tok_visa", 1).await;

    saga.run(&RefundPayment(saga.deps.clone()), &task)
        .await
        .expect("the step succeeds");

    let order = saga.order(&task).await;
    assert_eq!(order.status, OrderStatus::Refunded);
    assert_eq!(order.refund_id, None);
    assert_eq!(saga.ledger("refund").await.len(), 0);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_charge_refunded_already_needs_no_second_refund(pool: PgPool) {
    let saga = Saga::start(pool, Faults::default(), 5).await;
    let task = saga.order_at(OrderStatus::Refunding, "tok_visa", 1).await;
    let order = task.order_id.expect("an order");
    let charged = charge(&saga, order).await;
    saga.deps
        .gateway
        .refund("refunded-by-hand", &charged, None)
        .await
        .expect("refunded by someone else");

    saga.run(&RefundPayment(saga.deps.clone()), &task)
        .await
        .expect("nothing to refund is a decision, not an error");

    assert_eq!(saga.order(&task).await.status, OrderStatus::Refunded);
    assert_eq!(saga.ledger("refund").await.len(), 1, "no second refund");
    let history = orders::history(&mut saga.pool.acquire().await.expect("a connection"), order)
        .await
        .expect("the history reads");
    assert_eq!(
        history.last().and_then(|h| h.reason.as_deref()),
        Some("nothing was charged; nothing to refund")
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_unavailable_gateway_keeps_the_refund_retrying(pool: PgPool) {
    let saga = Saga::start(pool, Faults::default(), 5).await;
    let task = saga.order_at(OrderStatus::Refunding, "tok_visa", 1).await;
    let order = task.order_id.expect("an order");
    let charged = charge(&saga, order).await;
    // The order knows its charge, so the refund itself meets the fault.
    sqlx::query("UPDATE orders SET charge_id = $2 WHERE id = $1")
        .bind(order)
        .bind(&charged)
        .execute(&saga.pool)
        .await
        .expect("the charge id is recorded");
    saga.set_faults(&Faults {
        fail_next: 1,
        ..Faults::default()
    })
    .await;

    let result = saga.run(&RefundPayment(saga.deps.clone()), &task).await;

    assert!(matches!(result, Err(StepError::Retryable(_))), "{result:?}");
    assert_eq!(saga.order(&task).await.status, OrderStatus::Refunding);
    assert!(saga.ledger("refund").await.is_empty());
}
