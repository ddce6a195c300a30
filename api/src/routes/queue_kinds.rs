//! Pausing and resuming a kind of task (`admin` scope): workers stop
//! claiming its tasks, and take them again on resume. See
//! `shared::queue::pause` for what a pause does and does not do.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use shared::db::Session;
use shared::keys::Scope;
use shared::queue::{self, PausedKind};

use super::ApiTags;
use crate::AppState;
use crate::http::auth::ApiKeyAuth;
use crate::http::error::{ApiError, ErrorResponse};

pub struct QueueKindsApi;

/// A kind of task and whether workers take it.
#[derive(Debug, Object)]
pub struct QueueKind {
    pub kind: String,
    /// Whether its tasks wait for a resume.
    pub paused: bool,
    /// When it was paused, while it is.
    #[oai(nullable)]
    pub paused_at: Option<DateTime<Utc>>,
    /// The name of the API key that paused it, while it is.
    #[oai(nullable)]
    pub paused_by: Option<String>,
}

impl From<PausedKind> for QueueKind {
    fn from(pause: PausedKind) -> Self {
        Self {
            kind: pause.kind,
            paused: true,
            paused_at: Some(pause.paused_at),
            paused_by: Some(pause.paused_by),
        }
    }
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum QueueKindResponse {
    #[oai(status = 200)]
    Ok(Json<QueueKind>),
}

/// The kind named in the path, checked as the queue checks a task's kind.
pub(crate) fn kind_name(kind: &str) -> Result<&str, ApiError> {
    let mut chars = kind.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
        && kind.len() <= 63;
    if well_formed {
        Ok(kind)
    } else {
        Err(ApiError::field(
            "kind",
            "must be a task kind: a lowercase letter, then up to 62 lowercase letters, digits, '_' or '.'",
        ))
    }
}

#[OpenApi(tag = "ApiTags::Operations")]
impl QueueKindsApi {
    /// Pause a kind of task
    ///
    /// Workers stop claiming tasks of this kind within a second or two;
    /// the ones running finish, and a step's successor of this kind waits
    /// instead of running at once. The pause outlives restarts. Pausing a
    /// paused kind keeps its first pause. Any kind may be paused, even one
    /// with no task yet. Needs the `admin` scope.
    #[oai(
        path = "/v1/queue/kinds/:kind/pause",
        method = "post",
        operation_id = "pauseQueueKind"
    )]
    async fn pause(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        kind: Path<String>,
    ) -> Result<QueueKindResponse, ErrorResponse> {
        auth.0.require(Scope::Admin)?;
        let kind = kind_name(&kind.0)?;
        let mut conn = Session::acquire(&state.pool).await?;
        let pause = queue::pause(&mut conn, kind, &auth.0.0.name).await?;
        conn.finish().await?;
        tracing::info!(kind, key = %auth.0.0.name, "task kind paused by an operator");
        Ok(QueueKindResponse::Ok(Json(pause.into())))
    }

    /// Resume a kind of task
    ///
    /// Workers take its tasks again at once, the oldest first. Resuming a
    /// kind that is not paused changes nothing. Needs the `admin` scope.
    #[oai(
        path = "/v1/queue/kinds/:kind/resume",
        method = "post",
        operation_id = "resumeQueueKind"
    )]
    async fn resume(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        kind: Path<String>,
    ) -> Result<QueueKindResponse, ErrorResponse> {
        auth.0.require(Scope::Admin)?;
        let kind = kind_name(&kind.0)?;
        let mut conn = Session::acquire(&state.pool).await?;
        let resumed = queue::resume(&mut conn, kind).await?;
        conn.finish().await?;
        if resumed {
            tracing::info!(kind, key = %auth.0.0.name, "task kind resumed by an operator");
        }
        Ok(QueueKindResponse::Ok(Json(QueueKind {
            kind: kind.to_owned(),
            paused: false,
            paused_at: None,
            paused_by: None,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::kind_name;

    #[test]
    fn a_kind_is_named_as_the_queue_names_it() {
        for good in ["charge_payment", "deliver_webhook", "a", "bench.noop2"] {
            assert!(kind_name(good).is_ok(), "{good}");
        }
        let too_long = "a".repeat(64);
        for bad in [
            "",
            "Charge",
            "1kind",
            "charge-payment",
            "kind ",
            too_long.as_str(),
        ] {
            assert!(kind_name(bad).is_err(), "{bad:?}");
        }
    }
}
