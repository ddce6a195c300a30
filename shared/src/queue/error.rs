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
    /// An operator asked to cancel a task that is not waiting to run.
    #[error("task {0} is not waiting (it is running or finished), so it cannot be cancelled")]
    NotWaiting(TaskId),
    /// An operator asked to cancel a step of an order's saga: withdrawing it
    /// would leave the order stuck half-way, with its money and stock as
    /// they were when the step was queued.
    #[error(
        "task {task} is a step of order {order}'s saga and is not cancelled on its own: it would \
         leave the order half-way. While the order is pending, cancel the order instead (POST \
         /v1/orders/{order}/cancel); once payment has started its steps must run (pause their \
         kind to hold them)"
    )]
    OrderStep { task: TaskId, order: uuid::Uuid },
    /// An operator asked to cancel a webhook delivery's task: its delivery
    /// record would stay pending for ever.
    #[error(
        "task {0} sends a webhook delivery and is not cancelled on its own: disable the \
         endpoint instead: its waiting deliveries then end failed, unsent"
    )]
    WebhookDelivery(TaskId),
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
