//! The frame of every console page: head, navigation, who is signed in
//! (and the sign-out button), the style sheet, embedded in the binary, and,
//! on live pages, the console's one script.

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use poem::Response;
use poem::http::StatusCode;

use super::session::Operator;

/// The style sheet: system fonts, high contrast, visible focus.
const STYLE: &str = r#"
:root { color-scheme: light; --ink: #1a1a1a; --muted: #555; --line: #ccc; --accent: #0b57d0; --bad: #a50e0e; --ok: #146c2e; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--ink); background: #fafafa; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #fff; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; }
nav a { margin-right: 1rem; color: var(--accent); }
nav a[aria-current="page"] { color: var(--ink); font-weight: 600; text-decoration: none; }
header .who { margin-left: auto; color: var(--muted); }
main { padding: 1rem 1.2rem; max-width: 80rem; }
h1 { font-size: 1.4rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.4rem 0 .5rem; }
table { border-collapse: collapse; background: #fff; }
th, td { text-align: left; padding: .3rem .7rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.bad { color: var(--bad); font-weight: 600; }
.ok { color: var(--ok); font-weight: 600; }
pre { background: #fff; border: 1px solid var(--line); padding: .6rem; overflow: auto; max-width: 70rem; }
form.inline { display: inline; }
button { font: inherit; padding: .2rem .7rem; border: 1px solid var(--accent); background: #fff; color: var(--accent); border-radius: 3px; cursor: pointer; }
button.danger { border-color: var(--bad); color: var(--bad); }
input, select { font: inherit; padding: .2rem .4rem; }
label { margin-right: .4rem; }
a:focus, button:focus, input:focus, select:focus { outline: 3px solid #f9ab00; outline-offset: 1px; }
.flash { padding: .5rem .8rem; background: #e8f0fe; border: 1px solid var(--accent); margin-bottom: 1rem; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
figure.chart { margin: 0; padding: .5rem .7rem; background: #fff; border: 1px solid var(--line); max-width: 600px; }
figure.chart svg { display: block; }
figure.chart text { font: 11px system-ui, sans-serif; fill: var(--muted); }
figure.chart .axis { stroke: var(--line); }
figure.chart path { fill: none; stroke-width: 2; }
.series-ok { stroke: var(--ok); color: var(--ok); }
.series-warn { stroke: #b06000; color: #b06000; }
.series-bad { stroke: var(--bad); color: var(--bad); }
.series-accent { stroke: var(--accent); color: var(--accent); }
.key { display: inline-block; width: .9rem; height: .25rem; background: currentColor; vertical-align: middle; margin: 0 .3rem 0 .6rem; }
"#;

/// The sections of the console, as the navigation names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Tasks,
    Orders,
    None,
}

/// A whole page: `title`, then `body`, framed for `operator` (signed out
/// when `None`).
pub fn page(title: &str, section: Section, operator: Option<&Operator>, body: Markup) -> Response {
    live_page(title, section, operator, None, body)
}

/// [`page`], kept current from the live source `live` (see `super::live`).
pub fn live_page(
    title: &str,
    section: Section,
    operator: Option<&Operator>,
    live: Option<&str>,
    body: Markup,
) -> Response {
    let current = |s: Section| if s == section { Some("page") } else { None };
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · AsyncCheckout console" }
                style { (PreEscaped(STYLE)) }
                @if live.is_some() {
                    script src="/ui/assets/console.js" defer {}
                }
            }
            body data-live=[live] {
                header {
                    span.brand { "AsyncCheckout" }
                    @if let Some(operator) = operator {
                        nav aria-label="Console" {
                            a href="/ui" aria-current=[current(Section::Overview)] { "Overview" }
                            a href="/ui/tasks" aria-current=[current(Section::Tasks)] { "Tasks" }
                            a href="/ui/orders" aria-current=[current(Section::Orders)] { "Orders" }
                        }
                        span.who {
                            "Signed in with key " strong { (operator.session.key_name) }
                            @if !operator.can_act() { " (read-only)" }
                            " "
                            form.inline method="post" action="/ui/sign-out" {
                                input type="hidden" name="csrf" value=(operator.session.csrf_token);
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    };
    html_response(StatusCode::OK, markup)
}

/// `markup` as an HTML answer, never cached, never framed. Its address (an
/// order's id, a search) goes to no other site; `same-origin`, not
/// `no-referrer`, because under `no-referrer` a browser sends `Origin: null`
/// with the page's own form posts, and sign-in checks `Origin`.
pub fn html_response(status: StatusCode, markup: Markup) -> Response {
    Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .header("Cache-Control", "no-store")
        .header("X-Frame-Options", "DENY")
        .header("X-Content-Type-Options", "nosniff")
        .header("Referrer-Policy", "same-origin")
        .header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        .body(markup.into_string())
}

/// A form that POSTs to `action` with the session's CSRF token, as one
/// button labelled `label`.
pub fn action_button(operator: &Operator, action: &str, label: &str, danger: bool) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name="csrf" value=(operator.session.csrf_token);
            @if danger {
                button.danger type="submit" { (label) }
            } @else {
                button type="submit" { (label) }
            }
        }
    }
}

/// A time as the console shows it in lists: to the second, in UTC.
pub fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A time as the console shows it in timelines: to the millisecond, in UTC.
pub fn when_exactly(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()
}
