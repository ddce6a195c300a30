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

use std::sync::Arc;
use std::time::Duration;

use shared::queue::{WAKEUP_CHANNEL, wake_channel};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const RECONNECT_DELAY_MAX: Duration = Duration::from_secs(10);

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
    fn notify_for(&self, kind: &str) {
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
    let pool = shared::db::listener_pool(&pool);
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
