//! Keeping the leases of running steps alive.
//!
//! One loop per process renews every lease it holds in a single statement,
//! every third of the lease. A lease the database no longer shows as ours
//! (it expired and was rescued) gets its step's stop signal, so the step can
//! give up early; its writes would be refused by the fence anyway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use shared::db::Session;
use shared::queue::{self, ClaimedTask, Lease, TaskId};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// The steps this process is running, with the signal that stops each.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    steps: Mutex<HashMap<TaskId, (Arc<ClaimedTask>, CancellationToken)>>,
}

impl InFlight {
    pub(crate) fn insert(&self, task: Arc<ClaimedTask>, stop: CancellationToken) {
        self.lock().insert(task.id, (task, stop));
    }

    pub(crate) fn remove(&self, task: TaskId) {
        self.lock().remove(&task);
    }

    /// How many steps are running.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    pub(crate) fn tasks(&self) -> Vec<Arc<ClaimedTask>> {
        self.lock()
            .values()
            .map(|(task, _)| Arc::clone(task))
            .collect()
    }

    pub(crate) fn leases(&self) -> Vec<Lease> {
        self.lock()
            .values()
            .map(|(task, _)| task.lease.clone())
            .collect()
    }

    /// Signals the step holding `lease`, if it is still running.
    pub(crate) fn stop(&self, lease: &Lease) {
        if let Some((held, stop)) = self.lock().get(&lease.task) {
            if held.lease == *lease {
                stop.cancel();
            }
        }
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<TaskId, (Arc<ClaimedTask>, CancellationToken)>> {
        // The map stays consistent even if a holder panicked.
        self.steps.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Renews this worker's leases until `stop` fires.
pub(crate) async fn renew_leases(
    pool: PgPool,
    worker: Arc<str>,
    in_flight: Arc<InFlight>,
    lease: Duration,
    stop: CancellationToken,
) {
    let every = lease / 3;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let held = in_flight.leases();
        if held.is_empty() {
            continue;
        }
        let renewed = match Session::acquire(&pool).await {
            Ok(mut conn) => {
                let renewed = queue::extend_leases(&mut conn, &worker, &held, lease).await;
                conn.finish_if_ok(renewed).await
            }
            Err(e) => Err(e.into()),
        };
        match renewed {
            Ok(renewed) => {
                for lost in held.iter().filter(|l| !renewed.contains(&l.task)) {
                    tracing::warn!(
                        task_id = %lost.task,
                        attempt = lost.attempt,
                        "lease lost (it expired and was rescued); stopping the step"
                    );
                    in_flight.stop(lost);
                }
            }
            Err(e) => tracing::warn!(
                error = %e,
                leases = held.len(),
                "could not renew leases; they expire unless a later renewal succeeds"
            ),
        }
    }
}
