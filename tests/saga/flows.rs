//! The saga's paths: completed, failed, refunded, cancelled.

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{Options, System};

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_paid_order_completes_with_one_charge_its_stock_taken_and_one_email(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("happy_path", &db, Options::default()).await;
    system.create_product("TSHIRT-M", 1999, 25).await;

    let id = system
        .place("order-1", "tok_visa", &[("TSHIRT-M", 2)])
        .await;
    let order = system.settled(&id).await;

    assert_eq!(order["status"], "completed");
    assert_eq!(
        System::statuses(&order),
        ["pending", "paid", "confirmed", "completed"]
    );
    assert_eq!(order["total_cents"], 3998);
    assert_eq!(order["items"][0]["unit_price_cents"], 1999);
    let charges = system.ledger_for(&id, "charge").await;
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0]["amount"], 3998);
    assert_eq!(order["payment"]["charge_id"], charges[0]["id"]);
    assert!(system.ledger_for(&id, "refund").await.is_empty());
    assert_eq!(system.stock("TSHIRT-M").await, 23);
    let mails: Vec<String> = system
        .mail
        .messages()
        .into_iter()
        .filter(|m| m.contains(&id))
        .collect();
    assert_eq!(mails.len(), 1, "exactly one confirmation");
    assert!(mails[0].contains(&format!("Message-ID: <order-{id}@asynccheckout>")));
    assert!(mails[0].contains("To: ada@example.com"));
}

/// A token the gateway does not know is refused with a 400: a definite no
/// that is not a decline. The order fails `payment_rejected` at once, with
/// one attempt and nothing charged.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_payment_the_gateway_rejects_fails_the_order_at_once_uncharged(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("rejected", &db, Options::default()).await;
    system.create_product("MUG", 1250, 5).await;

    let id = system
        .place("order-1", "tok_nobodyKnowsMe", &[("MUG", 1)])
        .await;
    let order = system.settled(&id).await;

    assert_eq!(order["status"], "failed");
    assert_eq!(order["failure"]["code"], "payment_rejected", "{order:#}");
    assert!(
        order["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("No such token"),
        "{order:#}"
    );
    assert_eq!(System::statuses(&order), ["pending", "failed"]);
    assert_eq!(
        order["tasks"][0]["attempts"], 1,
        "a definite no is not retried"
    );
    assert!(system.ledger_for(&id, "charge").await.is_empty());
    assert_eq!(system.stock("MUG").await, 5);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_declined_card_fails_the_order_without_charging_or_touching_stock(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("declined", &db, Options::default()).await;
    system.create_product("MUG", 1250, 5).await;

    let declined = system
        .place("order-1", "tok_chargeDeclined", &[("MUG", 1)])
        .await;
    let broke = system
        .place(
            "order-2",
            "tok_chargeDeclinedInsufficientFunds",
            &[("MUG", 1)],
        )
        .await;

    for id in [&declined, &broke] {
        let order = system.settled(id).await;
        assert_eq!(order["status"], "failed");
        assert_eq!(order["failure"]["code"], "payment_declined");
        assert_eq!(System::statuses(&order), ["pending", "failed"]);
        assert!(system.ledger_for(id, "charge").await.is_empty());
    }
    assert!(
        system.order(&broke).await["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("insufficient_funds")
    );
    assert_eq!(system.stock("MUG").await, 5);
    assert!(system.mail.messages().is_empty());
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn stock_short_after_payment_refunds_the_charge(_: PgPoolOptions, db: PgConnectOptions) {
    let system = System::start("out_of_stock", &db, Options::default()).await;
    system.create_product("POSTER", 2500, 1).await;

    let id = system.place("order-1", "tok_visa", &[("POSTER", 2)]).await;
    let order = system.settled(&id).await;

    assert_eq!(order["status"], "refunded");
    assert_eq!(
        System::statuses(&order),
        ["pending", "paid", "refunding", "refunded"]
    );
    assert_eq!(order["failure"]["code"], "out_of_stock");
    let charges = system.ledger_for(&id, "charge").await;
    let refunds = system.ledger_for(&id, "refund").await;
    assert_eq!((charges.len(), refunds.len()), (1, 1));
    assert_eq!(refunds[0]["charge"], charges[0]["id"]);
    assert_eq!(refunds[0]["amount"], charges[0]["amount"]);
    assert_eq!(order["payment"]["refund_id"], refunds[0]["id"]);
    assert_eq!(system.stock("POSTER").await, 1, "stock untouched");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn two_orders_racing_for_the_last_unit_one_completes_and_one_is_refunded(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start(
        "last_unit",
        &db,
        Options {
            workers: 2,
            ..Options::default()
        },
    )
    .await;
    system.create_product("LAST", 500, 1).await;

    let (a, b) = tokio::join!(
        system.place("order-a", "tok_visa", &[("LAST", 1)]),
        system.place("order-b", "tok_visa", &[("LAST", 1)]),
    );
    let (a, b) = (system.settled(&a).await, system.settled(&b).await);

    let mut outcomes = [a["status"].as_str().unwrap(), b["status"].as_str().unwrap()];
    outcomes.sort();
    assert_eq!(outcomes, ["completed", "refunded"]);
    assert_eq!(system.stock("LAST").await, 0);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_pending_order_cancels_without_a_charge_and_only_once(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    // No workers yet: the order stays pending with its payment unstarted.
    let system = System::start("cancel", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 5).await;
    let id = system.place("order-1", "tok_visa", &[("MUG", 1)]).await;

    let cancelled = system
        .http
        .post(format!("{}/v1/orders/{id}/cancel", system.api))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    let order: Value = cancelled.json().await.unwrap();
    assert_eq!(order["status"], "cancelled");
    assert_eq!(order["tasks"][0]["state"], "cancelled");
    let again = system
        .http
        .post(format!("{}/v1/orders/{id}/cancel", system.api))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
}

/// Cancels racing a worker that claims the orders' charges: 40 orders wait,
/// a worker with two slots starts working through them, and all 40 cancels
/// go out at once. For every order exactly one side wins. A 200 means the
/// order ends `cancelled` with nothing charged; a 202 that the charge came
/// first and is refunded, the order `cancelled`; a 409 that its payment was
/// under way (or its confirmation sent), and it goes on to `completed` with
/// one charge of its total.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_cancel_racing_the_charge_has_one_winner_and_the_money_matches_it(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let mut system = System::start("cancel_race", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 100).await;
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(
            system
                .place(&format!("race-{i}"), "tok_visa", &[("MUG", 1)])
                .await,
        );
    }
    system
        .start_worker(0, &[("WORKER_CONCURRENCY", "2".to_owned())])
        .await;
    // The worker has started on the charges: the cancels race it, not an
    // idle queue.
    let until = tokio::time::Instant::now() + crate::system::DEADLINE;
    loop {
        let started: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks WHERE attempts > 0")
            .fetch_one(&system.pool)
            .await
            .unwrap();
        if started > 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "the worker never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let system = &system;
    let cancels = ids.iter().map(|id| async move {
        let cancel = system
            .http
            .post(format!("{}/v1/orders/{id}/cancel", system.api))
            .send()
            .await
            .unwrap();
        let status = cancel.status().as_u16();
        (id.clone(), status, cancel.json::<Value>().await.unwrap())
    });
    let outcomes = futures::future::join_all(cancels).await;
    let (mut cancelled, mut refused) = (0, 0);
    for (id, status, answer) in &outcomes {
        let order = system.settled(id).await;
        let charges = system.ledger_for(id, "charge").await;
        let refunds = system.ledger_for(id, "refund").await;
        match status {
            200 => {
                cancelled += 1;
                assert_eq!(answer["status"], "cancelled");
                assert_eq!(order["status"], "cancelled", "{order:#}");
                assert!(
                    charges.is_empty(),
                    "a cancelled order was charged: {charges:#?}"
                );
            }
            202 => {
                // After the charge, before the confirmation: given back.
                cancelled += 1;
                assert_eq!(answer["status"], "cancelling");
                assert_eq!(order["status"], "cancelled", "{order:#}");
                assert_eq!(charges.len(), 1, "{charges:#?}");
                assert_eq!(refunds.len(), 1, "{refunds:#?}");
                assert_eq!(refunds[0]["amount"], charges[0]["amount"]);
            }
            409 => {
                refused += 1;
                assert_eq!(answer["type"], "/problems/order-not-cancellable");
                assert_eq!(order["status"], "completed", "{order:#}");
                assert_eq!(charges.len(), 1, "{charges:#?}");
                assert_eq!(charges[0]["amount"], 1250);
                assert!(refunds.is_empty());
            }
            other => panic!("cancel of {id} answered {other}: {answer:#}"),
        }
    }
    // Both sides won some: the race was run, not just one side of it.
    assert!(
        cancelled > 0 && refused > 0,
        "cancels won {cancelled} and lost {refused} of 40"
    );
}

/// Placing an order wakes an idle worker at once: the API sends the wake-up
/// after the order's commit (not inside it), and the worker here would not
/// look on its own for minutes.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_placed_order_wakes_an_idle_worker_without_waiting_for_its_poll(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let options = Options {
        worker_env: vec![("POLL_INTERVAL_MS", "600000".into())],
        ..Options::default()
    };
    let system = System::start("wake_up", &db, options).await;
    system.create_product("MUG", 1250, 5).await;

    let id = system.place("order-1", "tok_visa", &[("MUG", 1)]).await;

    // Within the test's deadline (a minute), well short of the poll's 5-10.
    system.wait_for_status(&id, "completed").await;
}

/// Each placed order wakes one worker, in turn, not all of them: with two
/// idle workers that would otherwise poll every ten minutes, every order
/// completes within the deadline (so the worker woken was listening on its
/// own channel), both workers take orders, and the claims that found nothing
/// do not grow with the orders (woken together, one of the two would claim
/// nothing for every order).
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_placed_order_wakes_one_worker_not_all(_: PgPoolOptions, db: PgConnectOptions) {
    let mut system = System::start(
        "wake_one",
        &db,
        Options {
            worker_env: vec![("POLL_INTERVAL_MS", "600000".into())],
            ..Options::without_workers()
        },
    )
    .await;
    system.start_worker(0, &[]).await;
    system.start_worker(1, &[]).await;
    system.create_product("MUG", 1250, 20).await;
    // Both in the registry before the first wake-up reads it.
    system
        .wait_for_count(
            "SELECT count(*) FROM queue_workers WHERE stopped_at IS NULL AND $1 = ANY (kinds)",
            "charge_payment",
            2,
            "both workers in the registry",
        )
        .await;
    let empty_before = empty_main_claims(&system).await;

    let orders = 8;
    for i in 0..orders {
        let id = system
            .place(&format!("order-{i}"), "tok_visa", &[("MUG", 1)])
            .await;
        system.wait_for_status(&id, "completed").await;
    }

    let empty = empty_main_claims(&system).await - empty_before;
    assert!(
        empty < orders / 2,
        "{empty} empty claims for {orders} orders: every worker was woken"
    );
    for worker in 1..=2 {
        let charges = metric_sum(
            &system.scrape(worker).await,
            "asynccheckout_tasks_claimed_total{kind=\"charge_payment\"}",
        );
        assert!(charges >= 1.0, "worker {worker} took no order");
    }
}

/// Claims that found nothing in the main lanes of both workers.
async fn empty_main_claims(system: &System) -> u32 {
    let mut total = 0.0;
    for worker in 1..=2 {
        let text = system.scrape(worker).await;
        total += metric_sum(&text, "asynccheckout_empty_claims_total{lane=\"main\"}");
    }
    total as u32
}

/// The value of the sample `series` (name and labels, exactly as exported),
/// 0 when absent.
fn metric_sum(text: &str, series: &str) -> f64 {
    text.lines()
        .filter_map(|line| line.strip_prefix(series))
        .filter_map(|value| value.trim().parse::<f64>().ok())
        .sum()
}
