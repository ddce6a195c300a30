//! The operations console at `/ui`: server-rendered pages for on-call
//! operators, served by the API process itself, with nothing to build or
//! fetch (the style sheet and the one small script are in the binary).
//! The overview and an order's page keep themselves current ([`live`]).
//!
//! Sign in with an API key ([`sign_in`]); the browser then holds a session
//! cookie, never the key ([`session`]). A key with `admin` may act: pause
//! and resume a kind ([`overview`]), retry a dead task or cancel a waiting one
//! ([`tasks`]), and
//! follow an order's whole story ([`orders`]); any
//! other key that may read orders sees the same pages without the buttons,
//! and a forged action is refused with 403. Every action is a POST with the
//! session's CSRF token.

mod charts;
mod layout;
mod live;
mod orders;
mod overview;
mod session;
mod sign_in;
mod tasks;

use poem::middleware::CookieJarManager;
use poem::{EndpointExt, Route, get, post};

/// The console's routes, to be nested at `/ui`.
pub fn routes() -> impl poem::Endpoint {
    Route::new()
        .at("/", get(overview::overview))
        .at("/sign-in", get(sign_in::show).post(sign_in::sign_in))
        .at("/sign-out", post(sign_in::sign_out))
        .at("/queues/:kind/:action", post(overview::pause_or_resume))
        .at("/tasks", get(tasks::list))
        .at("/tasks/retry-dead", post(tasks::retry_dead_matching))
        .at("/tasks/:id", get(tasks::detail))
        .at("/tasks/:id/:action", post(tasks::act))
        .at("/orders", get(orders::search))
        .at("/orders/:id", get(orders::detail))
        .at("/live/overview", get(live::overview))
        .at("/live/orders/:id", get(live::order))
        .at("/assets/console.js", get(live::script))
        .with(CookieJarManager::new())
}
