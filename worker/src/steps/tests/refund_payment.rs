//! `refund_payment`: a charge is refunded once; no charge, nothing to refund.

use mock_gateway::Faults;
use shared::orders::{self, OrderStatus};
use sqlx::PgPool;

use super::harness::{PRICE, Saga};
use crate::steps::refund_payment::RefundPayment;
use crate::steps::{charge_key, refund_key};
use crate::{StepError, StepHandler};

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

/// What the process logs, kept for the test to read.
#[derive(Clone, Default)]
struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_dead_refund_raises_the_alarm(pool: PgPool) {
    let saga = Saga::start(pool, Faults::default(), 5).await;
    let task = saga.order_at(OrderStatus::Refunding, "tok_visa", 1).await;
    let logs = CapturedLogs::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(logs.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut conn = saga.pool.acquire().await.expect("a connection");
    let then = RefundPayment(saga.deps.clone())
        .on_dead(&task.payload, "the gateway is gone", &mut conn)
        .await
        .expect("on_dead succeeds");

    assert!(then.is_none(), "nothing follows a dead refund");
    let text = String::from_utf8(logs.0.lock().expect("not poisoned").clone()).expect("utf-8");
    let order = task.order_id.expect("an order").to_string();
    let alarm = text
        .lines()
        .find(|line| line.contains(r#""alarm":"refund_dead""#))
        .unwrap_or_else(|| panic!("no refund_dead alarm in {text}"));
    assert!(alarm.contains(r#""level":"ERROR""#), "{alarm}");
    assert!(alarm.contains(&order), "{alarm}");
    assert!(alarm.contains("the gateway is gone"), "{alarm}");
}
