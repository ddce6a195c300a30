//! What can go wrong reading or changing an order.

use uuid::Uuid;

use super::{IllegalTransition, OrderStatus};
use crate::queue::QueueError;

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// The move is not on the order chart.
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    /// The order is not where the caller thought (`None`: it does not exist).
    #[error("order {order} is {}, not {expected}", actual.map_or("missing".to_owned(), |s| s.to_string()))]
    NotInExpectedState {
        order: Uuid,
        expected: OrderStatus,
        actual: Option<OrderStatus>,
    },
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// Kept as the source (not transparent) so that callers can find the
    /// `sqlx::Error` in the chain, e.g. to tell a lost connection apart.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}
