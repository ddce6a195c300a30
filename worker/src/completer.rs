//! The worker's group commit for completions.
//!
//! A step that returns `Ok` without completing itself in a transaction of its
//! own hands its completion (and the tasks to enqueue after it) to the
//! completer and waits. The completer writes whatever has gathered in one
//! statement ([`queue::complete_batch`]): while one batch commits, the next
//! gathers, so a busy worker writes hundreds of completions per commit and an
//! idle one writes each at once, with no timer in between.

use std::collections::HashSet;
use std::sync::Arc;

use shared::db::Session;
use shared::queue::{self, Completion, QueueError, TaskId};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

/// Most completions written in one statement.
const MAX_BATCH: usize = 1_000;

type Reply = oneshot::Sender<Result<(), QueueError>>;

/// A handle for sending completions to the process's completer task. The task
/// ends once every handle is dropped and what was sent is written.
#[derive(Debug, Clone)]
pub(crate) struct Completer {
    sender: mpsc::UnboundedSender<(Completion, Reply)>,
}

impl Completer {
    /// Starts the completer for `worker`'s leases.
    pub(crate) fn start(pool: PgPool, worker: Arc<str>) -> (Self, tokio::task::JoinHandle<()>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let task = tokio::spawn(write_batches(pool, worker, receiver));
        (Self { sender }, task)
    }

    /// Completes one attempt, with its follow-ups, once its batch commits.
    /// [`QueueError::LeaseLost`] means neither was written.
    pub(crate) async fn complete(&self, completion: Completion) -> Result<(), QueueError> {
        let lease = completion.lease.clone();
        let (reply, answer) = oneshot::channel();
        let gone = || QueueError::BatchFailed("the worker's completer has stopped".to_owned());
        self.sender.send((completion, reply)).map_err(|_| gone())?;
        match answer.await {
            Ok(result) => result,
            Err(_) => Err(gone()),
        }
        .map_err(|e| match e {
            QueueError::LeaseLost { .. } => QueueError::LeaseLost {
                task: lease.task,
                attempt: lease.attempt,
            },
            other => other,
        })
    }
}

async fn write_batches(
    pool: PgPool,
    worker: Arc<str>,
    mut receiver: mpsc::UnboundedReceiver<(Completion, Reply)>,
) {
    let mut batch = Vec::new();
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (completions, replies): (Vec<Completion>, Vec<Reply>) = batch.drain(..).unzip();
        match write(&pool, &worker, &completions).await {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            // One bad completion (a follow-up the schema refuses, say) must
            // not sink the others: write them one by one, so the error goes
            // to the one that caused it.
            Err(_) if completions.len() > 1 => {
                for (completion, reply) in completions.into_iter().zip(replies) {
                    let result =
                        match write(&pool, &worker, std::slice::from_ref(&completion)).await {
                            Ok(mut results) => results
                                .pop()
                                .unwrap_or_else(|| Err(lease_lost(&completion))),
                            Err(error) => Err(error),
                        };
                    let _ = reply.send(result);
                }
            }
            Err(error) => {
                for reply in replies {
                    let _ = reply.send(Err(QueueError::BatchFailed(error.to_string())));
                }
            }
        }
    }
}

/// Writes `completions` in one statement; per completion, whether it landed.
async fn write(
    pool: &PgPool,
    worker: &str,
    completions: &[Completion],
) -> Result<Vec<Result<(), QueueError>>, QueueError> {
    let mut conn = Session::acquire(pool).await?;
    let completed: HashSet<TaskId> = queue::complete_batch(&mut conn, worker, completions)
        .await
        .inspect_err(|error| {
            tracing::warn!(
                batch = completions.len(),
                error = %error,
                "could not write completions (a task whose completion is not written is rescued after its lease)"
            );
        })?
        .into_iter()
        .collect();
    conn.finish().await?;
    Ok(completions
        .iter()
        .map(|c| {
            if completed.contains(&c.lease.task) {
                Ok(())
            } else {
                Err(lease_lost(c))
            }
        })
        .collect())
}

fn lease_lost(completion: &Completion) -> QueueError {
    QueueError::LeaseLost {
        task: completion.lease.task,
        attempt: completion.lease.attempt,
    }
}
