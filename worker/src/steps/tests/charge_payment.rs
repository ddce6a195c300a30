//! `charge_payment`: what each of the gateway's answers makes of the order.

use mock_gateway::Faults;
use shared::orders::{CaptureMethod, OrderStatus};
use sqlx::PgPool;

use super::harness::{Saga, WORKER};
use crate::StepError;
use crate::StepHandler;
use crate::steps::charge_key;
use crate::steps::take_payment::TakePayment;

fn faults(fail_next: u32, lose_next: u32) -> Faults {
    Faults {
        fail_next,
        lose_next,
        ..Faults::default()
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_charged_card_pays_the_order_and_queues_the_reservation(pool: PgPool) {
    let saga = Saga::start(pool, Faults::default(), 5).await;
    let task = saga.order_at(OrderStatus::Pending, "tok_visa", 2).await;

    saga.run(
        &TakePayment(saga.deps.clone(), CaptureMethod::Automatic),
        &task,
    )
    .await
    .expect("the step succeeds");

    let order = saga.order(&task).await;
    assert_eq!(order.status, OrderStatus::Paid);
    assert!(order.charge_id.is_some_and(|id| id.starts_with("ch_")));
    assert_eq!(
        saga.tasks(&task).await,
        [
            ("charge_payment".to_owned(), "completed".to_owned()),
            ("reserve_inventory".to_owned(), "available".to_owned()),
        ]
    );
    assert_eq!(saga.ledger("charge").await, [charge_key(order.id)]);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_reservation_is_handed_to_a_worker_that_runs_it_already_claimed(pool: PgPool) {
    let saga = Saga::start(pool, Faults::default(), 5).await;
    let task = saga.order_at(OrderStatus::Pending, "tok_visa", 1).await;

    let handed = saga
        .run_handing_off(
            &TakePayment(saga.deps.clone(), CaptureMethod::Automatic),
            &task,
            &["reserve_inventory"],
        )
        .await
        .expect("the successor was handed over");

    assert_eq!(handed.kind, "reserve_inventory");
    assert_eq!(&*handed.lease.worker, WORKER);
    assert_eq!(
        saga.tasks(&task).await.last(),
        Some(&("reserve_inventory".to_owned(), "running".to_owned()))
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_declined_card_fails_the_order_with_nothing_after_it(pool: PgPool) {
    let saga = Saga::start(pool, Faults::default(), 5).await;
    let task = saga
        .order_at(OrderStatus::Pending, "tok_chargeDeclined", 1)
        .await;

    saga.run(
        &TakePayment(saga.deps.clone(), CaptureMethod::Automatic),
        &task,
    )
    .await
    .expect("a decline is a decision, not an error");

    let order = saga.order(&task).await;
    assert_eq!(order.status, OrderStatus::Failed);
    assert_eq!(order.failure_code.as_deref(), Some("payment_declined"));
    assert_eq!(
        saga.tasks(&task).await.len(),
        1,
        "nothing follows a decline"
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_unavailable_gateway_is_retried_while_attempts_remain(pool: PgPool) {
    let saga = Saga::start(pool, faults(1, 0), 5).await;
    let task = saga.order_at(OrderStatus::Pending, "tok_visa", 1).await;

    let result = saga
        .run(
            &TakePayment(saga.deps.clone(), CaptureMethod::Automatic),
            &task,
        )
        .await;

    assert!(matches!(result, Err(StepError::Retryable(_))), "{result:?}");
    assert_eq!(saga.order(&task).await.status, OrderStatus::Pending);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_lost_answer_on_the_last_attempt_is_settled_by_the_lookup(pool: PgPool) {
    let saga = Saga::start(pool, faults(0, 1), 5).await;
    let mut task = saga.order_at(OrderStatus::Pending, "tok_visa", 1).await;
    task.max_attempts = task.attempt;

    saga.run(
        &TakePayment(saga.deps.clone(), CaptureMethod::Automatic),
        &task,
    )
    .await
    .expect("the lookup finds the charge");

    assert_eq!(saga.order(&task).await.status, OrderStatus::Paid);
    assert_eq!(saga.ledger("charge").await.len(), 1, "charged once");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_gateway_down_through_the_lookup_refunds_to_be_safe(pool: PgPool) {
    let saga = Saga::start(pool, faults(2, 0), 5).await;
    let mut task = saga.order_at(OrderStatus::Pending, "tok_visa", 1).await;
    task.max_attempts = task.attempt;

    saga.run(
        &TakePayment(saga.deps.clone(), CaptureMethod::Automatic),
        &task,
    )
    .await
    .expect("an unknown outcome is a decision on the last attempt");

    let order = saga.order(&task).await;
    assert_eq!(order.status, OrderStatus::Refunding);
    assert_eq!(order.failure_code.as_deref(), Some("payment_unavailable"));
    assert_eq!(
        saga.next_kind(&task).await.as_deref(),
        Some("refund_payment")
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_charge_that_died_refunds_the_order_and_names_the_refund(pool: PgPool) {
    let saga = Saga::start(pool, Faults::default(), 5).await;
    let task = saga.order_at(OrderStatus::Pending, "tok_visa", 1).await;

    let mut tx = saga.pool.begin().await.expect("a transaction");
    let left = TakePayment(saga.deps.clone(), CaptureMethod::Automatic)
        .on_dead(&task.payload, "lease expired", &mut tx)
        .await
        .expect("the death is recorded");
    tx.commit().await.expect("committed");

    assert_eq!(saga.order(&task).await.status, OrderStatus::Refunding);
    assert_eq!(
        left.map(|next| next.kind),
        Some("refund_payment".to_owned())
    );
}
