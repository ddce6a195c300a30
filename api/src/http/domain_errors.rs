//! What each domain error means to a client: invalid fields are 422 naming
//! each field, a missing resource is 404, a
//! request that conflicts with the resource's state (a taken sku, a task
//! that is not dead, an order that is not where the request needs it) is
//! 409, and anything else is ours to fix (500, or 503 when the database is
//! unreachable; see [`ApiError::internal`]).

use shared::catalog::CatalogError;
use shared::orders::{OrderError, PricingError};
use shared::queue::QueueError;
use shared::validation::InvalidFields;

use super::error::ApiError;
use super::problem::{FieldError, ProblemType};

impl From<InvalidFields> for ApiError {
    fn from(invalid: InvalidFields) -> Self {
        Self::Invalid(
            invalid
                .0
                .into_iter()
                .map(|v| FieldError::new(v.field, v.message))
                .collect(),
        )
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        Self::internal(error)
    }
}

impl From<CatalogError> for ApiError {
    fn from(error: CatalogError) -> Self {
        match error {
            CatalogError::SkuTaken(_) | CatalogError::StockOverflow { .. } => {
                Self::problem(ProblemType::Conflict, error.to_string())
            }
            CatalogError::Database(_) => Self::internal(error),
        }
    }
}

impl From<QueueError> for ApiError {
    fn from(error: QueueError) -> Self {
        match error {
            QueueError::NotFound(_) => Self::not_found(error.to_string()),
            QueueError::NotDead(_)
            | QueueError::NotWaiting(_)
            | QueueError::OrderStep { .. }
            | QueueError::WebhookDelivery(_)
            | QueueError::LeaseLost { .. } => {
                Self::problem(ProblemType::Conflict, error.to_string())
            }
            QueueError::Misuse(_) | QueueError::Database(_) | QueueError::BatchFailed(_) => {
                Self::internal(error)
            }
        }
    }
}

impl From<OrderError> for ApiError {
    fn from(error: OrderError) -> Self {
        match error {
            OrderError::NotInExpectedState { actual: None, .. } => {
                Self::not_found(error.to_string())
            }
            OrderError::Illegal(_) | OrderError::NotInExpectedState { .. } => {
                Self::problem(ProblemType::Conflict, error.to_string())
            }
            OrderError::Queue(queue) => queue.into(),
            OrderError::Database(_) => Self::internal(error),
        }
    }
}

impl From<PricingError> for ApiError {
    fn from(error: PricingError) -> Self {
        match error {
            PricingError::Invalid(invalid) => invalid.into(),
            PricingError::NoCurrency | PricingError::RulesDisagree | PricingError::Database(_) => {
                Self::internal(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use shared::orders::{IllegalTransition, OrderStatus};
    use shared::queue::TaskId;

    use super::*;

    fn kind(error: impl Into<ApiError>) -> Option<ProblemType> {
        match error.into() {
            ApiError::Problem(kind, _) => Some(kind),
            _ => None,
        }
    }

    #[test]
    fn missing_resources_are_not_found_and_conflicts_are_conflicts() {
        assert_eq!(
            kind(QueueError::NotFound(TaskId(1))),
            Some(ProblemType::NotFound)
        );
        assert_eq!(
            kind(QueueError::NotDead(TaskId(1))),
            Some(ProblemType::Conflict)
        );
        let illegal = IllegalTransition {
            from: OrderStatus::Completed,
            to: OrderStatus::Pending,
        };
        assert_eq!(
            kind(OrderError::Illegal(illegal)),
            Some(ProblemType::Conflict)
        );
        let gone = OrderError::NotInExpectedState {
            order: uuid::Uuid::nil(),
            expected: OrderStatus::Pending,
            actual: None,
        };
        assert_eq!(kind(gone), Some(ProblemType::NotFound));
        let stock = CatalogError::StockOverflow {
            sku: "MUG".to_owned(),
            quantity: 1,
        };
        assert_eq!(kind(stock), Some(ProblemType::Conflict));
    }

    #[test]
    fn database_failures_are_ours() {
        assert!(matches!(
            ApiError::from(OrderError::Database(sqlx::Error::RowNotFound)),
            ApiError::Internal(_)
        ));
        assert!(matches!(
            ApiError::from(QueueError::Database(sqlx::Error::PoolTimedOut)),
            ApiError::Unavailable(_)
        ));
    }
}
