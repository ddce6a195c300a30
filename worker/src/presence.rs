//! This worker in the workers' registry (`shared::queue::workers`): it
//! registers when it starts, heartbeats with its steps in flight, and says
//! it stopped after its drain, so operators see who runs and who vanished.
//! Each heartbeat also adds what the workers did since the last one to the
//! queue's minutes ([`crate::tally`]), for the console's charts.
//! The registry is for people: a database that cannot be reached only
//! delays it, and the worker's own work never waits for it.

use std::sync::Arc;

use shared::db::Session;
use shared::queue::workers::{self, HEARTBEAT_EVERY, Presence};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::heartbeat::InFlight;

/// Keeps `presence` in the registry until `stop` fires, then marks it
/// stopped.
pub(crate) async fn announce(
    pool: PgPool,
    presence: Presence,
    in_flight: Arc<InFlight>,
    stop: CancellationToken,
) {
    let mut registered = false;
    let mut every = tokio::time::interval(HEARTBEAT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = every.tick() => {}
        }
        let in_flight = i32::try_from(in_flight.len()).unwrap_or(i32::MAX);
        let said = async {
            let mut conn = Session::acquire(&pool).await?;
            if registered {
                // Pruned meanwhile (silent for a day): register again.
                registered = workers::heartbeat(&mut conn, &presence.id, in_flight).await?;
            }
            if !registered {
                workers::register(&mut conn, &presence).await?;
                registered = true;
            }
            conn.finish().await
        };
        if let Err(error) = said.await {
            tracing::warn!(%error, "cannot heartbeat to the workers' registry; trying again");
        }
        write_tally(&pool).await;
    }
    write_tally(&pool).await;
    if registered {
        let stopped = async {
            let mut conn = Session::acquire(&pool).await?;
            workers::stopped(&mut conn, &presence.id).await?;
            conn.finish().await
        };
        if let Err(error) = stopped.await {
            tracing::warn!(%error, "cannot mark this worker stopped in the registry; it will show as vanished");
        }
    }
}

/// Adds what was counted since the last heartbeat to the queue's minutes;
/// kept for the next one when the database cannot take it now.
async fn write_tally(pool: &PgPool) {
    let tallies = crate::tally::take();
    if tallies.is_empty() {
        return;
    }
    let written = async {
        let mut conn = Session::acquire(pool).await?;
        shared::queue::minutes::add(&mut conn, &tallies).await?;
        conn.finish().await
    };
    if let Err(error) = written.await {
        tracing::warn!(%error, "cannot add to the queue's minutes (the console's charts); keeping the counts for the next heartbeat");
        crate::tally::restore(tallies);
    }
}
