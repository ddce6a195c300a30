//! Admission control: when the queue's oldest due task has waited longer
//! than a threshold, new orders are turned away with 503 and `Retry-After`
//! rather than piling onto a backlog the workers cannot drain. Off unless
//! configured. The wait is read from the database at most once a second.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::PgPool;

use shared::db::Session;

use crate::http::error::{ApiError, ErrorResponse};
use crate::http::problem::{Problem, ProblemType};

/// How long a reading of the queue's wait is trusted.
const READING_TTL: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct Admission {
    max_wait: Duration,
    reading: Mutex<Option<(Instant, f64)>>,
}

impl Admission {
    /// `None` when `max_wait` is zero (admission control off).
    pub fn new(max_wait: Duration) -> Option<Self> {
        (!max_wait.is_zero()).then(|| Self {
            max_wait,
            reading: Mutex::new(None),
        })
    }

    /// `Err` (503 with `Retry-After`) while the backlog is too old.
    pub async fn check(&self, pool: &PgPool) -> Result<(), ErrorResponse> {
        let wait = self.wait(pool).await?;
        if wait <= self.max_wait.as_secs_f64() {
            return Ok(());
        }
        let retry_after = self.max_wait.as_secs().max(1);
        metrics::counter!("asynccheckout_orders_shed_total").increment(1);
        Err(ErrorResponse::ServiceUnavailable(
            poem_openapi::payload::Json(Problem::new(
                ProblemType::ServiceUnavailable,
                format!(
                    "the oldest queued task has waited {wait:.0} s (the limit is {} s); \
                     retry the order after {retry_after} s",
                    self.max_wait.as_secs()
                ),
            )),
            Some(retry_after.to_string()),
        ))
    }

    async fn wait(&self, pool: &PgPool) -> Result<f64, ApiError> {
        let cached = *self
            .reading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, wait)) = cached {
            if at.elapsed() < READING_TTL {
                return Ok(wait);
            }
        }
        let mut conn = Session::acquire(pool).await?;
        let wait = shared::queue::oldest_due_wait_secs(&mut conn).await?;
        *self
            .reading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((Instant::now(), wait));
        Ok(wait)
    }
}
