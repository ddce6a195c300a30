//! What can go wrong in a queue operation.

use super::TaskId;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The fence matched no row: the task is no longer `running` under this
    /// worker and attempt (its lease expired and it was rescued, or it was
    /// finished already). Roll back whatever the caller wrote with it.
    #[error(
        "task {task} attempt {attempt} no longer holds its lease (it expired and was rescued, \
         or the task was finished elsewhere); nothing was written"
    )]
    LeaseLost { task: TaskId, attempt: i32 },
    /// An operator asked to retry a task that is not dead.
    #[error("task {0} is not dead, so there is nothing to retry")]
    NotDead(TaskId),
    #[error("no task has id {0}")]
    NotFound(TaskId),
    /// The caller asked for something the queue does not do: a bug in the
    /// caller, never a database failure, so retrying cannot help.
    #[error("the queue cannot do this: {0}")]
    Misuse(&'static str),
    /// Kept as the source (not transparent) so that callers can find the
    /// `sqlx::Error` in the chain, e.g. to tell a lost connection apart.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The statement that wrote a batch of completions failed, or its answer
    /// was lost: the completion may or may not have been written. If it was
    /// not, the task is rescued after its lease and runs again.
    #[error("writing the batch of completions this one was part of failed: {0}")]
    BatchFailed(String),
}
