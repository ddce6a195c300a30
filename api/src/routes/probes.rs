//! `/healthz` and `/readyz`.

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use crate::AppState;

pub struct ProbesApi;

#[derive(Debug, Object)]
pub struct ProbeStatus {
    /// `ok`, or what is wrong.
    pub status: String,
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum ReadyResponse {
    /// The database answers and its schema is current.
    #[oai(status = 200)]
    Ready(Json<ProbeStatus>),
    /// Not ready: the database is unreachable, migrations are pending, or the
    /// process has nearly as many connections open as it allows.
    #[oai(status = 503)]
    NotReady(Json<ProbeStatus>),
}

#[OpenApi(tag = "ApiTags::Probes")]
impl ProbesApi {
    /// Liveness
    ///
    /// 200 while the process serves requests.
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> Json<ProbeStatus> {
        Json(ProbeStatus {
            status: "ok".to_owned(),
        })
    }

    /// Readiness
    ///
    /// 200 when the database answers and every migration this build expects
    /// has been applied; 503 otherwise, and also while the process has 90% or
    /// more of its connection cap (MAX_CONNECTIONS) open, so that a load
    /// balancer sends new clients to another process.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, state: Data<&AppState>) -> ReadyResponse {
        let connections = &state.open_connections;
        if connections.near_the_cap() {
            return ReadyResponse::NotReady(Json(ProbeStatus {
                status: format!(
                    "near the connection cap: {} of {} connections open (MAX_CONNECTIONS)",
                    connections.open(),
                    connections.cap()
                ),
            }));
        }
        match shared::db::migrations_are_current(&state.pool).await {
            Ok(true) => ReadyResponse::Ready(Json(ProbeStatus {
                status: "ok".to_owned(),
            })),
            Ok(false) => ReadyResponse::NotReady(Json(ProbeStatus {
                status: "database migrations are pending".to_owned(),
            })),
            Err(e) => {
                tracing::warn!(error = %e, "readiness check: database unreachable");
                ReadyResponse::NotReady(Json(ProbeStatus {
                    status: "database unreachable".to_owned(),
                }))
            }
        }
    }
}
