//! A made-up run for the checks' tests: owned evidence, lent to the checks.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::super::*;
use crate::chaos::evidence::{EventRow, OpenTask, ReceiverRecord, RunRecord};
use testkit::slowloris::SlowlorisRecord;

/// What a run could have left behind, owned, to lend to an [`Evidence`].
#[derive(Default)]
pub struct World {
    pub orders: Vec<OrderRow>,
    pub open_tasks: Vec<OpenTask>,
    pub stock: Vec<(String, i64)>,
    pub sold: HashMap<String, i64>,
    pub logs: Vec<(String, Option<String>)>,
    pub mailed: HashMap<Uuid, usize>,
    pub ledger: Vec<LedgerEntry>,
    pub outcomes: Vec<Purchase>,
    pub shopper_failures: Vec<String>,
    pub exchanges: Vec<Exchange>,
    pub mayhem: MayhemLog,
    pub initial_stock: BTreeMap<String, i64>,
    pub slowloris: SlowlorisRecord,
    pub events: Vec<EventRow>,
    pub histories: HashMap<Uuid, Vec<String>>,
    pub receivers: Vec<ReceiverRecord>,
}

impl World {
    pub fn evidence(&self) -> Evidence<'_> {
        Evidence {
            orders: self
                .orders
                .iter()
                .map(|o| {
                    (
                        o.id,
                        OrderRow {
                            id: o.id,
                            status: o.status.clone(),
                            total_cents: o.total_cents,
                            charge_id: o.charge_id.clone(),
                        },
                    )
                })
                .collect(),
            open_tasks: self
                .open_tasks
                .iter()
                .map(|t| OpenTask {
                    id: t.id,
                    kind: t.kind.clone(),
                    state: t.state.clone(),
                    due: t.due,
                    order_id: t.order_id.clone(),
                    last_error: t.last_error.clone(),
                })
                .collect(),
            settled_tasks: 0,
            stock: self.stock.clone(),
            sold: self.sold.clone(),
            logs: self.logs.clone(),
            events: self.events.clone(),
            histories: self.histories.clone(),
            run: RunRecord {
                mailed: &self.mailed,
                ledger: &self.ledger,
                outcomes: &self.outcomes,
                shopper_failures: &self.shopper_failures,
                exchanges: &self.exchanges,
                mayhem: &self.mayhem,
                initial_stock: &self.initial_stock,
                slowloris: &self.slowloris,
                receivers: &self.receivers,
            },
        }
    }

    /// The violations of the check called `name`, run on this world.
    pub fn violations(&self, name: &str) -> Vec<String> {
        let checks = check(&self.evidence());
        checks
            .into_iter()
            .find(|c| c.name.starts_with(name))
            .unwrap_or_else(|| panic!("no check called {name}"))
            .violations
    }
}

pub fn purchase(key: &str, order: Option<Uuid>) -> Purchase {
    Purchase {
        key: key.to_owned(),
        order,
        ids_answered: order.into_iter().collect(),
        duplicate: false,
        cancelled: false,
        cancelled_after_payment: false,
        problems: Vec::new(),
    }
}

pub fn task(id: i64, kind: &str, state: &str, due: bool, order: Option<Uuid>) -> OpenTask {
    OpenTask {
        id,
        kind: kind.to_owned(),
        state: state.to_owned(),
        due,
        order_id: order.map(|o| o.to_string()),
        last_error: Some("boom".to_owned()),
    }
}

/// Asserts that each of `expected` is found in one of `found`.
pub fn names(found: &[String], expected: &[&str]) {
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for e in expected {
        assert!(
            found.iter().any(|f| f.contains(e)),
            "{e:?} not in {found:#?}"
        );
    }
}

pub fn order(status: &str, total: i64, charge: Option<&str>) -> OrderRow {
    OrderRow {
        id: Uuid::now_v7(),
        status: status.to_owned(),
        total_cents: total,
        charge_id: charge.map(str::to_owned),
    }
}

pub fn entry(id: &str, kind: &str, amount: i64, order: Uuid, charge: Option<&str>) -> LedgerEntry {
    LedgerEntry {
        id: id.to_owned(),
        kind: kind.to_owned(),
        amount,
        order_id: Some(order.to_string()),
        charge: charge.map(str::to_owned),
        payment_intent: None,
        expires_at: None,
    }
}
