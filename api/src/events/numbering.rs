//! Keeps the order events numbered while the API runs.
//!
//! A dedicated connection `LISTEN`s for the database's word that events were
//! written (at their transaction's commit); each word, and a tick every
//! second for whatever a lost connection let slip, runs the sequencer
//! (`shared::events::sequencer`). Words that arrive while a round runs are
//! taken together by the next one. Every API process does this; the
//! sequencer's lock makes them take turns, and a round with nothing to
//! number costs one index lookup.

use std::time::Duration;

use shared::events::{WRITTEN_CHANNEL, sequencer};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

/// A round runs at least this often, notifications or not.
const TICK: Duration = Duration::from_secs(1);

/// Numbers events as they are written, until `stop` fires.
pub async fn run(pool: PgPool, stop: CancellationToken) {
    let mut listener: Option<PgListener> = None;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if listener.is_none() {
            listener = match subscribe(&pool).await {
                Ok(listener) => Some(listener),
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for order events; numbering them every second meanwhile");
                    None
                }
            };
        }
        if let Some(listener) = listener.as_mut() {
            // The words already here are all answered by the round below.
            while listener.next_buffered().is_some() {}
        }
        if let Err(error) = sequencer::sequence(&pool).await {
            tracing::warn!(%error, "numbering order events failed; trying again");
        }
        let word = async {
            match listener.as_mut() {
                Some(listener) => listener.try_recv().await.map(|_| ()),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
            heard = word => {
                if let Err(error) = heard {
                    tracing::warn!(%error, "the order events listener failed; reconnecting");
                    listener = None;
                }
            }
        }
    }
}

async fn subscribe(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(WRITTEN_CHANNEL).await?;
    Ok(listener)
}
