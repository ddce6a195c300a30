//! The overview: tasks per kind and state with the oldest wait, which kinds
//! are paused (with the buttons to pause and resume them) or held by an
//! open circuit breaker, the breakers, orders by status, and the workers,
//! alive, stopped or vanished. At millions of rows
//! the finished tasks and the orders are estimated, and shown as such.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use maud::{Markup, html};
use poem::web::cookie::CookieJar;
use poem::web::{Data, Form, Path, Redirect};
use poem::{IntoResponse, Response, handler};
use shared::db::Session;
use shared::orders::{OrderStatus, TaskKind};
use shared::queue::minutes::Minute;
use shared::queue::workers::{self, Liveness};
use shared::queue::{self, ScaledCount, TaskState};

use super::charts::{Series, line_chart};
use super::layout::{Section, action_button, live_page, when};
use super::session::{self, Action, acting_operator, server_error};
use super::sign_in::to_sign_in;
use crate::AppState;

/// Past this many rows in a table, its big counts are the planner's
/// estimates: an exact count of millions takes longer than a page may.
const EXACT_BELOW: i64 = 100_000;

/// The task states, in the order the overview shows them.
const STATES: [TaskState; 5] = [
    TaskState::Available,
    TaskState::Running,
    TaskState::Dead,
    TaskState::Completed,
    TaskState::Cancelled,
];

#[handler]
pub async fn overview(state: Data<&AppState>, cookies: &CookieJar) -> poem::Result<Response> {
    let Some(operator) = session::operator(&state.pool, cookies).await? else {
        return Ok(to_sign_in());
    };
    let mut conn = Session::acquire(&state.pool).await.map_err(server_error)?;
    let paused = queue::paused(&mut conn).await.map_err(server_error)?;
    let breakers = queue::breakers::list(&mut conn)
        .await
        .map_err(server_error)?;
    // Every kind the queue knows of: the saga's, webhook deliveries, and
    // any paused (and, below, any with tasks).
    let mut kinds: BTreeSet<String> = TaskKind::ALL
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    kinds.insert(shared::webhooks::DELIVER_KIND.to_owned());
    kinds.extend(paused.iter().map(|p| p.kind.clone()));
    let known: Vec<String> = kinds.iter().cloned().collect();
    let counts = queue::counts_at_scale(&mut conn, &known, EXACT_BELOW)
        .await
        .map_err(server_error)?;
    let orders = shared::orders::count_by_status(&mut conn, EXACT_BELOW)
        .await
        .map_err(server_error)?;
    let workers = workers::list(&mut conn).await.map_err(server_error)?;
    let minutes = queue::minutes::last_hour(&mut conn)
        .await
        .map_err(server_error)?;
    drop(conn);

    kinds.extend(counts.iter().map(|c| c.kind.clone()));
    let by_kind: BTreeMap<(&str, &str), &ScaledCount> = counts
        .iter()
        .map(|count| ((count.kind.as_str(), count.state.as_str()), count))
        .collect();
    let any_estimate = counts.iter().any(|c| c.estimated) || orders.iter().any(|c| c.estimated);
    let now = Utc::now();
    let body = html! {
        h1 { "Overview" }
        h2 #tasks { "Tasks by kind and state" }
        table aria-describedby="tasks" {
            thead { tr {
                th scope="col" { "Kind" }
                @for state in STATES { th scope="col" { (state.as_str()) } }
                th scope="col" { "Oldest waiting" }
                th scope="col" { "Claiming" }
            } }
            tbody {
                @for kind in &kinds {
                    @let pause = paused.iter().find(|p| &p.kind == kind);
                    @let held = breakers.iter().find(|b| b.open && b.kinds.contains(kind));
                    tr {
                        th scope="row" { a href={ "/ui/tasks?kind=" (kind) } { (kind) } }
                        @for state in STATES {
                            @let count = by_kind.get(&(kind.as_str(), state.as_str()));
                            td.num {
                                @match count {
                                    Some(count) if count.count > 0 => {
                                        a href={ "/ui/tasks?kind=" (kind) "&state=" (state.as_str()) } { (shown(count.count, count.estimated)) }
                                    }
                                    _ => { span.muted { "0" } }
                                }
                            }
                        }
                        td {
                            @match by_kind.get(&(kind.as_str(), "available")).and_then(|c| c.oldest_run_at) {
                                Some(oldest) if oldest <= now => { (wait(now - oldest)) }
                                _ => { span.muted { "—" } }
                            }
                        }
                        td {
                            @if let Some(breaker) = held {
                                span.bad { "held" }
                                " (" a href="#breakers" { (breaker.downstream) } " is down) "
                            }
                            @if let Some(pause) = pause {
                                span.bad { "paused" }
                                " by " (pause.paused_by) " at " (when(pause.paused_at)) " "
                                @if operator.can_act() {
                                    (action_button(&operator, &format!("/ui/queues/{kind}/resume"), "Resume", false))
                                }
                            } @else {
                                span.ok { "yes" } " "
                                @if operator.can_act() {
                                    (action_button(&operator, &format!("/ui/queues/{kind}/pause"), "Pause", true))
                                }
                            }
                        }
                    }
                }
            }
        }
        p.muted {
            @if any_estimate {
                "Numbers marked ≈ are the planner's estimates (the tables are too big to count at every load); the others are exact. "
            } @else {
                "Counts are exact, as of this page's load. "
            }
            "A paused kind's tasks wait; the running ones finish. A held kind's wait for its downstream: one probe goes each cool-down, and the first that gets through releases them."
        }
        h2 #breakers { "Circuit breakers" }
        @if breakers.is_empty() {
            p.muted { "No downstream has tripped its circuit breaker." }
        } @else {
            table aria-describedby="breakers" {
                thead { tr {
                    th scope="col" { "Downstream" }
                    th scope="col" { "State" }
                    th scope="col" { "Since" }
                    th scope="col" { "Next probe" }
                    th scope="col" { "Times opened" }
                    th scope="col" { "Why it last opened" }
                } }
                tbody {
                    @for breaker in &breakers {
                        tr {
                            th scope="row" { (breaker.downstream) }
                            td {
                                @if breaker.open { span.bad { "open" } } @else { span.ok { "closed" } }
                            }
                            td {
                                @match if breaker.open { breaker.opened_at } else { breaker.closed_at } {
                                    Some(at) => { (when(at)) }
                                    None => { span.muted { "—" } }
                                }
                            }
                            td {
                                @match breaker.probe_at.filter(|_| breaker.open) {
                                    Some(at) => { (when(at)) }
                                    None => { span.muted { "—" } }
                                }
                            }
                            td.num { (breaker.times_opened) }
                            td { (breaker.reason.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
        h2 #last-hour { "The last hour" }
        (last_hour_charts(&minutes))
        h2 #orders { "Orders by status" }
        table aria-describedby="orders" {
            thead { tr { @for status in OrderStatus::ALL { th scope="col" { (status.as_str()) } } } }
            tbody { tr {
                @for status in OrderStatus::ALL {
                    td.num {
                        @match orders.iter().find(|c| c.status == status) {
                            Some(count) if count.count > 0 => {
                                a href={ "/ui/orders?status=" (status.as_str()) } { (shown(count.count, count.estimated)) }
                            }
                            _ => { span.muted { "0" } }
                        }
                    }
                }
            } }
        }
        h2 #workers { "Workers" }
        @if workers.is_empty() {
            p.muted { "No worker has registered in the last day." }
        } @else {
            table aria-describedby="workers" {
                thead { tr {
                    th scope="col" { "Worker" } th scope="col" { "State" } th scope="col" { "Host" }
                    th scope="col" { "In flight / slots" } th scope="col" { "Started" } th scope="col" { "Last seen" }
                } }
                tbody {
                    @for worker in &workers {
                        tr {
                            td { (worker.id) }
                            td { (liveness(worker.liveness)) }
                            td { (worker.host) " (pid " (worker.pid) ")" }
                            td.num { (worker.in_flight) " / " (worker.slots) }
                            td { (when(worker.started_at)) }
                            td { (wait(now - worker.last_seen_at)) " ago" }
                        }
                    }
                }
            }
        }
    };
    Ok(live_page(
        "Overview",
        Section::Overview,
        Some(&operator),
        Some("/ui/live/overview"),
        body,
    ))
}

/// Throughput and the wait from enqueue to start, a point per minute. The
/// minute under way is divided by the seconds it has run so far.
fn last_hour_charts(minutes: &[Minute]) -> Markup {
    let now = Utc::now();
    let per_second = |count: i64, minute: &Minute| {
        let seconds = (now - minute.minute).num_seconds().clamp(1, 60);
        Some(count as f64 / seconds as f64)
    };
    let rate = |f: fn(&Minute) -> i64| -> Vec<Option<f64>> {
        minutes.iter().map(|m| per_second(f(m), m)).collect()
    };
    let throughput = [
        Series {
            name: "completed",
            class: "series-ok",
            values: rate(|m| m.succeeded),
        },
        Series {
            name: "retried",
            class: "series-warn",
            values: rate(|m| m.retried),
        },
        Series {
            name: "dead",
            class: "series-bad",
            values: rate(|m| m.dead),
        },
    ];
    let wait = [
        Series {
            name: "mean",
            class: "series-accent",
            values: minutes.iter().map(|m| m.wait_ms_mean).collect(),
        },
        Series {
            name: "longest",
            class: "series-warn",
            values: minutes
                .iter()
                .map(|m| m.wait_ms_max.map(|v| v as f64))
                .collect(),
        },
    ];
    html! {
        div.charts {
            (line_chart("throughput", "Attempts ended", "per second", &throughput))
            (line_chart("wait", "Enqueue to start", "ms, first attempts", &wait))
        }
        p.muted { "Each worker adds its counts every few seconds; a minute without any shows as zero, or as a gap in the waits." }
    }
}

/// A count as shown: an estimate marked ≈ (one of 1 is the planner's
/// floor, so it reads ≈ 0).
fn shown(count: i64, estimated: bool) -> String {
    match (estimated, count) {
        (true, ..=1) => "≈ 0".to_owned(),
        (true, count) => format!("≈ {count}"),
        (false, count) => count.to_string(),
    }
}

fn liveness(liveness: Liveness) -> Markup {
    match liveness {
        Liveness::Alive => html! { span.ok { "alive" } },
        Liveness::Stopped => html! { span.muted { "stopped" } },
        Liveness::Vanished => html! { span.bad { "vanished" } },
    }
}

/// A span of time as people read it: `4 s`, `3 min 20 s`, `2 h 5 min`.
fn wait(span: chrono::Duration) -> String {
    let secs = span.num_seconds().max(0);
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3_599 => format!("{} min {} s", secs / 60, secs % 60),
        _ => format!("{} h {} min", secs / 3_600, (secs % 3_600) / 60),
    }
}

/// Pauses (`action` = `pause`) or resumes (`resume`) a kind of task.
#[handler]
pub async fn pause_or_resume(
    state: Data<&AppState>,
    cookies: &CookieJar,
    Path((kind, action)): Path<(String, String)>,
    form: Form<Action>,
) -> poem::Result<Response> {
    let operator = acting_operator(&state.pool, cookies, &form.csrf).await?;
    let kind = crate::routes::queue_kinds::kind_name(&kind)
        .map_err(|_| session::not_found("there is no such kind"))?;
    let key = &operator.session.key_name;
    let mut conn = Session::acquire(&state.pool).await.map_err(server_error)?;
    match action.as_str() {
        "pause" => {
            queue::pause(&mut conn, kind, key)
                .await
                .map_err(server_error)?;
            tracing::info!(kind, %key, "task kind paused from the console");
        }
        "resume" => {
            queue::resume(&mut conn, kind).await.map_err(server_error)?;
            tracing::info!(kind, %key, "task kind resumed from the console");
        }
        _ => return Err(session::not_found("a kind can be paused or resumed")),
    }
    conn.finish().await.map_err(server_error)?;
    Ok(Redirect::see_other("/ui").into_response())
}
