//! Each check names its violations, and passes what is right.

use std::time::Duration;

use super::*;

fn order(status: &str, total: i64, charge: Option<&str>) -> OrderRow {
    OrderRow {
        id: Uuid::now_v7(),
        status: status.to_owned(),
        total_cents: total,
        charge_id: charge.map(str::to_owned),
    }
}

fn entry(id: &str, kind: &str, amount: i64, order: Uuid, charge: Option<&str>) -> LedgerEntry {
    LedgerEntry {
        id: id.to_owned(),
        kind: kind.to_owned(),
        amount,
        order_id: Some(order.to_string()),
        charge: charge.map(str::to_owned),
    }
}

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
fn duplicates_that_got_two_orders_are_violations() {
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let outcome = |ids: Vec<Uuid>| Outcome {
        key: "k".to_owned(),
        order: ids.first().copied(),
        ids_answered: ids,
        duplicate: true,
        cancelled: false,
        problems: Vec::new(),
    };
    // Same order twice; two orders; one POST of the two never accepted.
    let check =
        duplicates_share_an_order(&[outcome(vec![a, a]), outcome(vec![a, b]), outcome(vec![a])]);
    assert_eq!(check.checked, 3);
    assert_eq!(check.violations.len(), 2, "{:?}", check.violations);
}

#[test]
fn no_answer_is_excused_only_while_the_api_was_down_and_a_500_never() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let down = [(at(100), at(200))];
    let exchange = |sent, ended, answer| Exchange {
        sent: at(sent),
        ended: at(ended),
        answer,
    };
    let exchanges = [
        // In flight when the API was killed, and sent while it was down.
        exchange(90, 110, Answer::None("reset".to_owned())),
        exchange(150, 160, Answer::None("refused".to_owned())),
        // The API was up: violations.
        exchange(300, 310, Answer::None("refused".to_owned())),
        exchange(300, 310, Answer::Status(500)),
        // A 503 is an answer (to retry).
        exchange(300, 310, Answer::Status(503)),
    ];
    let check = api_answered(&exchanges, &down);
    assert_eq!(check.checked, 5);
    assert_eq!(check.violations.len(), 2, "{:?}", check.violations);
}
