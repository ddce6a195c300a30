//! The webhook checks: every event reached every endpoint subscribed to its
//! type (at least once, answered 2xx), nothing reached an endpoint that did
//! not subscribe to it, every request verified with the Standard Webhooks
//! reference library, and each order's events, as an endpoint got them,
//! follow its history.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::Check;
use crate::chaos::evidence::{EventRow, ReceiverRecord};

fn subscribed(receiver: &ReceiverRecord, event_type: &str) -> bool {
    receiver.types.is_empty() || receiver.types.iter().any(|t| t == event_type)
}

/// Every event reached every receiver subscribed to its type, answered 2xx.
pub fn webhooks_reached_subscribers(events: &[EventRow], receivers: &[ReceiverRecord]) -> Check {
    let mut check = Check::new("webhooks: every event reached each subscribed endpoint (2xx)");
    for receiver in receivers {
        let delivered: std::collections::HashSet<&str> = receiver
            .received
            .iter()
            .filter(|r| (200..300).contains(&r.answered))
            .map(|r| r.webhook_id.as_str())
            .collect();
        for event in events
            .iter()
            .filter(|e| subscribed(receiver, &e.event_type))
        {
            let id = event.id.to_string();
            check.look((!delivered.contains(id.as_str())).then(|| {
                format!(
                    "event {} ({} of order {}) never reached {} with a 2xx",
                    event.id, event.event_type, event.order_id, receiver.name
                )
            }));
        }
    }
    check
}

/// No receiver got a type it did not subscribe to, or an id no event has.
pub fn webhooks_only_to_subscribers(events: &[EventRow], receivers: &[ReceiverRecord]) -> Check {
    let mut check = Check::new("webhooks: nothing reached an endpoint not subscribed to it");
    let types: HashMap<String, &str> = events
        .iter()
        .map(|e| (e.id.to_string(), e.event_type.as_str()))
        .collect();
    for receiver in receivers {
        for request in &receiver.received {
            let violation = match types.get(&request.webhook_id) {
                None => Some(format!(
                    "{} got webhook-id {:?}, which no event has",
                    receiver.name, request.webhook_id
                )),
                Some(event_type) if !subscribed(receiver, event_type) => Some(format!(
                    "{} got event {} of type {event_type}, which it did not subscribe to",
                    receiver.name, request.webhook_id
                )),
                Some(_) => None,
            };
            check.look(violation);
        }
    }
    check
}

/// Every request verified with the endpoint's secret, by the reference
/// library, and its body is the event its `webhook-id` names.
pub fn webhook_signatures_verify(receivers: &[ReceiverRecord]) -> Check {
    let mut check = Check::new("webhooks: every signature verifies (standardwebhooks)");
    for receiver in receivers {
        for request in &receiver.received {
            let violation = if request.verified_with.is_empty() {
                Some(format!(
                    "{}: the signature of event {} did not verify ({:?})",
                    receiver.name, request.webhook_id, request.signature
                ))
            } else if request.body["id"]
                .as_i64()
                .map(|id| id.to_string())
                .as_deref()
                != Some(request.webhook_id.as_str())
            {
                Some(format!(
                    "{}: webhook-id {} came with the body of event {}",
                    receiver.name, request.webhook_id, request.body["id"]
                ))
            } else {
                None
            };
            check.look(violation);
        }
    }
    check
}

/// Per order, the events a receiver of every type got, in id order, are the
/// order's history: each status once, in the order it took them.
pub fn webhook_events_follow_history(
    histories: &HashMap<Uuid, Vec<String>>,
    receivers: &[ReceiverRecord],
) -> Check {
    let mut check = Check::new("webhooks: each order's events follow its history");
    for receiver in receivers.iter().filter(|r| r.types.is_empty()) {
        let mut by_order: HashMap<Uuid, BTreeMap<i64, String>> = HashMap::new();
        for request in &receiver.received {
            let object = &request.body["data"]["object"];
            let (Some(order), Some(id), Some(event_type)) = (
                object["id"].as_str().and_then(|o| o.parse::<Uuid>().ok()),
                request.body["id"].as_i64(),
                request.body["type"].as_str(),
            ) else {
                continue;
            };
            by_order
                .entry(order)
                .or_default()
                .insert(id, event_type.to_owned());
        }
        for (order, history) in histories {
            let got: Vec<String> = by_order
                .get(order)
                .map(|events| events.values().cloned().collect())
                .unwrap_or_default();
            let expected: Vec<String> = history.iter().map(|s| format!("order.{s}")).collect();
            check.look((got != expected).then(|| {
                format!(
                    "{} got order {order}'s events as {got:?}; its history is {expected:?}",
                    receiver.name
                )
            }));
        }
    }
    check
}
