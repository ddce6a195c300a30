//! The live feed of order events in one API process.
//!
//! Every 10 ms while a stream is open in this process, the feed reads the
//! events that became readable since the last it published (one indexed
//! query below the horizon of transactions in flight, see
//! `shared::events::read`), and hands them to the streams that follow them.
//! Every process reads for itself, so nothing is notified or listened for,
//! behind a transaction pooler too. While no stream is open it reads no
//! event, and only keeps its place at the present once a second. Each event
//! is read once and turned into JSON and into its SSE frame once, however
//! many streams get it. The feed has a database connection of its own, so
//! requests waiting for the pool never hold it up.
//!
//! Streams subscribe by order ([`Feed::follow_order`]), so an event costs one
//! map lookup, not one wake-up per open stream, or to every event
//! ([`Feed::follow_all`]). A subscriber that falls behind is dropped from
//! the feed; its stream then catches up from the database, so no event is
//! lost and memory stays bounded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem_openapi::types::ToJSON;
use shared::db::Session;
use shared::events::read;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::routes::events::EventView;

/// While no stream is open, how often the feed moves its place to the
/// present; always, how often it records how long the horizon is held.
const TICK: Duration = Duration::from_secs(1);

/// How often the feed reads new events while this process has a stream
/// open: an event reaches its streams within this of becoming readable.
const LOOK_EVERY: Duration = Duration::from_millis(10);

/// Events read from the database per query.
const PAGE: i64 = 500;

/// Events a per-order subscriber may have waiting before it is dropped.
const ORDER_BUFFER: usize = 16;

/// Events the all-orders channel keeps for its slowest subscriber.
const ALL_BUFFER: usize = 4_096;

/// One event as streams send it: read and serialized once.
#[derive(Debug)]
pub struct Published {
    pub id: i64,
    pub order_id: Uuid,
    pub event_type: String,
    /// The event's JSON, as `GET /v1/events` shows it.
    pub json: String,
    /// The event as a Server-Sent Event, which every stream sends as is.
    pub frame: hyper::body::Bytes,
}

impl Published {
    /// Whether the order can take no further status after this event.
    pub fn is_terminal(&self) -> bool {
        shared::events::status_of(&self.event_type).is_some_and(|s| s.is_terminal())
    }
}

/// A per-order subscriber: its id, and where its events go.
type Subscriber = (u64, mpsc::Sender<Arc<Published>>);

/// The subscribers of this process's streams.
#[derive(Debug)]
pub struct Feed {
    by_order: Mutex<HashMap<Uuid, Vec<Subscriber>>>,
    all: broadcast::Sender<Arc<Published>>,
    next_subscriber: AtomicU64,
    /// Fired when the process shuts down: every stream ends, and its client
    /// reconnects (to another process) with `Last-Event-ID`.
    pub closing: CancellationToken,
}

/// A stream's subscription to one order's events; dropping it unsubscribes.
pub struct OrderSubscription {
    feed: Arc<Feed>,
    order: Uuid,
    id: u64,
    pub events: mpsc::Receiver<Arc<Published>>,
}

impl Drop for OrderSubscription {
    fn drop(&mut self) {
        self.feed.unsubscribe(self.order, self.id);
    }
}

impl Feed {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            by_order: Mutex::new(HashMap::new()),
            all: broadcast::channel(ALL_BUFFER).0,
            next_subscriber: AtomicU64::new(0),
            closing: CancellationToken::new(),
        })
    }

    fn orders(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Vec<Subscriber>>> {
        match self.by_order.lock() {
            Ok(orders) => orders,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Subscribes to the events of `order` published from now on.
    pub fn follow_order(self: &Arc<Self>, order: Uuid) -> OrderSubscription {
        let (sender, events) = mpsc::channel(ORDER_BUFFER);
        let id = self.next_subscriber.fetch_add(1, Ordering::Relaxed);
        self.orders().entry(order).or_default().push((id, sender));
        OrderSubscription {
            feed: Arc::clone(self),
            order,
            id,
            events,
        }
    }

    /// Subscribes to every event published from now on.
    pub fn follow_all(&self) -> broadcast::Receiver<Arc<Published>> {
        self.all.subscribe()
    }

    fn unsubscribe(&self, order: Uuid, id: u64) {
        let mut orders = self.orders();
        if let Some(subscribers) = orders.get_mut(&order) {
            subscribers.retain(|(sub, _)| *sub != id);
            if subscribers.is_empty() {
                orders.remove(&order);
            }
        }
    }

    /// Hands `event` to its order's subscribers and to every all-orders one.
    /// A subscriber whose buffer is full is dropped: its stream catches up
    /// from the database.
    fn publish(&self, event: Arc<Published>) {
        {
            let mut orders = self.orders();
            if let Some(subscribers) = orders.get_mut(&event.order_id) {
                subscribers.retain(|(_, sender)| sender.try_send(Arc::clone(&event)).is_ok());
                if subscribers.is_empty() {
                    orders.remove(&event.order_id);
                }
            }
        }
        // No receiver is no error: nobody follows every event right now.
        let _ = self.all.send(event);
    }

    /// Streams open on this process, for its metrics.
    fn subscribers(&self) -> usize {
        self.orders().values().map(Vec::len).sum::<usize>() + self.all.receiver_count()
    }
}

/// An event read from the database, as streams send it.
pub fn published(event: shared::events::OrderEvent) -> Option<Published> {
    let (id, order_id, event_type) = (event.id, event.order_id, event.event_type.clone());
    match EventView::try_from(event) {
        Ok(view) => {
            let json = view.to_json_string();
            Some(Published {
                id,
                order_id,
                frame: super::sse::frame(id, &event_type, &json),
                event_type,
                json,
            })
        }
        Err(error) => {
            tracing::error!(%error, event = id, "an order event cannot be shown; skipped");
            None
        }
    }
}

/// Publishes events until `stop` fires, then ends every stream.
pub async fn run(pool: PgPool, feed: Arc<Feed>, stop: CancellationToken) {
    let closing = feed.closing.clone();
    // A connection of its own: the feed must not wait behind requests for
    // one of the pool's (under load it did, for hundreds of milliseconds).
    let own = PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(pool.connect_options().as_ref().clone());
    publish_until(own.clone(), feed, stop).await;
    own.close().await;
    closing.cancel();
}

/// Reads and publishes new events while a stream is open here; otherwise
/// only keeps its place at the present, so that a stream opened later is
/// not handed a backlog (it reads its own past from the database).
async fn publish_until(pool: PgPool, feed: Arc<Feed>, stop: CancellationToken) {
    let mut published_up_to = loop {
        match present(&pool).await {
            Ok(present) => break present,
            Err(error) => tracing::warn!(%error, "cannot read where the events stand; retrying"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(TICK) => {}
        }
    };
    let mut look = tokio::time::interval(LOOK_EVERY);
    look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {
                if feed.subscribers() == 0 {
                    match present(&pool).await {
                        // Counted again after the read: a stream that
                        // subscribed since may have read its past before
                        // this present, and must get what follows from here.
                        // A stream that subscribes later reads its past at a
                        // horizon at least this one.
                        Ok(present) if feed.subscribers() == 0 => published_up_to = present,
                        Ok(_) => {}
                        Err(error) => tracing::warn!(%error, "cannot read where the events stand"),
                    }
                }
                record_horizon_held(&pool).await;
                metrics::gauge!("asynccheckout_api_event_streams_open").set(feed.subscribers() as f64);
            }
            _ = look.tick() => {
                if feed.subscribers() > 0 {
                    published_up_to = publish_new(&pool, &feed, published_up_to).await;
                }
            }
        }
    }
}

/// Where the events stand now (`shared::events::read::present`), on a
/// connection of `pool`.
pub async fn present(pool: &PgPool) -> Result<i64, sqlx::Error> {
    read::present(&mut *Session::acquire(pool).await?).await
}

/// How long the oldest transaction still writing has been open: events
/// written after it began wait for it to end before anyone can read them.
/// Milliseconds normally; seconds mean a long transaction (a migration, a
/// session left open) is holding every event back.
async fn record_horizon_held(pool: &PgPool) {
    let held = match Session::acquire(pool).await {
        Ok(mut conn) => read::horizon_held_seconds(&mut conn).await,
        Err(error) => Err(error),
    };
    match held {
        Ok(held) => metrics::gauge!("asynccheckout_event_horizon_held_seconds").set(held),
        Err(error) => tracing::debug!(%error, "cannot read how long the event horizon is held"),
    }
}

/// Hands one event, read, to the streams that follow it.
fn publish_one(feed: &Feed, event: shared::events::OrderEvent) {
    let lag = (chrono::Utc::now() - event.created_at)
        .to_std()
        .unwrap_or_default();
    metrics::histogram!("asynccheckout_api_event_publish_lag_seconds").record(lag.as_secs_f64());
    if let Some(event) = published(event) {
        feed.publish(Arc::new(event));
    }
}

/// Publishes every event readable after `after`; returns the last id published.
async fn publish_new(pool: &PgPool, feed: &Feed, mut after: i64) -> i64 {
    loop {
        let page = match Session::acquire(pool).await {
            Ok(mut conn) => read::page(&mut conn, after, None, PAGE).await,
            Err(error) => Err(error),
        };
        let events = match page {
            Ok(events) => events,
            Err(error) => {
                tracing::warn!(%error, "reading new order events failed; trying again");
                return after;
            }
        };
        let count = events.len();
        for event in events {
            after = event.id;
            publish_one(feed, event);
        }
        if count < PAGE as usize {
            return after;
        }
    }
}
