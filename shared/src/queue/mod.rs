//! The durable task queue, on PostgreSQL alone.
//!
//! A task is a row in `tasks`. Its states, and who moves it between them:
//!
//! | state       | meaning                              | entered by                         | left by                |
//! |-------------|--------------------------------------|------------------------------------|------------------------|
//! | `available` | waiting for `run_at` (and for its kind to be resumed, if [`pause`]d) | [`enqueue`], a retry, a rescue, an operator's [`retry_dead`], a shutdown returning an unstarted claim | [`claim_batch`], cancellation |
//! | `running`   | leased by one worker until `locked_until` | [`claim_batch`], [`enqueue_claimed`]               | [`complete_if_running`], [`complete_batch`], [`retry_if_running`], [`kill_if_running`], [`rescue_expired`] |
//! | `completed` | done; pruned after the retention period | [`complete_if_running`], [`complete_batch`]          | [`delete_completed`]    |
//! | `dead`      | attempts spent or a permanent error  | [`kill_if_running`], [`retry_if_running`] on the last attempt, [`rescue_expired`] | [`retry_dead`] |
//! | `cancelled` | withdrawn while waiting (to run, or to run again) | an order's cancel ([`cancel_unstarted`], in its transaction), an operator's [`cancel_waiting`] | never |
//!
//! The guarantees, and how they are kept:
//!
//! - **Enqueue is transactional.** [`enqueue`] writes inside the caller's
//!   transaction and sends a `NOTIFY` on [`WAKEUP_CHANNEL`] naming the kind;
//!   PostgreSQL delivers it only on commit, and folds identical
//!   notifications of one transaction into one. A rolled-back enqueue leaves
//!   nothing.
//! - **A claim is exclusive.** [`claim_batch`] locks candidate rows with
//!   `FOR UPDATE SKIP LOCKED` in a materialized CTE (so the planner cannot
//!   lock more rows than the limit), and turns them into leases: `running`,
//!   `locked_by` the worker, `locked_until` now + lease, `attempts + 1`.
//! - **Every change of a running task is fenced** on (`state = 'running'`,
//!   `locked_by`, `attempts`). A worker whose lease was rescued and re-claimed
//!   matches zero rows and gets [`QueueError::LeaseLost`]: it writes nothing,
//!   because the caller's transaction must then be rolled back.
//! - **Leases expire.** A worker extends its leases with [`extend_leases`]
//!   while steps run. Any worker may call [`rescue_expired`]; it skips rows
//!   another rescuer holds, so rescuers never fight or double-count.
//! - **Every attempt leaves a row** in `task_attempts` (worker, start, end,
//!   outcome, error), written by the same statement that ends the attempt.
//!
//! Functions that change state take a `&mut PgConnection`, so the caller
//! chooses the transaction (pass `&mut *tx`) — the saga completes a step, moves
//! its order and enqueues the next step in one.
//!
//! **Batch statements are planned per call.** A prepared statement is
//! planned for its actual parameters five times, then PostgreSQL may switch
//! to a generic plan that knows neither an array's length nor a limit. For
//! the statements that take a batch (a claim's limit, arrays of leases) that
//! plan is a disaster: on a 200,000-row `tasks` table the generic claim of
//! 1,000 tasks hash-joined a sequential scan of the whole table (84 ms against
//! 9 ms), and the generic batch completion nested-looped the running tasks
//! against the array (171 ms against 8 ms). So the claim hands its locked ids
//! to the update as an array (`id = ANY (ARRAY(...))`, an index probe in any
//! plan), and the statements that take arrays of leases are sent unprepared
//! (sqlx's `persistent(false)`), so the planner sees the real sizes every
//! time; planning costs well under a millisecond per batch.

mod backoff;
pub mod breakers;
mod claim;
mod complete_batch;
mod enqueue;
mod error;
mod finish;
mod inspect;
pub mod minutes;
mod operator;
mod pause;
mod rescue;
mod retention;
mod task;
pub mod workers;

pub use backoff::Backoff;
pub use claim::{
    CLAIM_SQL, claim_batch, claim_batch_keyed, claim_probe, extend_leases, return_unstarted,
};
pub use complete_batch::{COMPLETE_BATCH_SQL, Completion, complete_batch};
pub use enqueue::{enqueue, enqueue_claimed};
pub use error::QueueError;
pub use finish::{
    RetryOutcome, complete_if_running, interrupt_if_running, kill_if_running, retry_if_running,
};
pub use inspect::{
    AttemptRecord, Backlog, QueueCount, ScaledCount, TaskFilter, TaskRecord, attempts_of, backlog,
    counts, counts_at_scale, get_task, list_tasks, oldest_due_wait_secs, payload_of,
};
pub use operator::{
    DeadFilter, cancel_unstarted, cancel_waiting, count_dead, retry_dead, retry_dead_matching,
    withdraw_waiting,
};
pub use pause::{PausedKind, pause, paused, resume};
pub use rescue::{Rescued, rescue_expired};
pub use retention::{delete_completed, vacuum};
pub use task::{AttemptOutcome, ClaimedTask, Lease, NewTask, TaskId, TaskState};

/// The `LISTEN`/`NOTIFY` channel on which committed enqueues wake idle
/// workers. The payload is the kind enqueued, so that a worker wakes only
/// the lane that claims it; an empty payload wakes every lane.
pub const WAKEUP_CHANNEL: &str = "asynccheckout_tasks";

/// The channel on which one worker alone is woken (it listens on it besides
/// [`WAKEUP_CHANNEL`]): the API wakes one worker per placed order this way
/// rather than all of them, each of which would claim and all but one find
/// nothing. Named after a digest of the worker's id, so any id fits in
/// PostgreSQL's 63-byte channel names, and the API and every worker version
/// name it alike.
pub fn wake_channel(worker_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(worker_id.as_bytes());
    let short: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{WAKEUP_CHANNEL}_{short}")
}
