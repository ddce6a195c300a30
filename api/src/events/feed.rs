//! The live feed of order events in one API process.
//!
//! Every few milliseconds the feed asks whether committed events wait for
//! their numbers (one index probe) and, when some do, runs a numbering
//! round (see [`super::numbering`]) and reads the new ones, oldest first,
//! handing each to the streams that follow it. A dedicated connection
//! `LISTEN`s for the rounds other processes run, so their events are read
//! at once too, and a tick every second reads whatever slipped through.
//! Nothing is notified per event: PostgreSQL serializes the commits of
//! notifying transactions, and every saga step would have waited its turn.
//! Each event is read once and turned into JSON once, however many streams
//! get it. The feed has a database connection of its own besides the
//! listening one, so requests waiting for the pool never hold it up.
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
use shared::events::{SEQUENCED_CHANNEL, read, sequencer};
use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::numbering;
use crate::routes::events::EventView;

/// The feed reads and numbers at least this often, words or not.
const TICK: Duration = Duration::from_secs(1);

/// How often the feed asks whether events wait for their numbers.
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
        Ok(view) => Some(Published {
            id,
            order_id,
            event_type,
            json: view.to_json_string(),
        }),
        Err(error) => {
            tracing::error!(%error, event = id, "an order event cannot be shown; skipped");
            None
        }
    }
}

/// Numbers and publishes events until `stop` fires, then ends every stream.
pub async fn run(pool: PgPool, feed: Arc<Feed>, stop: CancellationToken) {
    let closing = feed.closing.clone();
    // A connection of its own: the feed must not wait behind requests for
    // one of the pool's (under load it did, for hundreds of milliseconds).
    let own = PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(pool.connect_options().as_ref().clone());
    publish_until(own.clone(), &pool, feed, stop).await;
    own.close().await;
    closing.cancel();
}

/// `pool` does the feed's queries; `listen_with` gives the listener its
/// connection.
async fn publish_until(
    pool: PgPool,
    listen_with: &PgPool,
    feed: Arc<Feed>,
    stop: CancellationToken,
) {
    let mut published_up_to = loop {
        match pool.acquire().await {
            Ok(mut conn) => match read::last_id(&mut conn).await {
                Ok(last) => break last,
                Err(error) => tracing::warn!(%error, "cannot read the last event id; retrying"),
            },
            Err(error) => tracing::warn!(%error, "cannot read the last event id; retrying"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(TICK) => {}
        }
    };
    let mut listener: Option<PgListener> = None;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut look = tokio::time::interval(LOOK_EVERY);
    look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if listener.is_none() {
            listener = match subscribe(listen_with).await {
                Ok(listener) => Some(listener),
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for numbered events; reading them every second meanwhile");
                    None
                }
            };
        }
        let word = async {
            match listener.as_mut() {
                Some(listener) => listener.try_recv().await.map(|_| ()),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => numbering::round(&pool).await,
            _ = look.tick() => {
                // A failed probe is answered by the next tick's round.
                if !sequencer::any_pending(&pool).await.unwrap_or(false) {
                    continue;
                }
                numbering::round(&pool).await;
            }
            heard = word => {
                if let Err(error) = heard {
                    tracing::warn!(%error, "the numbered-events listener failed; reconnecting");
                    listener = None;
                }
            }
        }
        if let Some(listener) = listener.as_mut() {
            // The words already here are all answered by this read.
            while listener.next_buffered().is_some() {}
        }
        published_up_to = publish_new(&pool, &feed, published_up_to).await;
        metrics::gauge!("asynccheckout_api_event_streams_open").set(feed.subscribers() as f64);
    }
}

/// Publishes every event numbered after `after`; returns the last id published.
async fn publish_new(pool: &PgPool, feed: &Feed, mut after: i64) -> i64 {
    loop {
        let page = match pool.acquire().await {
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
            if let Some(event) = published(event) {
                feed.publish(Arc::new(event));
            }
        }
        if count < PAGE as usize {
            return after;
        }
    }
}

async fn subscribe(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(SEQUENCED_CHANNEL).await?;
    Ok(listener)
}
