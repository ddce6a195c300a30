//! Crash points: a worker aborts at a step boundary (worker/src/crash.rs),
//! a fresh worker takes over after the lease, and the order still ends in
//! the right state with the money and the stock right. These need a build
//! with `--features failpoints` (scripts/test builds one).

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{Options, System};

fn require_crash_points() {
    if !cfg!(feature = "failpoints") {
        panic!(
            "the crash-point tests need a build with --features failpoints (scripts/test has it)"
        );
    }
}

/// Waits for `process` to die of SIGABRT, as an armed crash point makes it.
async fn assert_aborts(process: &mut tokio::process::Child, name: &str) {
    let exit = tokio::time::timeout(Duration::from_secs(30), process.wait())
        .await
        .unwrap_or_else(|_| panic!("{name} did not reach its crash point"))
        .unwrap();
    assert_eq!(
        exit.signal(),
        Some(6),
        "{name} should have aborted: {exit:?}"
    );
}

/// Starts a system whose only worker aborts at `point`, places one order for
/// a product with `stock`, waits for the abort, then starts a clean worker.
async fn crash_then_recover(
    test: &str,
    db: &PgConnectOptions,
    point: &str,
    stock: i64,
) -> (System, String) {
    crash_then_recover_paid(test, db, point, stock, "automatic").await
}

/// [`crash_then_recover`] with the order's payment taken by `capture_method`.
async fn crash_then_recover_paid(
    test: &str,
    db: &PgConnectOptions,
    point: &str,
    stock: i64,
    capture_method: &str,
) -> (System, String) {
    require_crash_points();
    let mut system = System::start(
        test,
        db,
        Options {
            workers: 0,
            worker_env: vec![
                ("TASK_LEASE_SECS", "2".into()),
                ("RESCUE_INTERVAL_SECS", "1".into()),
            ],
            api_env: vec![("CAPTURE_METHOD", capture_method.to_owned())],
            ..Options::default()
        },
    )
    .await;
    system.create_product("MUG", 1250, stock).await;
    system
        .start_worker(0, &[("FAILPOINTS", format!("{point}=return"))])
        .await;

    let id = system
        .place(&format!("{test}-1"), "tok_visa", &[("MUG", 1)])
        .await;

    assert_aborts(&mut system.workers[0], "worker-0").await;
    assert!(
        system
            .log("worker-0")
            .contains(&format!("crash point {point} armed")),
        "worker-0 aborted somewhere else"
    );
    system.start_worker(1, &[]).await;
    (system, id)
}

fn task<'a>(order: &'a Value, kind: &str) -> &'a Value {
    order["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} task in {order}"))
}

async fn assert_completed_and_charged_once(system: &System, id: &str) -> Value {
    let order = system.settled(id).await;
    assert_eq!(order["status"], "completed", "{order}");
    let charges = system.ledger_for(id, "charge").await;
    assert_eq!(charges.len(), 1, "charged once: {charges:?}");
    assert_eq!(charges[0]["amount"], 1250);
    assert!(system.ledger_for(id, "refund").await.is_empty());
    assert_eq!(system.stock("MUG").await, 4, "stock taken exactly once");
    order
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_crash_right_after_claiming_loses_nothing(_: PgPoolOptions, db: PgConnectOptions) {
    let (system, id) = crash_then_recover("crash_after_claim", &db, "worker.after_claim", 5).await;

    let order = assert_completed_and_charged_once(&system, &id).await;
    assert_eq!(task(&order, "charge_payment")["attempts"], 2, "{order}");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_crash_after_the_gateway_charged_but_before_recording_it_charges_once(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let (system, id) =
        crash_then_recover("crash_after_charge", &db, "charge_payment.after_gateway", 5).await;

    let order = assert_completed_and_charged_once(&system, &id).await;
    assert_eq!(task(&order, "charge_payment")["attempts"], 2, "{order}");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_crash_after_a_step_committed_leaves_its_successor_to_be_rescued(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let (system, id) = crash_then_recover("crash_after_commit", &db, "step.after_commit", 5).await;

    let order = assert_completed_and_charged_once(&system, &id).await;
    // The charge committed; its successor, handed to the crashed worker at
    // birth, ran again on the other worker after its lease expired.
    assert_eq!(task(&order, "charge_payment")["attempts"], 1, "{order}");
    assert_eq!(task(&order, "reserve_inventory")["attempts"], 2, "{order}");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_crash_after_mailing_the_confirmation_completes_the_order_and_mails_again(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let (system, id) =
        crash_then_recover("crash_after_mail", &db, "send_confirmation.after_send", 5).await;

    let order = assert_completed_and_charged_once(&system, &id).await;
    assert_eq!(task(&order, "send_confirmation")["attempts"], 2, "{order}");
    // At least once, as documented: the mail taken before the crash, and the
    // one sent again by the worker that took over, with the same Message-ID.
    let until = tokio::time::Instant::now() + crate::system::DEADLINE;
    while system.mail.messages().len() < 2 {
        assert!(
            tokio::time::Instant::now() < until,
            "the confirmation was not sent again"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let messages = system.mail.messages();
    assert_eq!(messages.len(), 2);
    let message_id = format!("<order-{id}@asynccheckout>");
    assert!(
        messages.iter().all(|m| m.contains(&message_id)),
        "{messages:#?}"
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_crash_mid_refund_refunds_exactly_once(_: PgPoolOptions, db: PgConnectOptions) {
    // No stock: paid, then out of stock, then refunded.
    let (system, id) =
        crash_then_recover("crash_mid_refund", &db, "refund_payment.after_gateway", 0).await;

    let order = system.settled(&id).await;
    assert_eq!(order["status"], "refunded", "{order}");
    let charges = system.ledger_for(&id, "charge").await;
    let refunds = system.ledger_for(&id, "refund").await;
    assert_eq!(
        (charges.len(), refunds.len()),
        (1, 1),
        "{charges:?} {refunds:?}"
    );
    assert_eq!(refunds[0]["amount"], charges[0]["amount"]);
    assert_eq!(task(&order, "refund_payment")["attempts"], 2, "{order}");
    assert_eq!(system.stock("MUG").await, 0);
}

/// Manual capture: the order completed with one hold and one capture, and
/// the step that crashed at `point` ran twice.
async fn assert_held_and_captured_once(system: &System, id: &str, kind: &str) {
    let order = system.settled(id).await;
    assert_eq!(order["status"], "completed", "{order}");
    assert_eq!(system.ledger_for(id, "authorization").await.len(), 1);
    let captures = system.ledger_for(id, "capture").await;
    assert_eq!(captures.len(), 1, "captured once: {captures:?}");
    assert_eq!(captures[0]["amount"], 1250);
    assert!(system.ledger_for(id, "charge").await.is_empty());
    assert_eq!(system.stock("MUG").await, 4, "stock taken once");
    assert_eq!(task(&order, kind)["attempts"], 2, "{order}");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_crash_after_the_gateway_held_the_payment_holds_it_once(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let point = "authorize_payment.after_gateway";
    let (system, id) = crash_then_recover_paid("crash_after_hold", &db, point, 5, "manual").await;

    assert_held_and_captured_once(&system, &id, "authorize_payment").await;
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_crash_after_the_gateway_captured_the_payment_captures_it_once(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let point = "capture_payment.after_gateway";
    let (system, id) =
        crash_then_recover_paid("crash_after_capture", &db, point, 5, "manual").await;

    assert_held_and_captured_once(&system, &id, "capture_payment").await;
}

/// Manual capture, out of stock: a crash right after the gateway released
/// the hold releases it once, and nothing is ever captured.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_crash_mid_void_releases_the_hold_once(_: PgPoolOptions, db: PgConnectOptions) {
    let (system, id) = crash_then_recover_paid(
        "crash_mid_void",
        &db,
        "void_authorization.after_gateway",
        0,
        "manual",
    )
    .await;

    let order = system.settled(&id).await;
    assert_eq!(order["status"], "failed", "{order}");
    assert_eq!(order["failure"]["code"], "out_of_stock", "{order}");
    assert_eq!(system.ledger_for(&id, "authorization").await.len(), 1);
    assert_eq!(system.ledger_for(&id, "void").await.len(), 1);
    assert!(system.ledger_for(&id, "capture").await.is_empty());
    assert_eq!(task(&order, "void_authorization")["attempts"], 2, "{order}");
    assert_eq!(system.stock("MUG").await, 0);
}

/// A cancel after the payment: a crash right after the gateway refunded the
/// cancelled order's charge refunds it once, and the stock goes back once.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_crash_mid_cancel_gives_the_money_back_once(_: PgPoolOptions, db: PgConnectOptions) {
    require_crash_points();
    let point = "cancel_payment.after_gateway";
    let mut system = System::start(
        "crash_mid_cancel",
        &db,
        Options {
            workers: 0,
            worker_env: vec![
                ("TASK_LEASE_SECS", "2".into()),
                ("RESCUE_INTERVAL_SECS", "1".into()),
            ],
            ..Options::default()
        },
    )
    .await;
    system.create_product("MUG", 1250, 5).await;
    system.pause_kind("send_confirmation", "pause").await;
    system
        .start_worker(0, &[("FAILPOINTS", format!("{point}=return"))])
        .await;
    let id = system
        .place("crash-cancel", "tok_visa", &[("MUG", 1)])
        .await;
    system.wait_for_status(&id, "confirmed").await;
    let cancel = system
        .http
        .post(format!("{}/v1/orders/{id}/cancel", system.api))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), 202);

    assert_aborts(&mut system.workers[0], "worker-0").await;
    assert!(
        system
            .log("worker-0")
            .contains(&format!("crash point {point} armed")),
        "worker-0 aborted somewhere else"
    );
    system.start_worker(1, &[]).await;

    let order = system.settled(&id).await;
    assert_eq!(order["status"], "cancelled", "{order}");
    assert_eq!(system.ledger_for(&id, "charge").await.len(), 1);
    let refunds = system.ledger_for(&id, "refund").await;
    assert_eq!(refunds.len(), 1, "refunded once: {refunds:?}");
    assert_eq!(refunds[0]["amount"], 1250);
    assert_eq!(task(&order, "cancel_payment")["attempts"], 2, "{order}");
    assert_eq!(system.stock("MUG").await, 5, "the stock went back once");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_api_crash_after_the_insert_loses_no_order_and_the_retry_gets_it(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    require_crash_points();
    let mut system = System::start(
        "crash_api_after_insert",
        &db,
        Options {
            api_env: vec![("FAILPOINTS", "api.after_insert=return".into())],
            ..Options::default()
        },
    )
    .await;
    system.create_product("MUG", 1250, 5).await;
    let body = System::order_body("tok_visa", &[("MUG", 1)]);

    let lost = system.post_order_unchecked("crash-1", &body).await;
    assert!(
        lost.is_err(),
        "the API answered though it should have aborted: {lost:?}"
    );
    assert_aborts(&mut system.api_process, "the API").await;

    // The client retries with the same key against the restarted API.
    system.restart_api(&[]).await;
    let retried = system.post_order("crash-1", &body).await;
    assert_eq!(retried.status(), 202);
    assert_eq!(retried.headers()["idempotent-replayed"], "true");
    let order: Value = retried.json().await.unwrap();
    let id = order["id"].as_str().unwrap().to_owned();

    let settled = system.settled(&id).await;
    assert_eq!(settled["status"], "completed", "{settled}");
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&system.pool)
        .await
        .unwrap();
    assert_eq!(orders, 1, "the retry made no second order");
    assert_eq!(system.ledger_for(&id, "charge").await.len(), 1);
}
