//! Live pages: what tells a console page that it changed.
//!
//! A live page names a source here in its `<body data-live=…>`; the
//! console's script (`assets/console.js`, embedded) listens to it with
//! `EventSource` and, on each `changed`, fetches the page again and swaps
//! in its `<main>`. A source says `changed` when the order events it follows
//! are published (from this process's feed, as they commit; the data is the
//! event's type, or `missed` when this source fell behind), and every two
//! seconds besides, with `tick`, for what writes no event (a task's
//! attempts, a worker's heartbeat). Every `changed` carries data: a browser
//! drops an SSE event with none. It ends when the session does, checked
//! every half minute.

use std::time::Duration;

use futures_util::StreamExt;
use poem::web::cookie::CookieJar;
use poem::web::sse::{Event, SSE};
use poem::web::{Data, Path};
use poem::{IntoResponse, Response, handler};
use sqlx::PgPool;
use tokio::sync::broadcast;
use uuid::Uuid;

use shared::db::Session;

use super::session;
use crate::AppState;
use crate::events::feed::{self, OrderSubscription, Published};

/// How often a live page is told to look again, changes or not.
const EVERY: Duration = Duration::from_secs(2);

/// How often a live source checks that its session still lives.
const SESSION_CHECK: Duration = Duration::from_secs(30);

/// The console's script.
const SCRIPT: &str = include_str!("assets/console.js");

#[handler]
pub fn script() -> Response {
    Response::builder()
        .content_type("text/javascript; charset=utf-8")
        .header("Cache-Control", "no-cache")
        .header("X-Content-Type-Options", "nosniff")
        .body(SCRIPT)
}

/// What a live source follows.
enum Follows {
    /// Every order's events (the overview).
    All(broadcast::Receiver<std::sync::Arc<Published>>),
    /// One order's.
    Order(OrderSubscription),
}

impl Follows {
    /// The next event; `Err` when several were missed; `None` when the feed
    /// dropped this follower (it fell behind, or the process is closing).
    async fn next(&mut self) -> Option<Result<std::sync::Arc<Published>, ()>> {
        match self {
            Self::All(events) => match events.recv().await {
                Ok(event) => Some(Ok(event)),
                Err(broadcast::error::RecvError::Lagged(_)) => Some(Err(())),
                Err(broadcast::error::RecvError::Closed) => None,
            },
            Self::Order(subscription) => subscription.events.recv().await.map(Ok),
        }
    }
}

/// What a page follows, from the moment it started listening: the feed may
/// still hand it events that were readable before (it keeps its place only
/// once a second while no stream is open), and the page already shows those.
struct Changes {
    follows: Follows,
    /// Events at or below this id were readable when the page listened.
    shown_up_to: i64,
}

impl Changes {
    /// Subscribes first, then reads the present, so no event readable after
    /// that is missed.
    async fn start(pool: &PgPool, follows: Follows) -> Self {
        Self {
            follows,
            // Unknown: every event counts (at worst the page reloads once more).
            shown_up_to: feed::present(pool).await.unwrap_or(0),
        }
    }

    /// The type of the next new event (`missed` when several were); `None`
    /// when the feed dropped this follower: the ticks carry on.
    async fn next(&mut self) -> Option<String> {
        loop {
            match self.follows.next().await? {
                Ok(event) if event.id <= self.shown_up_to => continue,
                Ok(event) => return Some(event.event_type.clone()),
                Err(()) => return Some("missed".to_owned()),
            }
        }
    }
}

#[handler]
pub async fn overview(state: Data<&AppState>, cookies: &CookieJar) -> poem::Result<Response> {
    let Some(operator) = session::operator(&state.pool, cookies).await? else {
        return Err(session::forbidden("sign in to the console first"));
    };
    let follows = Changes::start(&state.pool, Follows::All(state.feed.follow_all())).await;
    Ok(changes(state.pool.clone(), operator.token, follows))
}

#[handler]
pub async fn order(
    state: Data<&AppState>,
    cookies: &CookieJar,
    id: Path<String>,
) -> poem::Result<Response> {
    let Some(operator) = session::operator(&state.pool, cookies).await? else {
        return Err(session::forbidden("sign in to the console first"));
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return Err(session::not_found("there is no such order"));
    };
    let follows = Changes::start(&state.pool, Follows::Order(state.feed.follow_order(id))).await;
    Ok(changes(state.pool.clone(), operator.token, follows))
}

/// The `changed` events for a page, until its session ends.
fn changes(pool: PgPool, token: String, follows: Changes) -> Response {
    struct State {
        pool: PgPool,
        token: String,
        follows: Option<Changes>,
        tick: tokio::time::Interval,
        session_check: tokio::time::Interval,
    }
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut session_check = tokio::time::interval(SESSION_CHECK);
    session_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = State {
        pool,
        token,
        follows: Some(follows),
        tick,
        session_check,
    };
    let stream = futures_util::stream::unfold(state, |mut state| async move {
        loop {
            let change = async {
                match state.follows.as_mut() {
                    Some(follows) => follows.next().await,
                    None => std::future::pending().await,
                }
            };
            // The data says what changed: an event's type, or `tick`.
            let what = tokio::select! {
                changed = change => match changed {
                    Some(event_type) => event_type,
                    None => {
                        state.follows = None;
                        continue;
                    }
                },
                _ = state.tick.tick() => "tick".to_owned(),
                _ = state.session_check.tick() => {
                    if !session_lives(&state.pool, &state.token).await {
                        return None;
                    }
                    continue;
                }
            };
            return Some((Event::message(what).event_type("changed"), state));
        }
    });
    SSE::new(stream.boxed())
        .keep_alive(Duration::from_secs(15))
        .into_response()
}

/// Whether the session of `token` is still live (a failed look counts as
/// live: the next look decides).
async fn session_lives(pool: &PgPool, token: &str) -> bool {
    let Ok(mut conn) = Session::acquire(pool).await else {
        return true;
    };
    shared::keys::console_sessions::find(&mut conn, token)
        .await
        .map_or(true, |session| session.is_some())
}
