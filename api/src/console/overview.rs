//! The overview: tasks per kind and state with the oldest wait, which kinds
//! are paused (with the buttons to pause and resume them), and the workers,
//! alive, stopped or vanished.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use maud::{Markup, html};
use poem::web::cookie::CookieJar;
use poem::web::{Data, Form, Path, Redirect};
use poem::{IntoResponse, Response, handler};
use shared::orders::TaskKind;
use shared::queue::workers::{self, Liveness};
use shared::queue::{self, QueueCount, TaskState};

use super::layout::{Section, action_button, live_page, when};
use super::session::{self, Action, acting_operator, server_error};
use super::sign_in::to_sign_in;
use crate::AppState;

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
    let mut conn = state.pool.acquire().await.map_err(server_error)?;
    let counts = queue::counts(&mut conn).await.map_err(server_error)?;
    let paused = queue::paused(&mut conn).await.map_err(server_error)?;
    let workers = workers::list(&mut conn).await.map_err(server_error)?;
    drop(conn);

    // Every kind the queue knows of: the saga's, webhook deliveries, and
    // any with tasks or a pause.
    let mut kinds: BTreeSet<String> = TaskKind::ALL
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    kinds.insert(shared::webhooks::DELIVER_KIND.to_owned());
    kinds.extend(counts.iter().map(|c| c.kind.clone()));
    kinds.extend(paused.iter().map(|p| p.kind.clone()));
    let by_kind: BTreeMap<(&str, &str), &QueueCount> = counts
        .iter()
        .map(|count| ((count.kind.as_str(), count.state.as_str()), count))
        .collect();
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
                    tr {
                        th scope="row" { a href={ "/ui/tasks?kind=" (kind) } { (kind) } }
                        @for state in STATES {
                            @let count = by_kind.get(&(kind.as_str(), state.as_str())).map_or(0, |c| c.count);
                            td.num {
                                @if count > 0 {
                                    a href={ "/ui/tasks?kind=" (kind) "&state=" (state.as_str()) } { (count) }
                                } @else { span.muted { "0" } }
                            }
                        }
                        td {
                            @match by_kind.get(&(kind.as_str(), "available")).and_then(|c| c.oldest_run_at) {
                                Some(oldest) if oldest <= now => { (wait(now - oldest)) }
                                _ => { span.muted { "—" } }
                            }
                        }
                        td {
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
        p.muted { "Counts are exact, as of this page's load. A paused kind's tasks wait; the running ones finish." }
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
    let mut conn = state.pool.acquire().await.map_err(server_error)?;
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
    Ok(Redirect::see_other("/ui").into_response())
}
