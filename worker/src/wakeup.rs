//! Waking the fetcher when work is enqueued.
//!
//! A dedicated connection `LISTEN`s on [`WAKEUP_CHANNEL`], which wakes every
//! worker, and on this worker's own channel ([`wake_channel`]), on which the
//! API wakes one worker per placed order. Each notification names the kind
//! that was enqueued and pokes the fetcher of the lane that claims it (so a
//! saga step does not wake the webhook lane, nor the reverse). When the
//! connection drops, the fetcher is poked too (notifications sent meanwhile
//! are lost, so it should look for itself) and the listener reconnects with
//! a capped backoff. Polling in the fetcher covers whatever slips through.
//!
//! Behind a transaction pooler without `LISTEN_DATABASE_URL` nothing can be
//! heard: the fetchers are poked every [`POLL_WITHOUT_LISTENING`] instead,
//! and the log says so once.

use std::sync::Arc;
use std::time::Duration;

use shared::queue::{WAKEUP_CHANNEL, wake_channel};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const RECONNECT_DELAY_MAX: Duration = Duration::from_secs(10);

/// How often the fetchers look when this worker cannot LISTEN.
pub(crate) const POLL_WITHOUT_LISTENING: Duration = Duration::from_millis(250);

/// Pokes the fetchers of a worker (one per lane). Each holds a permit until
/// its fetcher looks, so a poke is not lost while that fetcher is busy.
#[derive(Debug, Clone, Default)]
pub(crate) struct Wake(Arc<[(Vec<String>, Arc<Notify>)]>);

impl Wake {
    /// One poke target per fetcher, with the kinds it claims.
    pub(crate) fn new(fetchers: Vec<(Vec<String>, Arc<Notify>)>) -> Self {
        Self(fetchers.into())
    }

    /// Pokes every fetcher: when it should look whatever was enqueued.
    pub(crate) fn notify_one(&self) {
        for (_, fetcher) in self.0.iter() {
            fetcher.notify_one();
        }
    }

    /// Pokes the fetchers that claim `kind`, the kind a notification names;
    /// every fetcher when it names none (a sender that does not say).
    pub(crate) fn notify_for(&self, kind: &str) {
        for (kinds, fetcher) in self.0.iter() {
            if kind.is_empty() || kinds.iter().any(|k| k == kind) {
                fetcher.notify_one();
            }
        }
    }
}

/// Listens until `stop` fires, poking the fetchers of each notification's
/// kind.
pub(crate) async fn listen(pool: PgPool, worker_id: Arc<str>, wake: Wake, stop: CancellationToken) {
    // Never the steps' pool: see `shared::db::listener_pool`.
    let pool = match shared::db::listener_pool(&pool) {
        Ok(Some(pool)) => pool,
        Ok(None) => {
            tracing::warn!(
                every_ms = POLL_WITHOUT_LISTENING.as_millis() as u64,
                "DATABASE_URL goes through a transaction pooler, which cannot LISTEN, and \
                 LISTEN_DATABASE_URL is unset: looking for tasks every {} ms instead of being \
                 woken (set LISTEN_DATABASE_URL to a direct connection to be woken at once)",
                POLL_WITHOUT_LISTENING.as_millis()
            );
            return poll_until(&wake, &stop).await;
        }
        Err(e) => {
            tracing::error!(error = %e, "LISTEN_DATABASE_URL is not a valid PostgreSQL URL; polling instead");
            return poll_until(&wake, &stop).await;
        }
    };
    let mut delay = Duration::from_millis(100);
    loop {
        match subscribe(&pool, &worker_id).await {
            Ok(mut listener) => {
                delay = Duration::from_millis(100);
                // Anything enqueued while we were not listening is unannounced.
                wake.notify_one();
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        received = listener.try_recv() => match received {
                            Ok(Some(notification)) => wake.notify_for(notification.payload()),
                            Ok(None) => {
                                // sqlx reconnects and re-listens on the next call.
                                tracing::warn!("notification connection lost; reconnecting");
                                wake.notify_one();
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "notification listener failed; reconnecting");
                                break;
                            }
                        },
                    }
                }
            }
            Err(e) => tracing::warn!(
                error = %e,
                retry_in_ms = delay.as_millis() as u64,
                "cannot listen for task notifications; polling meanwhile"
            ),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(RECONNECT_DELAY_MAX);
    }
}

/// Pokes every fetcher every [`POLL_WITHOUT_LISTENING`] until `stop` fires.
async fn poll_until(wake: &Wake, stop: &CancellationToken) {
    let mut every = tokio::time::interval(POLL_WITHOUT_LISTENING);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every.tick() => wake.notify_one(),
        }
    }
}

/// Listens on the channel that wakes every worker and on this worker's own.
async fn subscribe(pool: &PgPool, worker_id: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    let own = wake_channel(worker_id);
    listener.listen_all([WAKEUP_CHANNEL, own.as_str()]).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    fn poked(fetcher: &Notify) -> bool {
        fetcher.notified().now_or_never().is_some()
    }

    #[test]
    fn a_notification_pokes_only_the_lanes_that_claim_its_kind() {
        let saga = Arc::new(Notify::new());
        let webhooks = Arc::new(Notify::new());
        let wake = Wake::new(vec![
            (vec!["charge_payment".to_owned()], Arc::clone(&saga)),
            (vec!["deliver_webhook".to_owned()], Arc::clone(&webhooks)),
        ]);

        wake.notify_for("charge_payment");
        assert!(poked(&saga));
        assert!(!poked(&webhooks));

        // A notification that names no kind pokes every lane.
        wake.notify_for("");
        assert!(poked(&saga));
        assert!(poked(&webhooks));
    }
}
