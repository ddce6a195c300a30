//! Server-Sent Event streams of order events: the past ones from the
//! database, then live ones from the [`Feed`], each sent once, in id order.
//!
//! A stream subscribes to the feed before it reads the past, so nothing
//! published meanwhile slips between the two; what arrives twice is skipped
//! by id. A stream that falls behind the feed is dropped from it and reads
//! from the database again, so it loses nothing and holds little. An order's
//! stream ends after the order's terminal event; the all-orders stream ends
//! only when the process shuts down (its client reconnects elsewhere with
//! `Last-Event-ID`). Each runs as a task that stops when its client goes.

use std::borrow::Cow;
use std::sync::Arc;

use futures_util::Stream;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};
use shared::db::Session;
use shared::events::read;
use sqlx::PgPool;
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

use super::feed::{Feed, Published, published};
use crate::routes::events::EventView;

/// Events read from the database per query.
const PAGE: i64 = 100;

/// Events waiting for a client to take them, per stream.
const OUT_BUFFER: usize = 32;

/// One event of a stream: shown as an [`EventView`] in the OpenAPI document,
/// sent as the JSON the feed made once.
#[derive(Debug, Clone)]
pub struct StreamedEvent(pub Arc<Published>);

impl Type for StreamedEvent {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        EventView::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        EventView::schema_ref()
    }

    fn register(registry: &mut Registry) {
        EventView::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ToJSON for StreamedEvent {
    fn to_json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.0.json).ok()
    }
}

/// The events of `order` after the id `after`, ending with its terminal one.
pub fn of_order(
    pool: PgPool,
    feed: Arc<Feed>,
    order: Uuid,
    after: i64,
) -> impl Stream<Item = StreamedEvent> + Send + 'static {
    let (out, events) = mpsc::channel(OUT_BUFFER);
    tokio::spawn(follow_order(pool, feed, order, after, out));
    receiver_stream(events)
}

/// Every event after the id `after`, of the `types` given (all when `None`).
pub fn of_all(
    pool: PgPool,
    feed: Arc<Feed>,
    types: Option<Vec<String>>,
    after: i64,
) -> impl Stream<Item = StreamedEvent> + Send + 'static {
    let (out, events) = mpsc::channel(OUT_BUFFER);
    tokio::spawn(follow_all(pool, feed, types, after, out));
    receiver_stream(events)
}

fn receiver_stream(
    events: mpsc::Receiver<StreamedEvent>,
) -> impl Stream<Item = StreamedEvent> + Send + 'static {
    futures_util::stream::unfold(events, |mut events| async move {
        events.recv().await.map(|event| (event, events))
    })
}

/// Why a stream's task stopped sending.
enum Stop {
    /// The client went, or the stream is complete.
    Done,
    /// The feed dropped it: read from the database again.
    Behind,
}

/// Sends `event` unless it was sent already; `Err(Stop::Done)` when the
/// client went or `done` says the stream is complete.
async fn send(
    out: &mpsc::Sender<StreamedEvent>,
    last: &mut i64,
    event: Arc<Published>,
    done: impl Fn(&Published) -> bool,
) -> Result<(), Stop> {
    if event.id <= *last {
        return Ok(());
    }
    *last = event.id;
    let complete = done(&event);
    if out.send(StreamedEvent(event)).await.is_err() || complete {
        return Err(Stop::Done);
    }
    Ok(())
}

/// Where a stream's past events are read from.
enum Past<'a> {
    /// One order's.
    Order(Uuid),
    /// Every order's, of these types (all when `None`).
    All(Option<&'a [String]>),
}

/// Sends every event of `past` after `last` from the database, a page at a
/// time; `Err` when the stream ends (the client went, the stream is
/// complete, or the database could not be read).
async fn catch_up(
    pool: &PgPool,
    past: &Past<'_>,
    out: &mpsc::Sender<StreamedEvent>,
    last: &mut i64,
    done: impl Fn(&Published) -> bool,
) -> Result<(), Stop> {
    loop {
        let page = match Session::acquire(pool).await {
            Ok(mut conn) => match past {
                Past::Order(order) => read::of_order(&mut conn, *order, *last, PAGE).await,
                Past::All(types) => read::page(&mut conn, *last, *types, PAGE).await,
            },
            Err(error) => Err(error),
        };
        let page = page.map_err(|error| {
            tracing::warn!(%error, "reading events failed; ending an event stream");
            Stop::Done
        })?;
        let count = page.len();
        for event in page.into_iter().filter_map(published) {
            send(out, last, Arc::new(event), &done).await?;
        }
        if count < PAGE as usize {
            return Ok(());
        }
    }
}

async fn follow_order(
    pool: PgPool,
    feed: Arc<Feed>,
    order: Uuid,
    mut last: i64,
    out: mpsc::Sender<StreamedEvent>,
) {
    loop {
        let mut subscription = feed.follow_order(order);
        // The past, from the database.
        let past = Past::Order(order);
        if catch_up(&pool, &past, &out, &mut last, Published::is_terminal)
            .await
            .is_err()
        {
            return;
        }
        // Then live, until the end, the client's leaving, or falling behind.
        let stopped = loop {
            tokio::select! {
                _ = out.closed() => break Stop::Done,
                _ = feed.closing.cancelled() => break Stop::Done,
                next = subscription.events.recv() => match next {
                    Some(event) => {
                        if let Err(stop) = send(&out, &mut last, event, Published::is_terminal).await {
                            break stop;
                        }
                    }
                    None => break Stop::Behind,
                },
            }
        };
        if matches!(stopped, Stop::Done) {
            return;
        }
    }
}

async fn follow_all(
    pool: PgPool,
    feed: Arc<Feed>,
    types: Option<Vec<String>>,
    mut last: i64,
    out: mpsc::Sender<StreamedEvent>,
) {
    let wanted = |event: &Published| {
        types
            .as_ref()
            .is_none_or(|types| types.contains(&event.event_type))
    };
    loop {
        let mut live = feed.follow_all();
        let past = Past::All(types.as_deref());
        if catch_up(&pool, &past, &out, &mut last, |_| false)
            .await
            .is_err()
        {
            return;
        }
        let stopped = loop {
            tokio::select! {
                _ = out.closed() => break Stop::Done,
                _ = feed.closing.cancelled() => break Stop::Done,
                next = live.recv() => match next {
                    Ok(event) if wanted(&event) => {
                        if let Err(stop) = send(&out, &mut last, event, |_| false).await {
                            break stop;
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => break Stop::Behind,
                    Err(broadcast::error::RecvError::Closed) => break Stop::Done,
                },
            }
        };
        if matches!(stopped, Stop::Done) {
            return;
        }
    }
}
