//! Bearer API keys: who is calling, and may they.
//!
//! [`ApiKeyAuth`] is the OpenAPI security scheme (so Swagger UI's
//! "Authorize" works): poem-openapi hands it the bearer token, and
//! [`authenticate`] finds the live key by the token's hash. No token, or an
//! unknown or revoked one: 401 with `WWW-Authenticate: Bearer`. A handler
//! then asks [`Caller::require`] for the scope it needs: 403 without it.

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use shared::keys::{self, ApiKey, Scope};

use super::error::{ApiError, ErrorResponse};
use super::problem::ProblemType;
use super::raw_problem::unauthorized;
use crate::AppState;

/// `Authorization: Bearer <API key>`.
#[derive(Debug, SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "API key (ak_…)",
    checker = "authenticate"
)]
pub struct ApiKeyAuth(pub Caller);

/// The key a request was made with.
#[derive(Debug, Clone)]
pub struct Caller(pub ApiKey);

impl Caller {
    /// `Ok` when the key holds `scope` (or `admin`), else a 403.
    pub fn require(&self, scope: Scope) -> Result<(), ErrorResponse> {
        if scope.granted_by(&self.0.scopes) {
            return Ok(());
        }
        Err(ApiError::problem(
            ProblemType::Forbidden,
            format!(
                "the API key {:?} lacks the {scope} scope this operation needs",
                self.0.name
            ),
        )
        .into())
    }

    /// Whose idempotency keys these are.
    pub fn idempotency_scope(&self) -> String {
        self.0.id.to_string()
    }
}

async fn authenticate(req: &Request, bearer: Bearer) -> poem::Result<Caller> {
    let state = req
        .data::<AppState>()
        .ok_or_else(|| poem::Error::from_response(unauthorized("the server has no key store")))?;
    let mut conn = state.pool.acquire().await.map_err(internal)?;
    match keys::authenticate(&mut conn, &bearer.token)
        .await
        .map_err(internal)?
    {
        Some(key) => Ok(Caller(key)),
        None => Err(poem::Error::from_response(unauthorized(
            "the API key is unknown or revoked; send a valid key as Authorization: Bearer <key>",
        ))),
    }
}

fn internal(error: sqlx::Error) -> poem::Error {
    let response: ErrorResponse = ApiError::from(error).into();
    poem::Error::from_response(poem::IntoResponse::into_response(response))
}
