//! Who is signed in to the console: the session cookie, read on every
//! request, and the CSRF check of every form.
//!
//! The cookie (`asynccheckout_console`) holds a random session token, never
//! the API key; it is `HttpOnly` (no script reads it), `SameSite=Strict` (no
//! other site's page sends it), scoped to `/ui`, and `Secure` when the
//! request came over https (as a TLS-terminating proxy says with
//! `X-Forwarded-Proto` or `Forwarded`). Every form carries the session's
//! CSRF token, and a POST whose token does not match is refused with 403.

use std::time::Duration;

use poem::http::StatusCode;
use poem::web::cookie::{Cookie, CookieJar, SameSite};
use poem::{Request, Response};
use shared::db::Session;
use shared::keys::console_sessions::{self, ConsoleSession};
use sqlx::PgPool;

/// The session cookie's name.
pub const COOKIE: &str = "asynccheckout_console";

/// How long a session lasts from sign-in.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The signed-in operator of a request, and the token of their session.
pub struct Operator {
    pub session: ConsoleSession,
    pub token: String,
}

impl Operator {
    /// Whether they may act (retry, pause, resume), not only look.
    pub fn can_act(&self) -> bool {
        self.session.can_act()
    }
}

/// The request's live session; `None` without a cookie or with one whose
/// session is unknown, expired, signed out or of a revoked key.
pub async fn operator(pool: &PgPool, cookies: &CookieJar) -> poem::Result<Option<Operator>> {
    let Some(cookie) = cookies.get(COOKIE) else {
        return Ok(None);
    };
    let token = cookie.value_str().to_owned();
    // A token is 32 hex digits: anything else is not worth a query.
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let mut conn = Session::acquire(pool).await.map_err(server_error)?;
    let session = console_sessions::find(&mut conn, &token)
        .await
        .map_err(server_error)?;
    Ok(session.map(|session| Operator { session, token }))
}

/// The cookie that holds `token` for `lifetime`.
pub fn session_cookie(req: &Request, token: &str, lifetime: Duration) -> Cookie {
    let mut cookie = Cookie::new_with_str(COOKIE, token);
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Strict);
    cookie.set_path("/ui");
    cookie.set_secure(over_https(req));
    cookie.set_max_age(lifetime);
    cookie
}

/// Whether the browser reached us over https (through a proxy that says so).
fn over_https(req: &Request) -> bool {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase)
    };
    header("x-forwarded-proto").is_some_and(|p| p.split(',').next().map(str::trim) == Some("https"))
        || header("forwarded").is_some_and(|f| f.contains("proto=https"))
}

/// Refuses (403) a form whose CSRF token is not the session's.
pub fn check_csrf(operator: &Operator, sent: &str) -> poem::Result<()> {
    let expected = operator.session.csrf_token.as_bytes();
    let sent = sent.as_bytes();
    // Constant time: the comparison's duration says nothing of the token.
    let same = expected.len() == sent.len()
        && expected
            .iter()
            .zip(sent)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(forbidden(
            "this form's CSRF token is missing or not this session's: reload the page and try again",
        ))
    }
}

/// A session that may act, for a form whose CSRF token was checked.
pub async fn acting_operator(
    pool: &PgPool,
    cookies: &CookieJar,
    csrf: &str,
) -> poem::Result<Operator> {
    let Some(operator) = operator(pool, cookies).await? else {
        return Err(forbidden("sign in to the console first"));
    };
    check_csrf(&operator, csrf)?;
    if !operator.can_act() {
        return Err(forbidden(
            "this session is read-only: sign in with a key that has the admin scope to act",
        ));
    }
    Ok(operator)
}

/// A form that acts and sends nothing but the session's CSRF token.
#[derive(serde::Deserialize)]
pub struct Action {
    #[serde(default)]
    pub csrf: String,
}

/// A 403 with a message for people.
pub fn forbidden(message: &str) -> poem::Error {
    plain(StatusCode::FORBIDDEN, message)
}

/// A 404 with a message for people.
pub fn not_found(message: &str) -> poem::Error {
    plain(StatusCode::NOT_FOUND, message)
}

/// A 409 with a message for people: the action does not fit the thing's state.
pub fn conflict(message: &str) -> poem::Error {
    plain(StatusCode::CONFLICT, message)
}

/// A failure of ours, logged, with no detail for the page.
pub fn server_error(error: impl std::fmt::Display) -> poem::Error {
    tracing::error!(%error, "the console could not answer");
    plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "the console could not reach its database; try again",
    )
}

/// An error answered as `status` with `message` as plain text (passed on
/// as it is, not turned into problem+json).
fn plain(status: StatusCode, message: &str) -> poem::Error {
    poem::Error::from_response(
        Response::builder()
            .status(status)
            .content_type("text/plain; charset=utf-8")
            .body(message.to_owned()),
    )
}
