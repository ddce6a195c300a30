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
    #[error("task {0} does not exist")]
    NotFound(TaskId),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The one statement that wrote a batch of completions failed; none of
    /// them was written, and each task will be rescued after its lease.
    #[error("writing the batch of completions this one was part of failed: {0}")]
    BatchFailed(String),
}
