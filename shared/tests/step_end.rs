//! A saga step's end in one statement (`orders::end_step`): everything it
//! writes lands together, under the lease and the order's status, or none
//! of it does.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use shared::catalog::{self, NewProduct, Sku};
use shared::money::{Cents, Currency};
use shared::orders::{
    self, CaptureMethod, CheckedOrder, Move, OrderError, OrderStatus, ShortOfStock, StepEnd,
    TaskKind,
};
use shared::queue::{self, ClaimedTask, QueueError, TaskState};
use sqlx::PgPool;
use uuid::Uuid;

const WORKER: &str = "worker-1";
const LEASE: Duration = Duration::from_secs(30);

/// An order for `quantity` mugs (of 5 in stock), not yet placed.
async fn new_order(pool: &PgPool, quantity: i32) -> CheckedOrder {
    let mug = NewProduct {
        sku: Sku::parse("MUG").unwrap(),
        name: "Mug".to_owned(),
        price: Cents::new(1250).unwrap(),
        currency: "USD".parse::<Currency>().unwrap(),
        stock: 5,
    };
    let _ = catalog::insert(&mut pool.acquire().await.unwrap(), &mug).await;
    CheckedOrder {
        id: Uuid::now_v7(),
        customer_email: "ada@example.com".to_owned(),
        lines: vec![(mug.sku, quantity)],
        payment_token: "tok_visa".to_owned(),
        metadata: json!({}),
        capture_method: CaptureMethod::Automatic,
        traceparent: None,
    }
}

/// Places an order for `quantity` mugs and claims its charge.
async fn placed_and_claimed(pool: &PgPool, quantity: i32) -> ClaimedTask {
    let order = new_order(pool, quantity).await;
    let mut conn = pool.acquire().await.unwrap();
    orders::place(&mut conn, "test", &order.id.to_string(), &json!({}), &order)
        .await
        .unwrap();
    let kinds = [TaskKind::ChargePayment.as_str().to_owned()];
    let mut claimed = queue::claim_batch(&mut conn, &Arc::from(WORKER), &kinds, 1, LEASE)
        .await
        .unwrap();
    claimed.pop().unwrap()
}

fn paid() -> Move<'static> {
    Move {
        to: OrderStatus::Paid,
        reason: "payment taken",
        failure: None,
        then: Some(TaskKind::ReserveInventory),
    }
}

fn confirmed() -> Move<'static> {
    Move {
        to: OrderStatus::Confirmed,
        reason: "stock reserved",
        failure: None,
        then: Some(TaskKind::SendConfirmation),
    }
}

fn short() -> ShortOfStock<'static> {
    ShortOfStock {
        to: OrderStatus::Refunding,
        reason: "out of stock after payment",
        failure_code: "out_of_stock",
        then: Some(TaskKind::RefundPayment),
    }
}

fn every_kind() -> Vec<String> {
    TaskKind::ALL
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect()
}

/// The charge paid, and the reservation handed to this worker.
async fn reservation(pool: &PgPool, quantity: i32) -> ClaimedTask {
    reservation_after(pool, &placed_and_claimed(pool, quantity).await).await
}

/// Ends `reserve`'s step as the worker does (stock or refund), handing the
/// next step over when its kind is in `hand_off`.
async fn end_reservation(
    pool: &PgPool,
    reserve: &ClaimedTask,
    hand_off: &[String],
) -> Result<orders::StepEnded, OrderError> {
    let end = StepEnd {
        short_of_stock: Some(short()),
        hand_off: Some((hand_off, LEASE)),
        ..StepEnd::new(
            &reserve.lease,
            reserve.order_id.unwrap(),
            OrderStatus::Paid,
            confirmed(),
        )
    };
    orders::end_step(&mut pool.acquire().await.unwrap(), &end).await
}

async fn stock(pool: &PgPool) -> i32 {
    catalog::get(&mut pool.acquire().await.unwrap(), "MUG")
        .await
        .unwrap()
        .unwrap()
        .stock
}

async fn state_of(pool: &PgPool, task: &ClaimedTask) -> (TaskState, Option<String>) {
    sqlx::query_as("SELECT state, locked_by FROM tasks WHERE id = $1")
        .bind(task.id.0)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_step_end_moves_the_order_completes_the_task_and_hands_over_the_next(pool: PgPool) {
    let charge = placed_and_claimed(&pool, 2).await;
    let order = charge.order_id.unwrap();
    assert_eq!(
        charge.order.as_ref().unwrap().order.status,
        OrderStatus::Pending,
        "the claim brings the order along"
    );
    let reserve = reservation_after(&pool, &charge).await;
    assert_eq!(reserve.kind, "reserve_inventory");
    assert_eq!(
        reserve.order.as_ref().unwrap().order.status,
        OrderStatus::Paid
    );
    assert_eq!(
        reserve.order.as_ref().unwrap().order.charge_id.as_deref(),
        Some("ch_1")
    );
    assert_eq!(
        state_of(&pool, &reserve).await,
        (TaskState::Running, Some(WORKER.to_owned()))
    );

    let ended = end_reservation(&pool, &reserve, &every_kind())
        .await
        .unwrap();

    assert_eq!(ended.order.order.status, OrderStatus::Confirmed);
    assert_eq!(ended.order.lines.len(), 1);
    assert_eq!(stock(&pool).await, 3);
    assert_eq!(state_of(&pool, &charge).await.0, TaskState::Completed);
    assert_eq!(state_of(&pool, &reserve).await.0, TaskState::Completed);
    let mail = ended.handed_off.unwrap();
    assert_eq!(mail.kind, "send_confirmation");
    assert_eq!(
        state_of(&pool, &mail).await,
        (TaskState::Running, Some(WORKER.to_owned()))
    );
    let mut conn = pool.acquire().await.unwrap();
    let history: Vec<_> = orders::history(&mut conn, order)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.status)
        .collect();
    assert_eq!(
        history,
        [
            OrderStatus::Pending,
            OrderStatus::Paid,
            OrderStatus::Confirmed
        ]
    );
    let attempts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM task_attempts WHERE task_id = ANY ($1) AND outcome = 'succeeded'",
    )
    .bind(vec![charge.id.0, reserve.id.0])
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(attempts, 2);
}

async fn reservation_after(pool: &PgPool, charge: &ClaimedTask) -> ClaimedTask {
    let kinds = every_kind();
    let end = StepEnd {
        charge_id: Some("ch_1"),
        hand_off: Some((&kinds, LEASE)),
        ..StepEnd::new(
            &charge.lease,
            charge.order_id.unwrap(),
            OrderStatus::Pending,
            paid(),
        )
    };
    orders::end_step(&mut pool.acquire().await.unwrap(), &end)
        .await
        .unwrap()
        .handed_off
        .unwrap()
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn short_stock_takes_none_and_moves_the_order_the_other_way(pool: PgPool) {
    let reserve = reservation(&pool, 6).await;
    let order = reserve.order_id.unwrap();
    // The refund runs in a worker of its own: not handed over, but woken for.
    let only_mail = [TaskKind::SendConfirmation.as_str().to_owned()];
    let ended = end_reservation(&pool, &reserve, &only_mail).await.unwrap();

    assert_eq!(ended.order.order.status, OrderStatus::Refunding);
    assert_eq!(
        ended.order.order.failure_code.as_deref(),
        Some("out_of_stock")
    );
    assert_eq!(
        ended.order.order.failure_message.as_deref(),
        Some("MUG is out of stock: the order wants 6, 5 left")
    );
    assert!(ended.handed_off.is_none());
    assert_eq!(stock(&pool).await, 5, "nothing was taken");
    let refund: (String, TaskState) = sqlx::query_as(
        "SELECT kind, state FROM tasks WHERE order_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(order)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(refund, ("refund_payment".to_owned(), TaskState::Available));
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_paused_next_step_is_written_to_wait_not_handed_over(pool: PgPool) {
    let reserve = reservation(&pool, 1).await;
    let mut conn = pool.acquire().await.unwrap();
    queue::pause(&mut conn, TaskKind::SendConfirmation.as_str(), "test")
        .await
        .unwrap();
    let ended = end_reservation(&pool, &reserve, &every_kind())
        .await
        .unwrap();
    assert!(ended.handed_off.is_none());
    let waiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tasks WHERE kind = 'send_confirmation' AND state = 'available'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(waiting, 1);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_step_end_whose_lease_was_lost_writes_nothing(pool: PgPool) {
    let reserve = reservation(&pool, 1).await;
    // Held by another worker now (a rescue and a new claim would also have
    // counted an attempt; the worker alone must be enough to refuse it).
    sqlx::query("UPDATE tasks SET locked_by = 'worker-2' WHERE id = $1")
        .bind(reserve.id.0)
        .execute(&pool)
        .await
        .unwrap();
    let result = end_reservation(&pool, &reserve, &every_kind()).await;

    assert!(
        matches!(result, Err(OrderError::Queue(QueueError::LeaseLost { .. }))),
        "{result:?}"
    );
    assert_nothing_written(&pool, &reserve).await;
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_step_end_for_an_order_that_moved_on_writes_nothing(pool: PgPool) {
    let reserve = reservation(&pool, 1).await;
    let order = reserve.order_id.unwrap();
    let kinds = every_kind();
    let end = StepEnd {
        hand_off: Some((&kinds, LEASE)),
        // Expects a confirmed order; this one is paid.
        ..StepEnd::new(
            &reserve.lease,
            order,
            OrderStatus::Confirmed,
            Move {
                to: OrderStatus::Completed,
                reason: "confirmation sent",
                failure: None,
                then: None,
            },
        )
    };
    let result = orders::end_step(&mut pool.acquire().await.unwrap(), &end).await;

    assert!(
        matches!(
            result,
            Err(OrderError::NotInExpectedState {
                actual: Some(OrderStatus::Paid),
                ..
            })
        ),
        "{result:?}"
    );
    assert_nothing_written(&pool, &reserve).await;
}

/// The reservation's task still runs under its lease, the order is paid,
/// the stock untouched and no task follows it.
async fn assert_nothing_written(pool: &PgPool, reserve: &ClaimedTask) {
    assert_eq!(state_of(pool, reserve).await.0, TaskState::Running);
    let order = orders::get(
        &mut pool.acquire().await.unwrap(),
        reserve.order_id.unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!(stock(pool).await, 5);
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks WHERE id > $1")
        .bind(reserve.id.0)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(after, 0);
}

/// A reservation holding its products' locks must not block an order being
/// placed for the same products: the order's lines only need the key to stay
/// (the foreign key's KEY SHARE lock). When it blocked, an order whose lines
/// came in another order than the skus' deadlocked against a reservation.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn placing_an_order_does_not_wait_for_a_reservation_of_its_products(pool: PgPool) {
    let reserve = reservation(&pool, 1).await;
    let another = new_order(&pool, 1).await;
    let mut reserving = pool.begin().await.unwrap();
    let end = StepEnd {
        short_of_stock: Some(short()),
        ..StepEnd::new(
            &reserve.lease,
            reserve.order_id.unwrap(),
            OrderStatus::Paid,
            confirmed(),
        )
    };
    let ended = orders::end_step(&mut reserving, &end).await.unwrap();
    assert_eq!(ended.order.order.status, OrderStatus::Confirmed);

    // The reservation's transaction stays open; a blocked insert would fail
    // on the lock timeout instead of hanging the test.
    let mut placing = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL lock_timeout = '2s'")
        .execute(&mut *placing)
        .await
        .unwrap();
    let result = orders::place(&mut placing, "test", "another", &json!({}), &another).await;
    assert!(
        result.is_ok(),
        "placing waited for the reservation's lock: {result:?}"
    );
    placing.commit().await.unwrap();
    reserving.commit().await.unwrap();
    assert_eq!(stock(&pool).await, 4);
}
