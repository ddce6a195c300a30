//! Each check names its violations, and passes what is right.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

use super::*;
use crate::chaos::evidence::{EventRow, ReceiverRecord};
use testkit::webhook_receiver::Received;

mod world;

use world::{World, entry, names, order, purchase, task};

#[test]
fn the_money_check_passes_a_right_ledger_and_names_each_kind_of_wrong_one() {
    let paid = order("completed", 1000, Some("ch_1"));
    let refunded = order("refunded", 500, Some("ch_2"));
    let right = vec![
        entry("ch_1", "charge", 1000, paid.id, None),
        entry("ch_2", "charge", 500, refunded.id, None),
        entry("re_2", "refund", 500, refunded.id, Some("ch_2")),
    ];
    let (paid_id, refunded_id) = (paid.id, refunded.id);
    let orders: HashMap<Uuid, OrderRow> = [paid, refunded].into_iter().map(|o| (o.id, o)).collect();
    assert_eq!(money(&right, &orders).violations, Vec::<String>::new());
    assert_eq!(
        money(&right, &orders).checked,
        3,
        "one refund and two orders"
    );

    let mut charged_twice = right.clone();
    charged_twice.push(entry("ch_3", "charge", 1000, paid_id, None));
    let found = money(&charged_twice, &orders).violations;
    assert!(
        found.iter().any(|v| v.contains("charged 2 times")),
        "{found:?}"
    );

    let never_refunded = right[..2].to_vec();
    let found = money(&never_refunded, &orders).violations;
    assert!(
        found
            .iter()
            .any(|v| v.contains(&refunded_id.to_string()) && v.contains("net charged 500")),
        "{found:?}"
    );

    let mut partly_refunded = right.clone();
    partly_refunded[2].amount = 200;
    let found = money(&partly_refunded, &orders).violations;
    assert!(
        found
            .iter()
            .any(|v| v.contains("does not match its charge")),
        "{found:?}"
    );

    let mut stranger = right.clone();
    stranger.push(entry("ch_9", "charge", 100, Uuid::now_v7(), None));
    let found = money(&stranger, &orders).violations;
    assert!(
        found.iter().any(|v| v.contains("which is no order")),
        "{found:?}"
    );
}

#[test]
fn the_holds_check_passes_closed_holds_and_names_open_or_doubled_ones() {
    let now = chrono::Utc::now();
    let hold = |id: &str, order: Uuid, expires_in: i64| LedgerEntry {
        payment_intent: Some(id.to_owned()),
        expires_at: Some(now + chrono::TimeDelta::seconds(expires_in)),
        ..entry(id, "authorization", 1000, order, None)
    };
    let closing = |id: &str, kind: &str, intent: &str, order: Uuid| LedgerEntry {
        payment_intent: Some(intent.to_owned()),
        ..entry(id, kind, 1000, order, None)
    };
    let captured = order("completed", 1000, Some("ch_1"));
    let voided = order("failed", 1000, None);
    let lapsed = order("failed", 1000, None);
    let right = vec![
        hold("pi_1", captured.id, 60),
        closing("ch_1", "capture", "pi_1", captured.id),
        hold("pi_2", voided.id, 60),
        closing("void_2", "void", "pi_2", voided.id),
        hold("pi_3", lapsed.id, -1),
    ];
    let captured_id = captured.id;
    let orders: HashMap<Uuid, OrderRow> = [captured, voided, lapsed]
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let passed = holds_released(&right, &orders, now);
    assert_eq!(passed.violations, Vec::<String>::new());
    assert_eq!(passed.checked, 6, "three holds and three orders");
    assert_eq!(money(&right, &orders).violations, Vec::<String>::new());

    let never_voided = right[..3]
        .iter()
        .chain(&right[4..])
        .cloned()
        .collect::<Vec<_>>();
    let found = holds_released(&never_voided, &orders, now).violations;
    assert!(
        found
            .iter()
            .any(|v| v.contains("pi_2") && v.contains("still open")),
        "{found:?}"
    );

    let mut held_twice = right.clone();
    held_twice.push(hold("pi_9", captured_id, 60));
    let found = holds_released(&held_twice, &orders, now).violations;
    assert!(
        found.iter().any(|v| v.contains("authorized 2 times")),
        "{found:?}"
    );
}

#[test]
fn duplicates_that_got_two_orders_are_violations() {
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let outcome = |ids: Vec<Uuid>| Purchase {
        key: "k".to_owned(),
        order: ids.first().copied(),
        ids_answered: ids,
        duplicate: true,
        cancelled: false,
        cancelled_after_payment: false,
        problems: Vec::new(),
    };
    // Same order twice; two orders; one POST of the two never accepted.
    let check =
        duplicates_share_an_order(&[outcome(vec![a, a]), outcome(vec![a, b]), outcome(vec![a])]);
    assert_eq!(check.checked, 3);
    assert_eq!(check.violations.len(), 2, "{:?}", check.violations);
}

#[test]
fn an_accepted_order_missing_or_not_terminal_is_named() {
    let done = order("completed", 100, Some("ch_1"));
    let stuck = order("paid", 100, Some("ch_2"));
    let missing = Uuid::now_v7();
    let world = World {
        outcomes: vec![
            purchase("a", Some(done.id)),
            purchase("b", Some(stuck.id)),
            purchase("c", Some(missing)),
            purchase("d", None),
        ],
        orders: vec![done, stuck],
        ..World::default()
    };
    names(
        &world.violations("every accepted order exists"),
        &["is still paid", "does not exist", "d: never accepted"],
    );
}

#[test]
fn an_order_nobody_was_answered_202_for_is_named() {
    let known = order("completed", 100, None);
    let stranger = order("completed", 100, None);
    let stranger_id = stranger.id.to_string();
    let world = World {
        outcomes: vec![purchase("a", Some(known.id))],
        orders: vec![known, stranger],
        ..World::default()
    };
    names(
        &world.violations("every order in the database was answered"),
        &[&stranger_id],
    );
}

#[test]
fn tasks_left_running_overdue_or_dead_without_reason_are_named() {
    let settled = order("failed", 100, None);
    let open = order("pending", 100, None);
    let world = World {
        open_tasks: vec![
            task(1, "charge_payment", "running", false, Some(open.id)),
            task(2, "charge_payment", "available", true, Some(open.id)),
            task(3, "refund_payment", "dead", true, Some(settled.id)),
            task(4, "charge_payment", "dead", true, Some(open.id)),
            // Dead with its order settled: explained.
            task(5, "send_confirmation", "dead", true, Some(settled.id)),
        ],
        orders: vec![settled, open],
        ..World::default()
    };
    names(
        &world.violations("no task running or overdue"),
        &[
            "task 1 (charge_payment) is still running",
            "task 2 (charge_payment) is available past its run_at",
            "refund task 3 is dead",
            "task 4 (charge_payment) is dead and its order is pending",
        ],
    );
}

#[test]
fn stock_that_does_not_add_up_and_unknown_restocks_are_named() {
    let world = World {
        initial_stock: BTreeMap::from([("A".to_owned(), 10), ("B".to_owned(), 10)]),
        stock: vec![("A".to_owned(), 7), ("B".to_owned(), 6)],
        sold: HashMap::from([("A".to_owned(), 3), ("B".to_owned(), 3)]),
        mayhem: MayhemLog {
            restock_problems: vec!["restock of B answered 503".to_owned()],
            ..MayhemLog::default()
        },
        ..World::default()
    };
    names(
        &world.violations("stock:"),
        &["B: 10 + 0 restocked != 6 left + 3 sold", "restock of B"],
    );
}

#[test]
fn shoppers_with_odd_answers_or_that_died_are_named() {
    let mut odd = purchase("odd", None);
    odd.problems.push("answered 418".to_owned());
    let world = World {
        outcomes: vec![purchase("fine", Some(Uuid::now_v7())), odd],
        shopper_failures: vec!["a shopper task failed: panicked".to_owned()],
        ..World::default()
    };
    names(
        &world.violations("every shopper got"),
        &["odd: answered 418", "a shopper task failed"],
    );
}

#[test]
fn a_cancel_that_landed_whose_order_did_not_end_cancelled_or_was_charged_first_is_named() {
    let held = order("cancelled", 100, None);
    let slipped = order("completed", 100, Some("ch_1"));
    let given_back = order("cancelled", 100, Some("ch_2"));
    let charged_first = order("cancelled", 100, Some("ch_3"));
    let (slipped_id, charged_first_id) = (slipped.id.to_string(), charged_first.id.to_string());
    let mut a = purchase("a", Some(held.id));
    a.cancelled = true;
    let mut b = purchase("b", Some(slipped.id));
    b.cancelled_after_payment = true;
    let mut c = purchase("c", Some(given_back.id));
    c.cancelled_after_payment = true;
    let mut d = purchase("d", Some(charged_first.id));
    d.cancelled = true;
    let world = World {
        ledger: vec![
            entry("ch_2", "charge", 100, given_back.id, None),
            entry("re_2", "refund", 100, given_back.id, Some("ch_2")),
            entry("ch_3", "charge", 100, charged_first.id, None),
            entry("re_3", "refund", 100, charged_first.id, Some("ch_3")),
        ],
        outcomes: vec![a, b, c, d],
        orders: vec![held, slipped, given_back, charged_first],
        ..World::default()
    };
    names(
        &world.violations("every cancel answered 200 or 202"),
        &[&slipped_id, &charged_first_id],
    );
}

#[test]
fn confirmations_missing_or_sent_for_the_wrong_orders_are_named() {
    let unmailed = order("completed", 100, Some("ch_1"));
    let mailed_twice = order("completed", 100, Some("ch_2"));
    let wrongly = order("refunded", 100, Some("ch_3"));
    let mailed = HashMap::from([(mailed_twice.id, 2), (wrongly.id, 1)]);
    let world = World {
        orders: vec![unmailed, mailed_twice, wrongly],
        mailed,
        ..World::default()
    };
    names(
        &world.violations("confirmation mailed iff completed"),
        &[
            "completed without a confirmation",
            "is refunded and was mailed",
        ],
    );
}

#[test]
fn panics_in_logs_and_processes_that_exited_are_named() {
    let world = World {
        logs: vec![
            ("worker-0.log".to_owned(), None),
            (
                "api.log".to_owned(),
                Some("thread 'main' panicked at src/x.rs".to_owned()),
            ),
        ],
        mayhem: MayhemLog {
            exited: vec!["worker-2 exited on its own (exit status: 1)".to_owned()],
            ..MayhemLog::default()
        },
        ..World::default()
    };
    names(
        &world.violations("no process panicked"),
        &["api.log: thread 'main' panicked", "worker-2 exited"],
    );
}

#[test]
fn every_scheduled_fault_that_never_happened_is_named() {
    names(
        &World::default().violations("every scheduled fault"),
        &[
            "a worker SIGKILLed",
            "connections cut",
            "the API SIGKILLed",
            "every worker SIGKILLed at once",
            "PostgreSQL crashed",
            "restocks",
        ],
    );
}

#[test]
fn no_answer_is_excused_only_while_the_api_was_down_a_503_only_under_a_fault() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let exchange = |sent, ended, answer| Exchange {
        sent: at(sent),
        ended: at(ended),
        answer,
        problem: None,
    };
    let world = World {
        exchanges: vec![
            // In flight when the API was killed, and sent while it was down.
            exchange(90, 110, Answer::None("reset".to_owned())),
            exchange(150, 160, Answer::None("refused".to_owned())),
            // Just after it came back, on a connection pooled before the kill.
            exchange(
                230,
                240,
                Answer::None(
                    "client error (SendRequest): connection closed before message completed"
                        .to_owned(),
                ),
            ),
            // A 503 while PostgreSQL was down, and one whose connection was cut.
            exchange(5_050, 5_060, Answer::Status(503)),
            exchange(9_990, 10_010, Answer::Status(503)),
            // Failed by a cut and recorded before the cut's own answer came.
            exchange(19_990, 20_020, Answer::Status(503)),
            // The API was up and nothing was wrong: violations.
            exchange(3_000, 3_010, Answer::None("refused".to_owned())),
            exchange(3_000, 3_010, Answer::Status(500)),
            exchange(3_000, 3_010, Answer::Status(503)),
        ],
        mayhem: MayhemLog {
            api_down: vec![(at(100), at(200))],
            postgres_down: vec![(at(5_000), at(5_100))],
            connections_cut_during: vec![(at(10_000), at(10_005)), (at(20_000), at(20_050))],
            ..MayhemLog::default()
        },
        ..World::default()
    };
    names(
        &world.violations("the API answered"),
        &[
            "no answer while the API was up",
            "answered 500",
            "answered 503 with no fault",
        ],
    );
}

#[test]
fn a_run_too_small_to_show_a_case_is_named() {
    let mut world = World::default();
    for i in 0..200 {
        world
            .outcomes
            .push(purchase(&format!("k{i}"), Some(Uuid::now_v7())));
    }
    names(
        &world.violations("the run produced enough"),
        &[
            "cancels that landed before the payment: 0",
            "cancels that landed after the payment: 0",
            "duplicate POSTs: 0, fewer than the 2",
            "refunded orders: 0",
            "holds captured (manual capture): 0, fewer than the 20",
            "holds voided (manual capture, out of stock): 0, fewer than the 2",
            "orders mailed a confirmation: 0, fewer than the 20",
            "webhook requests refused (and so retried): 0",
        ],
    );
}

/// A request a receiver got for `event`, verified or not, answered `status`.
fn webhook(event: &EventRow, verified: bool, status: u16) -> Received {
    Received {
        webhook_id: event.id.to_string(),
        timestamp: "1".to_owned(),
        signature: "v1,x".to_owned(),
        body: serde_json::json!({
            "id": event.id,
            "type": event.event_type,
            "data": { "object": { "id": event.order_id.to_string() } },
        }),
        verified_with: if verified { vec![0] } else { vec![] },
        answered: status,
        at: std::time::Instant::now(),
    }
}

#[test]
fn webhook_checks_pass_a_right_run_and_name_each_kind_of_wrong_one() {
    let order = Uuid::now_v7();
    let event = |id: i64, status: &str| EventRow {
        id,
        order_id: order,
        event_type: format!("order.{status}"),
    };
    let events = vec![event(1, "pending"), event(2, "paid"), event(3, "completed")];
    let all = ReceiverRecord {
        name: "all",
        types: vec![],
        received: vec![
            webhook(&events[0], true, 200),
            webhook(&events[1], true, 503),
            webhook(&events[1], true, 200),
            webhook(&events[2], true, 204),
        ],
    };
    let outcomes = ReceiverRecord {
        name: "outcomes",
        types: vec!["order.completed".to_owned()],
        received: vec![webhook(&events[2], true, 200)],
    };
    let right = World {
        events: events.clone(),
        histories: [(
            order,
            vec!["pending".into(), "paid".into(), "completed".into()],
        )]
        .into(),
        receivers: vec![all.clone(), outcomes.clone()],
        ..World::default()
    };
    for name in [
        "webhooks: every event reached",
        "webhooks: nothing reached",
        "webhooks: every signature",
        "webhooks: each order's events",
    ] {
        assert_eq!(right.violations(name), Vec::<String>::new());
    }

    let mut missing = all.clone();
    missing.received.remove(2); // event 2 was only ever answered 503
    let mut unsigned = outcomes.clone();
    unsigned.received[0].verified_with.clear();
    let mut unsubscribed = outcomes;
    unsubscribed.received.push(webhook(&events[0], true, 200));
    let wrong = World {
        events,
        histories: [(
            order,
            vec!["pending".into(), "completed".into(), "paid".into()],
        )]
        .into(),
        receivers: vec![missing, unsigned, unsubscribed],
        ..World::default()
    };
    names(
        &wrong.violations("webhooks: every event reached"),
        &["event 2 (order.paid of order"],
    );
    names(
        &wrong.violations("webhooks: nothing reached"),
        &["got event 1 of type order.pending, which it did not subscribe to"],
    );
    names(
        &wrong.violations("webhooks: every signature"),
        &["the signature of event 3 did not verify"],
    );
    names(
        &wrong.violations("webhooks: each order's events"),
        &["its history is [\"order.pending\", \"order.completed\", \"order.paid\"]"],
    );
}

#[test]
fn slow_clients_kept_past_the_header_timeout_are_named() {
    let mut world = World::default();
    world.slowloris.opened = 4;
    world.slowloris.peak_held = 3;
    world.slowloris.closed_after = vec![Duration::from_secs(10), Duration::from_secs(16)];
    world.slowloris.open_at_stop = vec![Duration::from_secs(2), Duration::from_secs(40)];
    names(
        &world.violations("slow clients"),
        &["closed only after 16", "still open after 40"],
    );
    world.slowloris.closed_after.clear();
    world.slowloris.open_at_stop.clear();
    names(
        &world.violations("slow clients"),
        &["the server closed none of the 4 slowloris connections"],
    );
    world.slowloris.closed_after = vec![Duration::from_millis(10_300)];
    assert!(world.violations("slow clients").is_empty());
}
