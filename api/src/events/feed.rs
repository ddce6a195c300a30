//! The live feed of order events in one API process.
//!
//! Every 10 ms while a stream is open in this process, and every 250 ms
//! otherwise, the feed runs a numbering round
//! (`shared::events::sequencer`): one call that returns at once when no
//! committed event waits for its number, and otherwise numbers them and
//! returns them, oldest first, for the feed to hand to the streams that
//! follow them. A dedicated connection `LISTEN`s for the rounds other
//! processes run, so their events are read at once too, and a tick every
//! second reads whatever slipped through. Nothing is notified per event:
//! PostgreSQL serializes the commits of notifying transactions, and every
//! saga step would have waited its turn. Each event is read once and turned
//! into JSON and into its SSE frame once, however many streams get it. The
//! feed has a database connection of its own besides the listening one, so
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
use shared::events::{SEQUENCED_CHANNEL, read, sequencer};
use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::routes::events::EventView;

/// The feed reads what other processes numbered at least this often, words
/// or not.
const TICK: Duration = Duration::from_secs(1);

/// How often the feed runs a numbering round (one round trip, answered at
/// once when nothing waits) while this process has a stream open.
const LOOK_EVERY: Duration = Duration::from_millis(10);

/// How often it runs one while no stream is open here. Nobody here waits for
/// the events then, and a round costs the database more than its one round
/// trip: each numbered event leaves a dead entry in the index the round
/// probes, until a vacuum. At 125 orders/s the rounds every 10 ms took about
/// 2.7 ms of the server's time per order (BENCHMARKS.md). Readers of
/// `GET /v1/events` see a new event within this, and webhooks do not wait
/// for it (a worker numbers its delivery's event itself).
const IDLE_LOOK_EVERY: Duration = Duration::from_millis(250);

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

/// Numbers and publishes events until `stop` fires, then ends every stream.
pub async fn run(pool: PgPool, feed: Arc<Feed>, stop: CancellationToken) {
    let closing = feed.closing.clone();
    // A connection of its own: the feed must not wait behind requests for
    // one of the pool's (under load it did, for hundreds of milliseconds).
    let own = PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(pool.connect_options().as_ref().clone());
    let listening = match shared::db::listener_pool(&pool) {
        Ok(Some(listening)) => Some(listening),
        Ok(None) => {
            tracing::warn!(
                "DATABASE_URL goes through a transaction pooler, which cannot LISTEN, and \
                 LISTEN_DATABASE_URL is unset: events numbered by other API processes reach \
                 this one's streams within {} s instead of at once",
                TICK.as_secs()
            );
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "LISTEN_DATABASE_URL is not a valid PostgreSQL URL; not listening");
            None
        }
    };
    publish_until(own.clone(), listening.as_ref(), feed, stop).await;
    own.close().await;
    if let Some(listening) = listening {
        listening.close().await;
    }
    closing.cancel();
}

/// `pool` does the feed's queries; `listen_with` gives the listener its
/// connection, when this process can LISTEN.
async fn publish_until(
    pool: PgPool,
    listen_with: Option<&PgPool>,
    feed: Arc<Feed>,
    stop: CancellationToken,
) {
    let mut published_up_to = loop {
        match Session::acquire(&pool).await {
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
    let mut last_round = tokio::time::Instant::now();
    loop {
        if let (None, Some(listen_with)) = (&listener, listen_with) {
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
                Some(listener) => listener.try_recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            // Whatever other processes numbered and no word announced.
            _ = tick.tick() => {
                published_up_to = publish_new(&pool, &feed, published_up_to).await;
            }
            _ = look.tick() => {
                if feed.subscribers() == 0 && last_round.elapsed() < IDLE_LOOK_EVERY {
                    continue;
                }
                last_round = tokio::time::Instant::now();
                match sequencer::sequence(&pool).await {
                    Ok(numbered) if numbered.is_empty() => continue,
                    Ok(numbered) => {
                        published_up_to =
                            publish_numbered(&pool, &feed, published_up_to, numbered).await;
                    }
                    // The next look tries again.
                    Err(error) => {
                        tracing::warn!(%error, "numbering order events failed; trying again")
                    }
                }
            }
            heard = word => match heard {
                // Another process numbered events: read them, unless they
                // are ours (the word of our own round) or already read.
                Ok(Some(word)) => {
                    let last = word.payload().parse::<i64>().unwrap_or(i64::MAX);
                    if last > published_up_to {
                        published_up_to = publish_new(&pool, &feed, published_up_to).await;
                    }
                }
                // Words may have been lost while it was away: read.
                Ok(None) => {
                    published_up_to = publish_new(&pool, &feed, published_up_to).await;
                }
                Err(error) => {
                    tracing::warn!(%error, "the numbered-events listener failed; reconnecting");
                    listener = None;
                }
            },
        }
        metrics::gauge!("asynccheckout_api_event_streams_open").set(feed.subscribers() as f64);
    }
}

/// Publishes `numbered`, the events this process just numbered, when they
/// follow `after` directly; otherwise another process numbered some in
/// between, and everything after `after` is read again, in order. Returns
/// the last id published.
async fn publish_numbered(
    pool: &PgPool,
    feed: &Feed,
    after: i64,
    numbered: Vec<shared::events::OrderEvent>,
) -> i64 {
    if numbered.first().is_none_or(|first| first.id != after + 1) {
        return publish_new(pool, feed, after).await;
    }
    let mut last = after;
    for event in numbered {
        last = event.id;
        publish_one(feed, event);
    }
    last
}

/// Hands one event, numbered and read, to the streams that follow it.
fn publish_one(feed: &Feed, event: shared::events::OrderEvent) {
    let lag = (chrono::Utc::now() - event.created_at)
        .to_std()
        .unwrap_or_default();
    metrics::histogram!("asynccheckout_api_event_publish_lag_seconds").record(lag.as_secs_f64());
    if let Some(event) = published(event) {
        feed.publish(Arc::new(event));
    }
}

/// Publishes every event numbered after `after`; returns the last id published.
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

async fn subscribe(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(SEQUENCED_CHANNEL).await?;
    Ok(listener)
}
