//! The worker's main loop: claiming tasks into free slots, and draining on
//! shutdown. One attempt of one task is `attempt`; how its end is written is
//! `outcome`.
//!
//! One fetcher claims tasks, never more than the free slots of a semaphore
//! sized to the concurrency, and spawns each step into a `JoinSet`. It looks
//! for work when notified of an enqueue, when its last claim came back full
//! (there may be more), and otherwise on a jittered poll. Beside it run the
//! notification listener, the lease heartbeat, the rescuer, retention and the
//! completer (the group commit of completions, see `completer`). A step that
//! hands its successor to this worker (see `StepContext::enqueue_next`)
//! keeps its slot for it.
//!
//! On shutdown the fetcher stops claiming; running steps get the grace period
//! to finish (a successor handed off meanwhile is handed back unstarted); any
//! still running then are stopped and handed back at once (`interrupted`),
//! rather than left for their leases to expire. The one gap: a step aborted
//! at the end of the grace period between committing a handed-off successor
//! and starting it leaves that successor to be rescued after its lease.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use shared::db::Session;
use shared::queue::{self, ClaimedTask, RetryOutcome};
use sqlx::PgPool;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::attempt::Attempt;
use crate::breaker::{self, Breakers};
use crate::completer::Completer;
use crate::context::HandOff;
use crate::hand_back::return_unstarted;
use crate::handler::bury;
use crate::heartbeat::{self, InFlight};
use crate::presence;
use crate::wakeup::Wake;
use crate::{Registry, StepError, WorkerConfig, maintenance, metrics, wakeup};
use shared::queue::workers::Presence;

/// Longest pause after the database refused a claim.
const CLAIM_RETRY_MAX: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("the worker has no step handlers registered, so it would never claim anything")]
    NoHandlers,
}

/// One process's worker: claims, runs and finishes tasks until shut down.
#[derive(Debug)]
pub struct Worker {
    pool: PgPool,
    registry: Arc<Registry>,
    config: WorkerConfig,
    /// Written into every lease and attempt this worker takes.
    id: Arc<str>,
    /// The kinds it has handlers for (and so claims, and takes hand-offs of).
    kinds: Arc<[String]>,
    /// Kinds that run in slots of their own, apart from the rest.
    lanes: Vec<Lane>,
    /// The circuit breakers of the downstreams its steps call, if any.
    breakers: Option<Arc<Breakers>>,
}

/// Kinds claimed by a fetcher of their own into slots of their own, so that
/// steps that may be slow for reasons outside our control (a merchant's
/// webhook endpoint) never hold the slots of the others, nor the reverse.
#[derive(Debug, Clone)]
struct Lane {
    name: String,
    kinds: Vec<String>,
    concurrency: u32,
    /// At most this many tasks of one concurrency key run at once.
    per_key: Option<u32>,
    /// How often its fetcher looks when nothing wakes it.
    poll: Duration,
}

impl Worker {
    pub fn new(pool: PgPool, registry: Registry, config: WorkerConfig) -> Self {
        let id = Arc::from(config.resolved_worker_id());
        Self {
            pool,
            kinds: registry.kinds().into(),
            registry: Arc::new(registry),
            config,
            id,
            lanes: Vec::new(),
            breakers: None,
        }
    }

    /// Watches `breakers` (see [`crate::breaker`]): the kinds an open one
    /// holds are not claimed, but for one probe per cool-down.
    pub fn with_breakers(self, breakers: Arc<Breakers>) -> Self {
        Self {
            breakers: Some(breakers),
            ..self
        }
    }

    /// Runs `kinds` in a lane of their own with `concurrency` slots, apart
    /// from the other kinds' `WORKER_CONCURRENCY`; with `per_key`, at most
    /// that many tasks of one concurrency key run at once (see
    /// `shared::queue::claim_batch_keyed`). Its fetcher looks every `poll`
    /// (or sooner, as `POLL_INTERVAL_MS` says) when nothing wakes it: for
    /// kinds enqueued without a notification.
    pub fn with_lane(
        mut self,
        name: &str,
        kinds: &[&str],
        concurrency: u32,
        per_key: Option<u32>,
        poll: Duration,
    ) -> Self {
        self.lanes.push(Lane {
            name: name.to_owned(),
            kinds: kinds.iter().map(|&k| k.to_owned()).collect(),
            concurrency,
            per_key,
            poll: poll.min(self.config.poll_interval()),
        });
        self
    }

    /// Every lane: the ones asked for, each with the kinds it has handlers
    /// for, and the main one with the remaining kinds.
    fn all_lanes(&self) -> Vec<Lane> {
        let registered = self.registry.kinds();
        let mut lanes: Vec<Lane> = self
            .lanes
            .iter()
            .map(|lane| Lane {
                kinds: lane
                    .kinds
                    .iter()
                    .filter(|k| registered.contains(k))
                    .cloned()
                    .collect(),
                ..lane.clone()
            })
            .collect();
        let main = Lane {
            name: "main".to_owned(),
            kinds: registered
                .into_iter()
                .filter(|k| !self.lanes.iter().any(|lane| lane.kinds.contains(k)))
                .collect(),
            concurrency: self.config.concurrency,
            per_key: None,
            poll: self.config.poll_interval(),
        };
        lanes.insert(0, main);
        lanes.retain(|lane| !lane.kinds.is_empty());
        lanes
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs until `shutdown` fires, then drains and returns.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), WorkerError> {
        if self.registry.is_empty() {
            return Err(WorkerError::NoHandlers);
        }
        let lanes = self.all_lanes();
        let fetcher_wakes: Vec<Arc<Notify>> =
            lanes.iter().map(|_| Arc::new(Notify::new())).collect();
        let wake = Wake::new(
            lanes
                .iter()
                .zip(&fetcher_wakes)
                .map(|(lane, fetcher)| (lane.kinds.clone(), Arc::clone(fetcher)))
                .collect(),
        );
        let in_flight = Arc::new(InFlight::default());
        // The helpers outlive the fetcher: leases must be renewed while draining.
        let helpers_stop = CancellationToken::new();
        let mut helpers = JoinSet::new();
        helpers.spawn(wakeup::listen(
            self.pool.clone(),
            Arc::clone(&self.id),
            wake.clone(),
            helpers_stop.clone(),
        ));
        helpers.spawn(heartbeat::renew_leases(
            self.pool.clone(),
            Arc::clone(&self.id),
            Arc::clone(&in_flight),
            self.config.lease(),
            helpers_stop.clone(),
        ));
        helpers.spawn(maintenance::rescue_loop(
            self.pool.clone(),
            Arc::clone(&self.registry),
            self.config.rescue_interval(),
            wake.clone(),
            helpers_stop.clone(),
        ));
        if let Some(breakers) = &self.breakers {
            helpers.spawn(breaker::watch(
                self.pool.clone(),
                Arc::clone(breakers),
                wake.clone(),
                helpers_stop.clone(),
            ));
        }
        if let Some(deadline) = self.config.order_deadline() {
            helpers.spawn(maintenance::deadline_loop(
                self.pool.clone(),
                deadline,
                helpers_stop.clone(),
            ));
        }
        helpers.spawn(maintenance::backlog_loop(
            self.pool.clone(),
            self.registry.kinds(),
            helpers_stop.clone(),
        ));
        helpers.spawn(maintenance::retention_loop(
            self.pool.clone(),
            self.config.retention(),
            self.config.idempotency_key_retention(),
            self.config.event_retention(),
            helpers_stop.clone(),
        ));
        helpers.spawn(presence::announce(
            self.pool.clone(),
            Presence {
                id: self.id.to_string(),
                host: crate::config::host_name(),
                pid: i32::try_from(std::process::id()).unwrap_or(i32::MAX),
                kinds: self.registry.kinds(),
                slots: lanes
                    .iter()
                    .map(|lane| i32::try_from(lane.concurrency).unwrap_or(i32::MAX))
                    .sum(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
            Arc::clone(&in_flight),
            helpers_stop.clone(),
        ));
        for lane in &lanes {
            tracing::info!(
                worker_id = %self.id,
                lane = %lane.name,
                kinds = ?lane.kinds,
                concurrency = lane.concurrency,
                "worker started"
            );
        }

        let (completer, completer_task) = Completer::start(self.pool.clone(), Arc::clone(&self.id));
        let this = &self;
        let fetchers = lanes.iter().zip(&fetcher_wakes).map(|(lane, wake)| {
            let (shutdown, in_flight, completer) = (&shutdown, &in_flight, &completer);
            async move {
                let mut steps = JoinSet::new();
                this.fetch_until(lane, shutdown, wake, in_flight, completer, &mut steps)
                    .await;
                steps
            }
        });
        let steps = futures_util::future::join_all(fetchers).await;
        self.drain(steps, &in_flight).await;
        // Every step has finished or been stopped: what they handed the
        // completer is written before it ends.
        drop(completer);
        if let Err(e) = completer_task.await {
            tracing::error!(error = %e, "the completer failed; its tasks will be rescued after their leases");
        }

        helpers_stop.cancel();
        while helpers.join_next().await.is_some() {}
        tracing::info!(worker_id = %self.id, "worker stopped");
        Ok(())
    }

    /// Claims up to `limit` due tasks of `kinds`: first a probe of each open
    /// circuit breaker whose probe is due, then as `claim_batch` does.
    async fn claim(
        &self,
        conn: &mut sqlx::PgConnection,
        kinds: &[String],
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<ClaimedTask>, queue::QueueError> {
        let mut probes = Vec::new();
        if let Some(breakers) = &self.breakers {
            for (downstream, held) in breakers.probes_due(kinds) {
                if probes.len() as i64 >= limit {
                    break;
                }
                let cool_down = breakers.cool_down();
                let probe =
                    queue::claim_probe(conn, &self.id, &downstream, &held, lease, cool_down)
                        .await?;
                for task in &probe {
                    tracing::info!(%downstream, task_id = %task.id, kind = %task.kind, "circuit breaker probe: one step goes through");
                }
                probes.extend(probe);
            }
        }
        let rest = limit - probes.len() as i64;
        if rest > 0 {
            probes.extend(queue::claim_batch(conn, &self.id, kinds, rest, lease).await?);
        }
        Ok(probes)
    }

    async fn fetch_until(
        &self,
        lane: &Lane,
        shutdown: &CancellationToken,
        wake: &Arc<Notify>,
        in_flight: &Arc<InFlight>,
        completer: &Completer,
        steps: &mut JoinSet<()>,
    ) {
        let slots = Arc::new(Semaphore::new(lane.concurrency as usize));
        let kinds = &lane.kinds;
        let mut look_now = true;
        let mut claim_retry = Duration::from_millis(100);
        loop {
            while steps.try_join_next().is_some() {}
            if !look_now {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(jittered(lane.poll)) => {}
                }
            }
            if slots.available_permits() == 0 {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    freed = Arc::clone(&slots).acquire_owned() => drop(freed),
                }
            }
            if shutdown.is_cancelled() {
                return;
            }
            let free = slots.available_permits();
            let claimed = match Session::acquire(&self.pool).await {
                Ok(mut conn) => {
                    let limit = i64::try_from(free).unwrap_or(i64::MAX);
                    let lease = self.config.lease();
                    let claimed = match lane.per_key {
                        None => self.claim(&mut conn, kinds, limit, lease).await,
                        Some(per_key) => {
                            let per_key = i64::from(per_key);
                            queue::claim_batch_keyed(
                                &mut conn, &self.id, kinds, limit, lease, per_key,
                            )
                            .await
                        }
                    };
                    conn.finish_if_ok(claimed).await
                }
                Err(e) => Err(e.into()),
            };
            let tasks = match claimed {
                Ok(tasks) => tasks,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = claim_retry.as_millis() as u64, "claim failed");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(claim_retry) => {}
                    }
                    claim_retry = (claim_retry * 2).min(CLAIM_RETRY_MAX);
                    look_now = true;
                    continue;
                }
            };
            if tasks.is_empty() {
                metrics::claimed_nothing(&lane.name);
            } else {
                crate::crash::crash_point!("worker.after_claim");
            }
            claim_retry = Duration::from_millis(100);
            look_now = tasks.len() == free;
            if shutdown.is_cancelled() {
                return_unstarted(&self.pool, &self.id, tasks).await;
                return;
            }
            for task in tasks {
                metrics::claimed(&task);
                match Arc::clone(&slots).try_acquire_owned() {
                    Ok(slot) => {
                        // In a keyed lane a finished step may make room for
                        // its key's next task: the fetcher looks again.
                        let on_finish = lane.per_key.map(|_| Arc::clone(wake));
                        steps.spawn(self.execute(
                            task,
                            slot,
                            Arc::clone(in_flight),
                            completer.clone(),
                            shutdown.clone(),
                            on_finish,
                        ));
                    }
                    // Only the fetcher takes slots, so this cannot happen; if
                    // it did, the task goes back rather than overrunning.
                    Err(_) => return_unstarted(&self.pool, &self.id, vec![task]).await,
                }
            }
        }
    }

    /// Runs a claimed task in `slot`, then, while each step hands its
    /// successor straight to this worker, the successors in the same slot.
    fn execute(
        &self,
        task: ClaimedTask,
        slot: OwnedSemaphorePermit,
        in_flight: Arc<InFlight>,
        completer: Completer,
        shutdown: CancellationToken,
        on_finish: Option<Arc<Notify>>,
    ) -> impl Future<Output = ()> + Send + 'static {
        let attempt = Attempt {
            pool: self.pool.clone(),
            registry: Arc::clone(&self.registry),
            backoff: self.config.backoff(),
            hand_off: HandOff {
                kinds: Arc::clone(&self.kinds),
                lease: self.config.lease(),
            },
            in_flight,
            completer,
        };
        let worker = Arc::clone(&self.id);
        let pool = self.pool.clone();
        async move {
            let slot = slot;
            let mut next = Some(task);
            while let Some(task) = next.take() {
                next = attempt.run(Arc::new(task)).await;
                if shutdown.is_cancelled() {
                    if let Some(unstarted) = next.take() {
                        return_unstarted(&pool, &worker, vec![unstarted]).await;
                    }
                }
                if let Some(task) = &next {
                    metrics::claimed(task);
                }
            }
            drop(slot);
            if let Some(fetcher) = on_finish {
                fetcher.notify_one();
            }
        }
    }

    /// Waits up to the grace period for running steps; stops and hands back
    /// whatever is still running after it.
    async fn drain(&self, mut lanes: Vec<JoinSet<()>>, in_flight: &InFlight) {
        let grace = self.config.shutdown_grace();
        let running: usize = lanes.iter().map(JoinSet::len).sum();
        if running > 0 {
            tracing::info!(
                running,
                grace_secs = grace.as_secs(),
                "draining running steps"
            );
        }
        let drained = tokio::time::timeout(grace, async {
            for steps in &mut lanes {
                while steps.join_next().await.is_some() {}
            }
        })
        .await;
        if drained.is_ok() {
            return;
        }
        for steps in &mut lanes {
            steps.abort_all();
            while steps.join_next().await.is_some() {}
        }
        for task in in_flight.tasks() {
            match self.interrupt(&task).await {
                Ok(outcome) => {
                    tracing::warn!(task_id = %task.id, ?outcome, "handed back a step cut short by shutdown")
                }
                Err(e) => {
                    tracing::error!(task_id = %task.id, error = %e, "could not hand back an interrupted step; it will be rescued after its lease")
                }
            }
            in_flight.remove(task.id);
        }
    }

    async fn interrupt(&self, task: &ClaimedTask) -> Result<RetryOutcome, StepError> {
        let mut tx = Session::begin(&self.pool).await?;
        let outcome = queue::interrupt_if_running(&mut tx, &task.lease).await?;
        if outcome == RetryOutcome::Dead {
            if let Some(handler) = self.registry.get(&task.kind) {
                let error = "interrupted on its last attempt";
                bury(handler.as_ref(), &task.payload, error, &mut tx).await?;
            }
        }
        tx.finish().await?;
        Ok(outcome)
    }
}

/// `every` scaled by a random factor in [0.5, 1.0], so idle workers don't
/// poll in lockstep.
fn jittered(every: Duration) -> Duration {
    every.mul_f64(rand::rng().random_range(0.5..=1.0))
}
