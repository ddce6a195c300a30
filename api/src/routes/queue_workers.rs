//! The workers' registry (`admin` scope): every worker that ran lately, its
//! slots and steps in flight, and whether it is alive, stopped cleanly or
//! vanished (see `shared::queue::workers`).

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use shared::db::Session;
use shared::keys::Scope;
use shared::queue::workers::{self, Liveness, WorkerRecord};

use super::ApiTags;
use crate::AppState;
use crate::http::auth::ApiKeyAuth;
use crate::http::error::ErrorResponse;

pub struct QueueWorkersApi;

/// Where a worker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "WorkerLiveness", rename_all = "snake_case")]
pub enum LivenessView {
    /// Heartbeating (every 5 s).
    Alive,
    /// Stopped cleanly, after finishing or handing back its steps.
    Stopped,
    /// Silent for 15 s without stopping: killed, evicted or cut off. Its
    /// leases are rescued when they expire.
    Vanished,
}

impl From<Liveness> for LivenessView {
    fn from(liveness: Liveness) -> Self {
        match liveness {
            Liveness::Alive => Self::Alive,
            Liveness::Stopped => Self::Stopped,
            Liveness::Vanished => Self::Vanished,
        }
    }
}

/// One worker process.
#[derive(Debug, Object)]
#[oai(rename = "Worker")]
pub struct WorkerView {
    /// `WORKER_ID`, or host-pid.
    pub id: String,
    pub host: String,
    pub pid: i32,
    /// The kinds it runs.
    pub kinds: Vec<String>,
    /// Steps it may run at once, over all its kinds.
    pub slots: i32,
    /// Steps it was running at its last heartbeat.
    pub in_flight: i32,
    pub version: String,
    pub liveness: LivenessView,
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    #[oai(nullable)]
    pub stopped_at: Option<DateTime<Utc>>,
}

impl From<WorkerRecord> for WorkerView {
    fn from(worker: WorkerRecord) -> Self {
        Self {
            id: worker.id,
            host: worker.host,
            pid: worker.pid,
            kinds: worker.kinds,
            slots: worker.slots,
            in_flight: worker.in_flight,
            version: worker.version,
            liveness: worker.liveness.into(),
            started_at: worker.started_at,
            last_seen_at: worker.last_seen_at,
            stopped_at: worker.stopped_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct WorkerList {
    /// The alive first, then the stopped and the vanished, by id.
    pub items: Vec<WorkerView>,
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum WorkersResponse {
    #[oai(status = 200)]
    Ok(Json<WorkerList>),
}

#[OpenApi(tag = "ApiTags::Operations")]
impl QueueWorkersApi {
    /// List the workers
    ///
    /// Every worker seen in the last day: alive, stopped cleanly, or
    /// vanished (silent for 15 s without stopping). Needs the `admin` scope.
    #[oai(
        path = "/v1/queue/workers",
        method = "get",
        operation_id = "listWorkers"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
    ) -> Result<WorkersResponse, ErrorResponse> {
        auth.0.require(Scope::Admin)?;
        let mut conn = Session::acquire(&state.pool).await?;
        let items = workers::list(&mut conn).await?;
        Ok(WorkersResponse::Ok(Json(WorkerList {
            items: items.into_iter().map(WorkerView::from).collect(),
        })))
    }
}
