//! The deadline per order (`ORDER_DEADLINE_SECS`): an order not past its
//! payment and stock in time is compensated, with `deadline_exceeded`.

use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{Options, System, sample};

fn options(deadline_secs: u64) -> Options {
    Options {
        worker_env: vec![
            ("ORDER_DEADLINE_SECS", deadline_secs.to_string()),
            ("TASK_LEASE_SECS", "2".to_owned()),
        ],
        gateway_timeout_ms: 500,
        ..Options::default()
    }
}

/// The gateway hangs on every payment call: the order is still `pending`
/// at its deadline, its charge attempt in flight. It is refunded (nothing
/// was charged) once the attempt's lease has run out.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_order_whose_gateway_hangs_is_compensated_at_its_deadline(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("deadline_hang", &db, options(2)).await;
    system.create_product("MUG", 1250, 5).await;
    system.set_faults(json!({ "hang_rate": 1.0 })).await;

    let id = system.place("hung", "tok_visa", &[("MUG", 1)]).await;
    system.wait_for_status(&id, "refunding").await;
    system.set_faults(json!({})).await;
    let order = system.settled(&id).await;

    assert_eq!(order["status"], "refunded", "{order:#}");
    assert_eq!(order["failure"]["code"], "deadline_exceeded", "{order:#}");
    assert!(
        order["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("within 2 s"),
        "{order:#}"
    );
    assert_eq!(
        System::statuses(&order),
        ["pending", "refunding", "refunded"]
    );
    // The charge attempt the deadline overtook had nothing left to do: it
    // ended without an alarm (completed, or withdrawn while it waited).
    let charge = order["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "charge_payment")
        .unwrap();
    assert_ne!(charge["state"], "dead", "{order:#}");
    assert!(system.ledger_for(&id, "charge").await.is_empty());
    assert_eq!(system.stock("MUG").await, 5);
    assert_eq!(
        sample(
            &system.scrape(1).await,
            "asynccheckout_orders_deadline_exceeded_total",
            &[("status", "pending")]
        ),
        Some(1.0)
    );
}

/// Manual capture held at `reserved` past the deadline: the hold is voided
/// and the stock put back. A `confirmed` order is left alone: its money and
/// stock are in place, only its confirmation is missing.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_reserved_order_past_its_deadline_is_voided_and_a_confirmed_one_is_left_alone(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    // Long enough for both orders to get where they wait, on a busy machine.
    let system = System::start("deadline_reserved", &db, options(6)).await;
    system.create_product("MUG", 1250, 5).await;
    system.pause_kind("capture_payment", "pause").await;
    system.pause_kind("send_confirmation", "pause").await;

    let confirmed = system.place("confirmed", "tok_visa", &[("MUG", 1)]).await;
    system.wait_for_status(&confirmed, "confirmed").await;
    let mut body = System::order_body("tok_visa", &[("MUG", 2)]);
    body["capture_method"] = json!("manual");
    let response = system.post_order("reserved", &body).await;
    assert_eq!(response.status(), 202);
    let reserved = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    system.wait_for_status(&reserved, "reserved").await;
    assert_eq!(system.stock("MUG").await, 2);

    let order = system.settled(&reserved).await;

    assert_eq!(
        System::statuses(&order),
        ["pending", "authorized", "reserved", "voiding", "failed"]
    );
    assert_eq!(order["failure"]["code"], "deadline_exceeded", "{order:#}");
    assert_eq!(system.ledger_for(&reserved, "void").await.len(), 1);
    assert!(system.ledger_for(&reserved, "capture").await.is_empty());
    assert_eq!(
        system.stock("MUG").await,
        4,
        "the reserved stock is put back"
    );
    let capture = order["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "capture_payment")
        .unwrap();
    assert_eq!(
        capture["state"], "cancelled",
        "the waiting capture is withdrawn"
    );
    assert_eq!(system.order(&confirmed).await["status"], "confirmed");
}
