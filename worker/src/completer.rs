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
        let written = match pool.acquire().await {
            Ok(mut conn) => queue::complete_batch(&mut conn, &worker, &completions).await,
            Err(e) => Err(e.into()),
        };
        match written {
            Ok(completed) => {
                let completed: HashSet<TaskId> = completed.into_iter().collect();
                for (completion, reply) in completions.iter().zip(replies) {
                    let lease = &completion.lease;
                    let result = if completed.contains(&lease.task) {
                        Ok(())
                    } else {
                        Err(QueueError::LeaseLost {
                            task: lease.task,
                            attempt: lease.attempt,
                        })
                    };
                    let _ = reply.send(result);
                }
            }
            Err(error) => {
                let error = error.to_string();
                tracing::warn!(batch = replies.len(), error = %error, "could not write a batch of completions; its tasks will be rescued after their leases");
                for reply in replies {
                    let _ = reply.send(Err(QueueError::BatchFailed(error.clone())));
                }
            }
        }
    }
}
