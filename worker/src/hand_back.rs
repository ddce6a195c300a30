//! Handing claims back to the queue unstarted: claims taken while shutting
//! down, and successors that will not run in the slot that claimed them.

use shared::db::Session;
use shared::queue::{self, ClaimedTask};
use sqlx::PgPool;

/// Hands claims that never started back to the queue, uncounted.
pub(crate) async fn return_unstarted(pool: &PgPool, worker: &str, tasks: Vec<ClaimedTask>) {
    if tasks.is_empty() {
        return;
    }
    let leases: Vec<_> = tasks.into_iter().map(|t| t.lease).collect();
    let returned = match Session::acquire(pool).await {
        Ok(mut conn) => {
            let returned = queue::return_unstarted(&mut conn, worker, &leases).await;
            conn.finish_if_ok(returned).await
        }
        Err(e) => Err(e.into()),
    };
    match returned {
        Ok(n) => tracing::info!(returned = n, "handed back claims that never started"),
        Err(e) => {
            tracing::warn!(error = %e, "could not hand back unstarted claims; they will be rescued after their lease")
        }
    }
}
