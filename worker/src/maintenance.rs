//! The background chores every worker shares: rescuing expired leases,
//! pruning completed tasks and vacuuming the task tables, sampling the
//! backlog, and compensating orders past their deadline. Several workers doing them at once split the rows
//! (`SKIP LOCKED`) rather than fight over them.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use rand::Rng;
use shared::db::Session;
use shared::orders;
use shared::queue::{self, Rescued, TaskState};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use crate::handler::bury;
use crate::wakeup::Wake;
use crate::{Registry, StepError};

/// Rows per rescue or prune statement.
const BATCH: i64 = 500;
/// How often retention runs.
const RETENTION_EVERY: Duration = Duration::from_secs(60);

/// Rescues expired leases every `every` (jittered) until `stop` fires, and
/// wakes this worker's fetchers when it put tasks back. A task that dies in
/// the rescue (its last attempt was lost) gets its handler's `on_dead` in the
/// same transaction.
pub(crate) async fn rescue_loop(
    pool: PgPool,
    registry: Arc<Registry>,
    every: Duration,
    wake: Wake,
    stop: CancellationToken,
) {
    while pause(every, &stop).await {
        loop {
            match rescue_batch(&pool, &registry).await {
                Ok(rescued) => {
                    for task in &rescued {
                        crate::metrics::rescued(&task.kind);
                        tracing::warn!(
                            task_id = %task.id,
                            kind = %task.kind,
                            attempt = task.attempt,
                            lost_by = %task.worker,
                            dead = task.state == TaskState::Dead,
                            "rescued a task whose lease expired"
                        );
                    }
                    if !rescued.is_empty() {
                        wake.notify_one();
                    }
                    if (rescued.len() as i64) < BATCH {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "lease rescue failed; trying again later");
                    break;
                }
            }
        }
    }
}

/// One rescue transaction: expired leases back to `available`, or to `dead`
/// with the kind's `on_dead` consequences.
async fn rescue_batch(pool: &PgPool, registry: &Registry) -> Result<Vec<Rescued>, StepError> {
    let mut tx = Session::begin(pool).await?;
    let rescued = queue::rescue_expired(&mut tx, BATCH).await?;
    for task in rescued.iter().filter(|t| t.state == TaskState::Dead) {
        if let Some(handler) = registry.get(&task.kind) {
            bury(handler.as_ref(), &task.payload, &task.error, &mut tx).await?;
        }
    }
    tx.finish().await?;
    Ok(rescued)
}

/// How long a worker that stopped or vanished stays in the registry, and
/// the queue's minutes (the console's charts) are kept.
const WORKERS_KEPT: Duration = Duration::from_secs(24 * 3600);

/// Every minute until `stop` fires, deletes completed tasks older than
/// `tasks`, idempotency keys older than `keys` and order events older than
/// `events`, a batch at a time, expired stream tokens, and the workers gone
/// and the queue's minutes older than [`WORKERS_KEPT`], then vacuums the
/// task tables.
pub(crate) async fn retention_loop(
    pool: PgPool,
    tasks: Duration,
    keys: Duration,
    events: Duration,
    stop: CancellationToken,
) {
    while pause(RETENTION_EVERY, &stop).await {
        prune(&pool, &stop, "completed tasks", |conn| {
            Box::pin(async move {
                queue::delete_completed(conn, tasks, BATCH)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .await;
        prune(&pool, &stop, "idempotency keys", |conn| {
            Box::pin(async move {
                orders::delete_expired_keys(conn, keys, BATCH)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .await;
        prune(&pool, &stop, "order events", |conn| {
            Box::pin(async move {
                shared::events::retention::delete_expired(conn, events, BATCH)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .await;
        prune(&pool, &stop, "expired stream tokens", |conn| {
            Box::pin(async move {
                shared::events::stream_tokens::delete_expired(conn)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .await;
        prune(&pool, &stop, "expired console sessions", |conn| {
            Box::pin(async move {
                shared::keys::console_sessions::delete_expired(conn)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .await;
        prune(&pool, &stop, "workers gone", |conn| {
            Box::pin(async move {
                queue::workers::delete_gone(conn, WORKERS_KEPT)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .await;
        prune(&pool, &stop, "queue minutes", |conn| {
            Box::pin(async move {
                queue::minutes::delete_older_than(conn, WORKERS_KEPT)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .await;
        // Every update of a task leaves a dead row version; reclaim them (and
        // the pruned rows) even where autovacuum is off or lagging.
        let vacuum = async {
            // Abandoned on shutdown: the process and its pool are ending.
            queue::vacuum(&pool).await.map_err(|e| e.to_string())
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            vacuumed = vacuum => match vacuumed {
                Ok(()) => tracing::debug!("vacuumed the task tables"),
                Err(e) => tracing::warn!(error = %e, "vacuuming the task tables failed; trying again next pass"),
            },
        }
    }
}

/// Runs `delete_batch` until a batch comes back short.
async fn prune<F>(pool: &PgPool, stop: &CancellationToken, what: &str, delete_batch: F)
where
    F: for<'c> Fn(&'c mut PgConnection) -> BoxFuture<'c, Result<u64, String>>,
{
    let mut total = 0;
    loop {
        let deleted = match Session::acquire(pool).await {
            Ok(mut conn) => match delete_batch(&mut conn).await {
                Ok(n) => conn.finish().await.map(|()| n).map_err(|e| e.to_string()),
                Err(e) => Err(e),
            },
            Err(e) => Err(e.to_string()),
        };
        match deleted {
            Ok(n) => {
                total += n;
                if (n as i64) < BATCH || stop.is_cancelled() {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, what, "pruning failed; trying again later");
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(deleted = total, what, "pruned past retention");
    }
}

/// How often the backlog gauges are refreshed.
const BACKLOG_EVERY: Duration = Duration::from_secs(5);

/// Keeps the queue depth and oldest-wait gauges of `kinds` current until
/// `stop` fires; a kind with no backlog reads 0.
pub(crate) async fn backlog_loop(pool: PgPool, kinds: Vec<String>, stop: CancellationToken) {
    loop {
        let sampled = match Session::acquire(&pool).await {
            Ok(mut conn) => queue::backlog(&mut conn).await,
            Err(e) => Err(e),
        };
        match sampled {
            Ok(backlog) => {
                for kind in &kinds {
                    let found = backlog.iter().find(|b| &b.kind == kind);
                    crate::metrics::backlog(
                        kind,
                        found.map_or(0, |b| b.due),
                        found.map_or(0.0, |b| b.oldest_wait_secs),
                    );
                }
            }
            Err(e) => tracing::debug!(error = %e, "could not sample the queue backlog"),
        }
        if !pause(BACKLOG_EVERY, &stop).await {
            return;
        }
    }
}

/// Compensates the orders past `deadline` (see
/// `shared::orders::deadline`) until `stop` fires, looking every fifth of
/// the deadline (between a quarter of a second and five seconds).
pub(crate) async fn deadline_loop(pool: PgPool, deadline: Duration, stop: CancellationToken) {
    let every = (deadline / 5).clamp(Duration::from_millis(250), Duration::from_secs(5));
    while pause(every, &stop).await {
        let swept = async {
            let mut conn = Session::acquire(&pool).await?;
            let overdue =
                shared::orders::deadline::compensate_overdue(&mut conn, deadline, BATCH).await?;
            conn.finish().await?;
            Ok::<_, sqlx::Error>(overdue)
        };
        match swept.await {
            Ok(overdue) => {
                for order in overdue {
                    crate::metrics::deadline_exceeded(order.was);
                    tracing::warn!(
                        order_id = %order.order,
                        was = %order.was,
                        now = %order.now,
                        deadline_secs = deadline.as_secs(),
                        "order past its deadline: its payment is given back"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "the deadline sweep failed; trying again later"),
        }
    }
}

/// Sleeps about `every` (jittered by ±20%); false when `stop` fired instead.
async fn pause(every: Duration, stop: &CancellationToken) -> bool {
    let jittered = every.mul_f64(rand::rng().random_range(0.8..=1.2));
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(jittered) => true,
    }
}
