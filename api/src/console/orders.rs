//! Orders: find one by id, a customer's by e-mail, or the newest by
//! status; and one order's whole story: its history, every task and
//! attempt, its payment and refund ids, its events and their webhook
//! deliveries. Never its payment token.

use maud::html;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Path, Query, Redirect};
use poem::{IntoResponse, Response, handler};
use serde::Deserialize;
use shared::db::Session;
use shared::orders::{self, Order, OrderStatus};
use uuid::Uuid;

use super::layout::{Section, live_page, page, when, when_exactly};
use super::session::{self, server_error};
use super::sign_in::to_sign_in;
use crate::AppState;

/// Orders shown per page.
const PAGE: i64 = 50;

/// Deliveries shown on an order's page.
const DELIVERIES: i64 = 100;

#[derive(Deserialize, Default)]
pub struct Search {
    /// An order id, or a customer's e-mail.
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    before: String,
}

#[handler]
pub async fn search(
    state: Data<&AppState>,
    cookies: &CookieJar,
    search: Query<Search>,
) -> poem::Result<Response> {
    let Some(operator) = session::operator(&state.pool, cookies).await? else {
        return Ok(to_sign_in());
    };
    let q = search.q.trim();
    if let Ok(id) = q.parse::<Uuid>() {
        return Ok(Redirect::see_other(format!("/ui/orders/{id}")).into_response());
    }
    let mut problems = Vec::new();
    let status = match search.status.as_str() {
        "" => None,
        name => OrderStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .or_else(|| {
                problems.push(format!("there is no order status {name:?}"));
                None
            }),
    };
    if !q.is_empty() && !q.contains('@') {
        problems.push(format!(
            "{q:?} is neither an order id nor an e-mail address"
        ));
    }
    let before = search.before.parse::<Uuid>().ok();
    let mut conn = Session::acquire(&state.pool).await.map_err(server_error)?;
    let found = if q.contains('@') {
        orders::by_email(&mut conn, q, before, PAGE).await
    } else {
        orders::list(&mut conn, status, before, PAGE).await
    }
    .map_err(server_error)?;
    drop(conn);
    let next = (found.len() as i64 == PAGE).then(|| found[found.len() - 1].id);
    let body = html! {
        h1 { "Orders" }
        form method="get" action="/ui/orders" {
            label for="q" { "Order id or e-mail" }
            input #q name="q" value=(search.q) size="40";
            " "
            label for="status" { "Status" }
            select #status name="status" {
                option value="" { "any" }
                @for s in OrderStatus::ALL {
                    option value=(s.as_str()) selected[search.status == s.as_str()] { (s.as_str()) }
                }
            }
            " "
            button type="submit" { "Search" }
        }
        @for problem in &problems { p.bad role="alert" { (problem) } }
        @if found.is_empty() {
            p.muted { "No order matches." }
        } @else {
            table {
                thead { tr {
                    th scope="col" { "Order" } th scope="col" { "Status" } th scope="col" { "Customer" }
                    th scope="col" { "Total" } th scope="col" { "Placed" }
                } }
                tbody {
                    @for order in &found {
                        tr {
                            td { a href={ "/ui/orders/" (order.id) } { code { (order.id) } } }
                            td { (order.status.as_str()) }
                            td { (order.customer_email) }
                            td.num { (money(order)) }
                            td { (when(order.created_at)) }
                        }
                    }
                }
            }
            @if let Some(next) = next {
                p { a href={ "/ui/orders?q=" (search.q) "&status=" (search.status) "&before=" (next) } { "Older orders" } }
            }
        }
    };
    Ok(page("Orders", Section::Orders, Some(&operator), body))
}

fn money(order: &Order) -> String {
    format!(
        "{}.{:02} {}",
        order.total_cents / 100,
        order.total_cents % 100,
        order.currency
    )
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
    let Ok(id) = id.parse::<Uuid>() else {
        return Err(session::not_found("there is no such order"));
    };
    let mut conn = Session::acquire(&state.pool).await.map_err(server_error)?;
    let Some(order) = orders::get(&mut conn, id).await.map_err(server_error)? else {
        return Err(session::not_found("there is no such order"));
    };
    let lines = orders::lines(&mut conn, id).await.map_err(server_error)?;
    let history = orders::history(&mut conn, id).await.map_err(server_error)?;
    let tasks = orders::tasks(&mut conn, id).await.map_err(server_error)?;
    let events = shared::events::read::of_order(&mut conn, id, 0, 100)
        .await
        .map_err(server_error)?;
    let deliveries = shared::webhooks::deliveries::of_order(&mut conn, id, DELIVERIES)
        .await
        .map_err(server_error)?;
    drop(conn);
    let body = html! {
        h1 { "Order " code { (order.id) } }
        table {
            tbody {
                tr { th scope="row" { "Status" } td { strong #order-status { (order.status.as_str()) } } }
                tr { th scope="row" { "Customer" } td { (order.customer_email) } }
                tr { th scope="row" { "Total" } td { (money(&order)) } }
                tr { th scope="row" { "Capture method" } td { (order.capture_method) } }
                tr { th scope="row" { "Authorization" } td { @if let Some(hold) = &order.authorization_id { code { (hold) } } @else { span.muted { "none" } } } }
                tr { th scope="row" { "Charge" } td { @if let Some(charge) = &order.charge_id { code { (charge) } } @else { span.muted { "none" } } } }
                tr { th scope="row" { "Refund" } td { @if let Some(refund) = &order.refund_id { code { (refund) } } @else { span.muted { "none" } } } }
                @if let Some(code) = &order.failure_code {
                    tr { th scope="row" { "Failure" } td.bad { (code) ": " (order.failure_message.as_deref().unwrap_or("")) } }
                }
                tr { th scope="row" { "Placed" } td { (when_exactly(order.created_at)) } }
            }
        }
        h2 { "Lines" }
        table {
            thead { tr { th scope="col" { "SKU" } th scope="col" { "Quantity" } th scope="col" { "Unit price (cents)" } } }
            tbody { @for line in &lines { tr { td { (line.sku) } td.num { (line.quantity) } td.num { (line.unit_price_cents) } } } }
        }
        h2 { "History" }
        table {
            thead { tr { th scope="col" { "At" } th scope="col" { "Status" } th scope="col" { "Why" } } }
            tbody {
                @for entry in &history {
                    tr {
                        td { (when_exactly(entry.at)) }
                        td { (entry.status.as_str()) }
                        td { (entry.reason.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
        h2 { "Tasks" }
        table {
            thead { tr {
                th scope="col" { "Task" } th scope="col" { "Kind" } th scope="col" { "State" }
                th scope="col" { "Attempts" } th scope="col" { "Last error" }
            } }
            tbody {
                @for task in &tasks {
                    tr {
                        td { a href={ "/ui/tasks/" (task.id.0) } { (task.id.0) } }
                        td { (task.kind) }
                        td { (task.state.as_str()) }
                        td.num { (task.attempts) " / " (task.max_attempts) }
                        td { (task.last_error.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
        h2 { "Events" }
        @if events.is_empty() {
            p.muted { "None readable yet." }
        } @else {
            table {
                thead { tr { th scope="col" { "Event" } th scope="col" { "Type" } th scope="col" { "Written" } } }
                tbody {
                    @for event in &events {
                        tr {
                            td.num { (event.id) }
                            td { (event.event_type) }
                            td { (when_exactly(event.created_at)) }
                        }
                    }
                }
            }
        }
        h2 { "Webhook deliveries" }
        @if deliveries.is_empty() {
            p.muted { "None: no endpoint subscribed to this order's events." }
        } @else {
            table {
                thead { tr {
                    th scope="col" { "Delivery" } th scope="col" { "Endpoint" } th scope="col" { "Event" }
                    th scope="col" { "State" } th scope="col" { "Requests" }
                } }
                tbody {
                    @for delivery in &deliveries {
                        tr {
                            td.num { (delivery.id) }
                            td { code { (delivery.endpoint_id) } }
                            td { (delivery.event_type) }
                            td { (format!("{:?}", delivery.state).to_lowercase()) }
                            td {
                                @for attempt in &delivery.attempts {
                                    div {
                                        (attempt.at.format("%H:%M:%S%.3f")) " → "
                                        @match attempt.status_code {
                                            Some(code) => { (code) }
                                            None => { "no answer" }
                                        }
                                        " in " (attempt.latency_ms) " ms"
                                        @if let Some(error) = &attempt.error { " (" (error) ")" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let live = format!("/ui/live/orders/{}", order.id);
    Ok(live_page(
        &format!("Order {}", order.id),
        Section::Orders,
        Some(&operator),
        Some(&live),
        body,
    ))
}
