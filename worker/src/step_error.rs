//! Why a step did not succeed, sorted by whether trying again can help.

use std::time::Duration;

use shared::orders::OrderError;
use shared::queue::QueueError;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a step did not succeed. Each variant prints as its cause, so the
/// attempt record reads as the cause chain (`shared::error_chain`).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Trying again later may succeed (a timeout, a reset, a 5xx, a 429).
    #[error(transparent)]
    Retryable(BoxError),
    /// Trying again may succeed, but not before the delay given (the step
    /// has its own schedule, or was told when to come back).
    #[error("{error}")]
    RetryableAfter { error: BoxError, delay: Duration },
    /// Trying again cannot help (a declined card, a malformed payload).
    #[error(transparent)]
    Permanent(BoxError),
    /// The step's lease was taken over: its writes were rolled back and the
    /// task belongs to someone else now.
    #[error(transparent)]
    LeaseLost(QueueError),
    /// The step has nothing left to do, for good, and that is no failure:
    /// its order was moved on while it ran by a cancel or by its deadline,
    /// whose compensation undoes what it did. The task is completed, with
    /// nothing recorded on the order.
    #[error("nothing to do: {0}")]
    Moot(String),
}

impl StepError {
    pub fn retryable(error: impl Into<BoxError>) -> Self {
        Self::Retryable(error.into())
    }

    pub fn retryable_after(error: impl Into<BoxError>, delay: Duration) -> Self {
        Self::RetryableAfter {
            error: error.into(),
            delay,
        }
    }

    pub fn permanent(error: impl Into<BoxError>) -> Self {
        Self::Permanent(error.into())
    }
}

impl From<QueueError> for StepError {
    fn from(error: QueueError) -> Self {
        match error {
            QueueError::LeaseLost { .. } => Self::LeaseLost(error),
            QueueError::Misuse(_) => Self::Permanent(error.into()),
            other => Self::Retryable(other.into()),
        }
    }
}

impl From<sqlx::Error> for StepError {
    /// A database error inside a step is assumed transient: the transaction
    /// rolled back, so trying again is safe.
    fn from(error: sqlx::Error) -> Self {
        Self::Retryable(error.into())
    }
}

impl From<OrderError> for StepError {
    /// An order that is not where the step expects it, or a move off the
    /// chart, will not change by retrying; a database error may.
    fn from(error: OrderError) -> Self {
        match error {
            OrderError::Queue(e) => e.into(),
            OrderError::Database(e) => e.into(),
            OrderError::NotInExpectedState {
                order,
                actual: Some(actual),
                ..
            } if actual.is_compensating() => {
                Self::Moot(format!("order {order} was moved on meanwhile ({actual})"))
            }
            e @ (OrderError::Illegal(_) | OrderError::NotInExpectedState { .. }) => {
                Self::permanent(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use shared::queue::TaskId;

    use super::*;

    #[test]
    fn a_step_error_reads_as_its_cause_alone() {
        let error = StepError::from(QueueError::NotDead(TaskId(7)));
        assert!(matches!(error, StepError::Retryable(_)));
        assert_eq!(
            shared::error_chain::describe(&error),
            "task 7 is not dead, so there is nothing to retry"
        );
    }
}
