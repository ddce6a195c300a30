//! Tasks: a filtered list (state, kind, order), one task with its payload
//! and every attempt, and retrying a dead one.

use maud::html;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Form, Path, Query, Redirect};
use poem::{IntoResponse, Response, handler};
use serde::Deserialize;
use shared::db::Session;
use shared::queue::{self, QueueError, TaskFilter, TaskId, TaskState};
use uuid::Uuid;

use super::layout::{Section, action_button, page, when, when_exactly};
use super::session::{self, Action, acting_operator, server_error};
use super::sign_in::to_sign_in;
use crate::AppState;

/// Tasks shown per page.
const PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    state: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    order_id: String,
    /// Text the last error holds.
    #[serde(default)]
    error: String,
    #[serde(default)]
    before: String,
    /// How many a bulk retry just retried, to say so.
    #[serde(default)]
    retried: String,
}

fn state_named(name: &str) -> Option<TaskState> {
    TaskState::ALL.into_iter().find(|s| s.as_str() == name)
}

#[handler]
pub async fn list(
    state: Data<&AppState>,
    cookies: &CookieJar,
    filters: Query<Filters>,
) -> poem::Result<Response> {
    let Some(operator) = session::operator(&state.pool, cookies).await? else {
        return Ok(to_sign_in());
    };
    // What cannot be read as a filter is shown as a problem, not guessed at.
    let mut problems = Vec::new();
    let task_state = match filters.state.as_str() {
        "" => None,
        name => state_named(name).or_else(|| {
            problems.push(format!("there is no task state {name:?}"));
            None
        }),
    };
    let order_id = match filters.order_id.trim() {
        "" => None,
        id => id.parse::<Uuid>().ok().or_else(|| {
            problems.push(format!("{id:?} is not an order id"));
            None
        }),
    };
    let before = filters.before.parse::<i64>().ok().map(TaskId);
    let kind = Some(filters.kind.trim().to_owned()).filter(|k| !k.is_empty());
    let error = Some(filters.error.trim().to_owned()).filter(|e| !e.is_empty());
    let filter = TaskFilter {
        state: task_state,
        kind: kind.clone(),
        order_id,
        error_contains: error,
        before,
    };
    let mut conn = Session::acquire(&state.pool).await.map_err(server_error)?;
    let tasks = queue::list_tasks(&mut conn, &filter, PAGE)
        .await
        .map_err(server_error)?;
    drop(conn);
    let next = (tasks.len() as i64 == PAGE).then(|| tasks[tasks.len() - 1].id.0);
    let body = html! {
        h1 { "Tasks" }
        form method="get" action="/ui/tasks" {
            label for="state" { "State" }
            select #state name="state" {
                option value="" { "any" }
                @for s in TaskState::ALL.map(TaskState::as_str) {
                    option value=(s) selected[filters.state == s] { (s) }
                }
            }
            " "
            label for="kind" { "Kind" }
            input #kind name="kind" value=(filters.kind) size="18";
            " "
            label for="order_id" { "Order id" }
            input #order_id name="order_id" value=(filters.order_id) size="38";
            " "
            label for="error" { "Error holds" }
            input #error name="error" value=(filters.error) size="20";
            " "
            button type="submit" { "Filter" }
        }
        @for problem in &problems { p.bad role="alert" { (problem) } }
        @if let Ok(retried) = filters.retried.parse::<u64>() {
            p.flash role="status" { (retried) " dead tasks were put back to run now." }
        }
        @if task_state == Some(TaskState::Dead) && !tasks.is_empty() && operator.can_act() {
            form method="post" action="/ui/tasks/retry-dead" {
                input type="hidden" name="csrf" value=(operator.session.csrf_token);
                input type="hidden" name="kind" value=(filters.kind);
                input type="hidden" name="error" value=(filters.error);
                button type="submit" { "Retry every dead task that matches…" }
            }
        }
        @if tasks.is_empty() {
            p.muted { "No task matches." }
        } @else {
            table {
                thead { tr {
                    th scope="col" { "Id" } th scope="col" { "Kind" } th scope="col" { "State" }
                    th scope="col" { "Attempts" } th scope="col" { "Order" } th scope="col" { "Run at" }
                    th scope="col" { "Last error" } th scope="col" { "" }
                } }
                tbody {
                    @for task in &tasks {
                        tr {
                            td { a href={ "/ui/tasks/" (task.id.0) } { (task.id.0) } }
                            td { (task.kind) }
                            td { (task.state.as_str()) }
                            td.num { (task.attempts) " / " (task.max_attempts) }
                            td { @if let Some(order) = task.order_id { code { (order) } } }
                            td { (when(task.run_at)) }
                            td { @if let Some(error) = &task.last_error { (error) } }
                            td {
                                @if task.state == TaskState::Dead && operator.can_act() {
                                    (action_button(&operator, &format!("/ui/tasks/{}/retry", task.id.0), "Retry", false))
                                }
                                @if cancellable(task) && operator.can_act() {
                                    (action_button(&operator, &format!("/ui/tasks/{}/cancel", task.id.0), "Cancel", true))
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = next {
                p { a href={ "/ui/tasks?state=" (filters.state) "&kind=" (filters.kind) "&order_id=" (filters.order_id) "&error=" (filters.error) "&before=" (next) } { "Older tasks" } }
            }
        }
    };
    Ok(page("Tasks", Section::Tasks, Some(&operator), body))
}

#[handler]
pub async fn detail(
    state: Data<&AppState>,
    cookies: &CookieJar,
    id: Path<String>,
) -> poem::Result<Response> {
    let Some(operator) = session::operator(&state.pool, cookies).await? else {
        return Ok(to_sign_in());
    };
    let Ok(id) = id.parse::<i64>().map(TaskId) else {
        return Err(session::not_found("there is no such task"));
    };
    let mut conn = Session::acquire(&state.pool).await.map_err(server_error)?;
    let Some(task) = queue::get_task(&mut conn, id).await.map_err(server_error)? else {
        return Err(session::not_found("there is no such task"));
    };
    let payload = queue::payload_of(&mut conn, id)
        .await
        .map_err(server_error)?;
    let attempts = queue::attempts_of(&mut conn, &[id])
        .await
        .map_err(server_error)?;
    drop(conn);
    let payload = payload
        .map(|p| serde_json::to_string_pretty(&p).unwrap_or_default())
        .unwrap_or_default();
    let body = html! {
        h1 { "Task " (task.id.0) ": " (task.kind) }
        p {
            "State " strong { (task.state.as_str()) } ", attempt " (task.attempts) " of " (task.max_attempts) ". "
            @if task.state == TaskState::Dead && operator.can_act() {
                (action_button(&operator, &format!("/ui/tasks/{}/retry", task.id.0), "Retry now", false))
            }
            @if cancellable(&task) && operator.can_act() {
                (action_button(&operator, &format!("/ui/tasks/{}/cancel", task.id.0), "Cancel: never run it", true))
            }
        }
        @if task.state == TaskState::Available && !cancellable(&task) {
            p.muted {
                @if let Some(order) = task.order_id {
                    "A step of an order's saga is not cancelled on its own: it would leave "
                    a href={ "/ui/orders/" (order) } { "its order" }
                    " half-way. Cancel the order over the API instead: until its confirmation is sent, a cancel gives its money back and puts its stock back (pause a kind to hold its steps)."
                } @else {
                    "A webhook delivery is not cancelled on its own: disable its endpoint, and its waiting deliveries end failed, unsent."
                }
            }
        }
        table {
            tbody {
                tr { th scope="row" { "Order" } td { @if let Some(order) = task.order_id { a href={ "/ui/tasks?order_id=" (order) } { code { (order) } } } } }
                tr { th scope="row" { "Created" } td { (when_exactly(task.created_at)) } }
                tr { th scope="row" { "Runs at" } td { (when_exactly(task.run_at)) } }
                tr { th scope="row" { "Held by" } td { @if let Some(worker) = &task.locked_by { (worker) } } }
                tr { th scope="row" { "Finished" } td { @if let Some(at) = task.finished_at { (when_exactly(at)) } } }
                tr { th scope="row" { "Last error" } td { @if let Some(error) = &task.last_error { (error) } } }
            }
        }
        h2 { "Payload" }
        pre { (payload) }
        h2 { "Attempts" }
        @if attempts.is_empty() {
            p.muted { "None finished yet." }
        } @else {
            table {
                thead { tr {
                    th scope="col" { "#" } th scope="col" { "Worker" } th scope="col" { "Started" }
                    th scope="col" { "Took" } th scope="col" { "Outcome" } th scope="col" { "Error" }
                } }
                tbody {
                    @for attempt in &attempts {
                        tr {
                            td.num { (attempt.attempt) }
                            td { (attempt.worker_id) }
                            td { (when_exactly(attempt.started_at)) }
                            td.num { ((attempt.finished_at - attempt.started_at).num_milliseconds()) " ms" }
                            td { (format!("{:?}", attempt.outcome).to_lowercase()) }
                            td { @if let Some(error) = &attempt.error { (error) } }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        &format!("Task {}", task.id.0),
        Section::Tasks,
        Some(&operator),
        body,
    ))
}

/// Retries a dead task (`action` = `retry`) or cancels a waiting one
/// (`cancel`), then shows the task.
#[handler]
pub async fn act(
    state: Data<&AppState>,
    cookies: &CookieJar,
    Path((id, action)): Path<(String, String)>,
    form: Form<Action>,
) -> poem::Result<Response> {
    let operator = acting_operator(&state.pool, cookies, &form.csrf).await?;
    let Ok(id) = id.parse::<i64>().map(TaskId) else {
        return Err(session::not_found("there is no such task"));
    };
    let mut conn = Session::acquire(&state.pool).await.map_err(server_error)?;
    let done = match action.as_str() {
        "retry" => queue::retry_dead(&mut conn, id).await,
        "cancel" => queue::cancel_waiting(&mut conn, id).await,
        _ => return Err(session::not_found("a task can be retried or cancelled")),
    };
    match done {
        Ok(()) => {
            conn.finish().await.map_err(server_error)?;
            tracing::info!(task_id = %id, key = %operator.session.key_name, action, "task acted on from the console");
        }
        // Moved on meanwhile (retried, claimed, finished): the task's page
        // says where it is.
        Err(QueueError::NotDead(_) | QueueError::NotWaiting(_)) => {}
        Err(QueueError::NotFound(_)) => {
            return Err(session::not_found("there is no such task"));
        }
        Err(refused @ (QueueError::OrderStep { .. } | QueueError::WebhookDelivery(_))) => {
            return Err(session::conflict(&refused.to_string()));
        }
        Err(error) => return Err(server_error(error)),
    }
    Ok(Redirect::see_other(format!("/ui/tasks/{}", id.0)).into_response())
}

/// Whether the console offers to cancel `task`: waiting, and with no record
/// of its own that a bare cancel would strand (see [`queue::cancel_waiting`]).
fn cancellable(task: &queue::TaskRecord) -> bool {
    task.state == TaskState::Available
        && task.order_id.is_none()
        && task.kind != shared::webhooks::DELIVER_KIND
}

/// Dead tasks retried by one bulk retry at most.
const BULK_RETRY_MAX: i64 = 10_000;

#[derive(Deserialize)]
pub struct BulkRetry {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    error: String,
    /// The count the operator confirmed; absent, the count is shown first.
    confirm: Option<i64>,
}

/// Retries every dead task that matches a filter: first a page with how
/// many and a confirmation, then the retry itself.
#[handler]
pub async fn retry_dead_matching(
    state: Data<&AppState>,
    cookies: &CookieJar,
    form: Form<BulkRetry>,
) -> poem::Result<Response> {
    let operator = acting_operator(&state.pool, cookies, &form.csrf).await?;
    let filter = queue::DeadFilter {
        kind: Some(form.kind.trim().to_owned()).filter(|k| !k.is_empty()),
        error_contains: Some(form.error.trim().to_owned()).filter(|e| !e.is_empty()),
    };
    let mut conn = Session::acquire(&state.pool).await.map_err(server_error)?;
    let Some(_confirmed) = form.confirm else {
        let count = queue::count_dead(&mut conn, &filter, BULK_RETRY_MAX + 1)
            .await
            .map_err(server_error)?;
        drop(conn);
        let body = html! {
            h1 { "Retry dead tasks" }
            p {
                @if count > BULK_RETRY_MAX {
                    "More than " (BULK_RETRY_MAX) " dead tasks match; the oldest " (BULK_RETRY_MAX) " will be retried (do it again for the rest)."
                } @else {
                    strong { (count) } " dead tasks match"
                }
                @if let Some(kind) = &filter.kind { " of kind " code { (kind) } }
                @if let Some(error) = &filter.error_contains { ", their last error holding " q { (error) } }
                ". Each will run again now, keeping its attempts and their history."
            }
            @if count > 0 {
                form method="post" action="/ui/tasks/retry-dead" {
                    input type="hidden" name="csrf" value=(operator.session.csrf_token);
                    input type="hidden" name="kind" value=(form.kind);
                    input type="hidden" name="error" value=(form.error);
                    input type="hidden" name="confirm" value=(count.min(BULK_RETRY_MAX));
                    button.danger type="submit" { "Retry " (count.min(BULK_RETRY_MAX)) " tasks" }
                }
                " "
            }
            a href={ "/ui/tasks?state=dead&kind=" (form.kind) "&error=" (form.error) } { "Back, retrying nothing" }
        };
        return Ok(page(
            "Retry dead tasks",
            Section::Tasks,
            Some(&operator),
            body,
        ));
    };
    let retried = queue::retry_dead_matching(&mut conn, &filter, BULK_RETRY_MAX)
        .await
        .map_err(server_error)?;
    conn.finish().await.map_err(server_error)?;
    tracing::info!(
        retried,
        kind = ?filter.kind,
        error = ?filter.error_contains,
        key = %operator.session.key_name,
        "dead tasks retried in bulk from the console"
    );
    let query = serde_urlencoded::to_string([
        ("state", "available"),
        ("kind", form.kind.trim()),
        ("retried", &retried.to_string()),
    ])
    .map_err(server_error)?;
    Ok(Redirect::see_other(format!("/ui/tasks?{query}")).into_response())
}
