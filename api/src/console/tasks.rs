//! Tasks: a filtered list (state, kind, order), one task with its payload
//! and every attempt, and retrying a dead one.

use maud::html;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Form, Path, Query, Redirect};
use poem::{IntoResponse, Response, handler};
use serde::Deserialize;
use shared::queue::{self, QueueError, TaskFilter, TaskId, TaskState};
use uuid::Uuid;

use super::layout::{Section, action_button, page};
use super::overview::{Action, acting_operator};
use super::session::{self, server_error};
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
    #[serde(default)]
    before: String,
}

fn state_named(name: &str) -> Option<TaskState> {
    [
        TaskState::Available,
        TaskState::Running,
        TaskState::Completed,
        TaskState::Dead,
        TaskState::Cancelled,
    ]
    .into_iter()
    .find(|s| s.as_str() == name)
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
    let filter = TaskFilter {
        state: task_state,
        kind: kind.clone(),
        order_id,
        before,
    };
    let mut conn = state.pool.acquire().await.map_err(server_error)?;
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
                @for s in ["available", "running", "dead", "completed", "cancelled"] {
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
            button type="submit" { "Filter" }
        }
        @for problem in &problems { p.bad role="alert" { (problem) } }
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
                            td { (task.run_at.format("%Y-%m-%d %H:%M:%S UTC")) }
                            td { @if let Some(error) = &task.last_error { (error) } }
                            td {
                                @if task.state == TaskState::Dead && operator.can_act() {
                                    (action_button(&operator, &format!("/ui/tasks/{}/retry", task.id.0), "Retry", false))
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = next {
                p { a href={ "/ui/tasks?state=" (filters.state) "&kind=" (filters.kind) "&order_id=" (filters.order_id) "&before=" (next) } { "Older tasks" } }
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
    let mut conn = state.pool.acquire().await.map_err(server_error)?;
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
        }
        table {
            tbody {
                tr { th scope="row" { "Order" } td { @if let Some(order) = task.order_id { a href={ "/ui/tasks?order_id=" (order) } { code { (order) } } } } }
                tr { th scope="row" { "Created" } td { (task.created_at.format("%Y-%m-%d %H:%M:%S%.3f UTC")) } }
                tr { th scope="row" { "Runs at" } td { (task.run_at.format("%Y-%m-%d %H:%M:%S%.3f UTC")) } }
                tr { th scope="row" { "Held by" } td { @if let Some(worker) = &task.locked_by { (worker) } } }
                tr { th scope="row" { "Finished" } td { @if let Some(at) = task.finished_at { (at.format("%Y-%m-%d %H:%M:%S%.3f UTC")) } } }
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
                            td { (attempt.started_at.format("%Y-%m-%d %H:%M:%S%.3f UTC")) }
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

#[handler]
pub async fn retry(
    state: Data<&AppState>,
    cookies: &CookieJar,
    id: Path<String>,
    form: Form<Action>,
) -> poem::Result<Response> {
    let operator = acting_operator(&state, cookies, &form.csrf).await?;
    let Ok(id) = id.parse::<i64>().map(TaskId) else {
        return Err(session::not_found("there is no such task"));
    };
    let mut conn = state.pool.acquire().await.map_err(server_error)?;
    match queue::retry_dead(&mut conn, id).await {
        Ok(()) => {
            tracing::info!(task_id = %id, key = %operator.session.key_name, "dead task retried from the console");
        }
        // Retried meanwhile, or never dead: the task's page says where it is.
        Err(QueueError::NotDead(_)) => {}
        Err(QueueError::NotFound(_)) => {
            return Err(session::not_found("there is no such task"));
        }
        Err(error) => return Err(server_error(error)),
    }
    Ok(Redirect::see_other(format!("/ui/tasks/{}", id.0)).into_response())
}
