//! Signing in with an API key, and out.
//!
//! Any live key with `admin` or `orders:read` may sign in; only `admin`
//! may act. The key is checked once, here, and never stored in the browser:
//! the cookie holds a session token instead. Sign-out deletes the session
//! on the server, so a copied cookie dies with it.

use maud::html;
use poem::http::StatusCode;
use poem::web::cookie::{Cookie, CookieJar};
use poem::web::{Data, Form, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;
use shared::db::Session;
use shared::keys::{self, Scope, console_sessions};

use super::layout::{Section, page};
use super::session::{self, COOKIE, SESSION_LIFETIME, check_csrf, server_error};
use crate::AppState;

/// The sign-in page; a signed-in operator goes to the overview.
#[handler]
pub async fn show(state: Data<&AppState>, cookies: &CookieJar) -> poem::Result<Response> {
    if session::operator(&state.pool, cookies).await?.is_some() {
        return Ok(Redirect::see_other("/ui").into_response());
    }
    Ok(sign_in_page(StatusCode::OK, None))
}

fn sign_in_page(status: StatusCode, problem: Option<&str>) -> Response {
    let body = html! {
        h1 { "Sign in to the console" }
        @if let Some(problem) = problem {
            p.bad role="alert" { (problem) }
        }
        form method="post" action="/ui/sign-in" {
            p {
                label for="api_key" { "API key" }
                input #api_key type="password" name="api_key" autocomplete="off" required autofocus size="40";
            }
            p.muted {
                "A key with the " code { "admin" } " scope may act (retry, pause, resume); "
                "one with " code { "orders:read" } " may look. The key is not kept in your browser: "
                "it gets a session cookie instead, for 12 hours or until you sign out."
            }
            button type="submit" { "Sign in" }
        }
    };
    let mut response = page("Sign in", Section::None, None, body);
    response.set_status(status);
    response
}

#[derive(Deserialize)]
pub struct SignIn {
    api_key: String,
}

/// Checks the key and starts a session.
#[handler]
pub async fn sign_in(
    req: &Request,
    state: Data<&AppState>,
    cookies: &CookieJar,
    form: Form<SignIn>,
) -> poem::Result<Response> {
    if !same_origin(req) {
        return Err(session::forbidden(
            "sign-in comes from the console's own page only",
        ));
    }
    let mut conn = Session::acquire(&state.pool).await.map_err(server_error)?;
    let key = keys::authenticate(&mut conn, form.api_key.trim())
        .await
        .map_err(server_error)?;
    let Some(key) = key else {
        return Ok(sign_in_page(
            StatusCode::UNAUTHORIZED,
            Some("That key is unknown or revoked. Paste the whole key, ak_ and all."),
        ));
    };
    if !Scope::Admin.granted_by(&key.scopes) && !Scope::OrdersRead.granted_by(&key.scopes) {
        return Ok(sign_in_page(
            StatusCode::FORBIDDEN,
            Some("That key may not read the console: it needs the admin or orders:read scope."),
        ));
    }
    let started = console_sessions::start(&mut conn, key.id, SESSION_LIFETIME)
        .await
        .map_err(server_error)?;
    conn.finish().await.map_err(server_error)?;
    tracing::info!(key = %key.name, "signed in to the console");
    cookies.add(session::session_cookie(
        req,
        &started.token,
        SESSION_LIFETIME,
    ));
    Ok(Redirect::see_other("/ui").into_response())
}

#[derive(Deserialize)]
pub struct SignOut {
    #[serde(default)]
    csrf: String,
}

/// Ends the session, on the server too.
#[handler]
pub async fn sign_out(
    state: Data<&AppState>,
    cookies: &CookieJar,
    form: Form<SignOut>,
) -> poem::Result<Response> {
    if let Some(operator) = session::operator(&state.pool, cookies).await? {
        check_csrf(&operator, &form.csrf)?;
        let mut conn = Session::acquire(&state.pool).await.map_err(server_error)?;
        console_sessions::end(&mut conn, &operator.token)
            .await
            .map_err(server_error)?;
        conn.finish().await.map_err(server_error)?;
        tracing::info!(key = %operator.session.key_name, "signed out of the console");
    }
    // The browser drops it too (a removal must name the cookie's path).
    let mut gone = Cookie::new_with_str(COOKIE, "");
    gone.set_path("/ui");
    gone.make_removal();
    cookies.add(gone);
    Ok(Redirect::see_other("/ui/sign-in").into_response())
}

/// Whether a form was posted from a page of this very host: a browser
/// sends `Origin` with every POST, and another site's page cannot forge it.
fn same_origin(req: &Request) -> bool {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    // Behind a proxy, the host the browser saw is the forwarded one.
    let host = header("x-forwarded-host")
        .and_then(|h| h.split(',').next())
        .map(str::trim)
        .or_else(|| header("host"));
    match (header("origin"), host) {
        // Not a browser (or a very old one): SameSite and CSRF tokens guard
        // the rest.
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, origin_host)| origin_host == host),
        (Some(_), None) => false,
    }
}

/// What an unauthenticated request to a page gets: the way to sign in.
pub fn to_sign_in() -> Response {
    Redirect::see_other("/ui/sign-in").into_response()
}
