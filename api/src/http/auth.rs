//! Bearer API keys: who is calling, and may they.
//!
//! [`ApiKeyAuth`] is the OpenAPI security scheme (so Swagger UI's
//! "Authorize" works): poem-openapi hands it the bearer token, and
//! [`authenticate`] finds the live key by the token's hash. No token, or an
//! unknown or revoked one: 401 with `WWW-Authenticate: Bearer`. A handler
//! then asks [`Caller::require`] for the scope it needs: 403 without it.
//! A known key also takes a token from its rate limit (see
//! [`super::rate_limit`]): 429 when it has none left.

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use shared::db::Session;
use shared::keys::{self, ApiKey, Scope};

use super::error::{ApiError, ErrorResponse};
use super::problem::ProblemType;
use super::rate_limit::{Decision, DecisionSlot, rate_limited};
use super::raw_problem::unauthorized;
use crate::AppState;

/// An API key (`ak_…`), sent as `Authorization: Bearer ak_…`. In Swagger
/// UI's Authorize dialog, paste the key alone: it adds `Bearer ` itself.
#[derive(Debug, SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "API key (ak_…)",
    checker = "authenticate"
)]
pub struct ApiKeyAuth(pub Caller);

/// A stream token (`st_…`) in the query: `?token=st_…`. It lets a browser's
/// `EventSource`, which cannot set an Authorization header, follow the one
/// order it was minted for (`POST /v1/orders/{id}/stream-tokens`), and
/// nothing else.
#[derive(Debug, SecurityScheme)]
#[oai(
    ty = "api_key",
    key_name = "token",
    key_in = "query",
    checker = "check_stream_token"
)]
pub struct StreamTokenAuth(pub uuid::Uuid);

/// Who may follow an order: an API key with `orders:read`, or a stream
/// token minted for that order.
#[derive(Debug, SecurityScheme)]
pub enum OrderFollower {
    ApiKey(ApiKeyAuth),
    StreamToken(StreamTokenAuth),
}

impl OrderFollower {
    /// `Ok` when this caller may follow `order`; a 403 otherwise.
    pub fn require_order(&self, order: uuid::Uuid) -> Result<(), ErrorResponse> {
        match self {
            Self::ApiKey(key) => key.0.require(Scope::OrdersRead),
            Self::StreamToken(token) if token.0 == order => Ok(()),
            Self::StreamToken(_) => Err(ApiError::problem(
                ProblemType::Forbidden,
                "this stream token was minted for another order; mint one for this order",
            )
            .into()),
        }
    }
}

async fn check_stream_token(
    req: &Request,
    token: poem_openapi::auth::ApiKey,
) -> poem::Result<uuid::Uuid> {
    let state = req
        .data::<AppState>()
        .ok_or_else(|| poem::Error::from_response(unauthorized("the server has no key store")))?;
    let mut conn = Session::acquire(&state.pool).await.map_err(internal)?;
    shared::events::stream_tokens::order_of(&mut conn, &token.key)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            poem::Error::from_response(unauthorized(
                "the stream token is unknown or expired, or its API key was revoked; mint a new one \
                 with POST /v1/orders/{id}/stream-tokens",
            ))
        })
}

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
    if let Some(mistake) = pasting_mistake(&bearer.token) {
        return Err(poem::Error::from_response(unauthorized(mistake)));
    }
    let state = req
        .data::<AppState>()
        .ok_or_else(|| poem::Error::from_response(unauthorized("the server has no key store")))?;
    let secret_hash = keys::secret_hash(&bearer.token);
    let limiter = &state.rate_limiter;
    let slot = req.extensions().get::<DecisionSlot>();
    let refuse_or_pass = |decision: Decision, key_name: &str| {
        if let Some(slot) = slot {
            slot.record(decision);
        }
        if decision.allowed {
            return Ok(());
        }
        metrics::counter!("asynccheckout_api_rate_limited_total").increment(1);
        Err(poem::Error::from_response(rate_limited(
            key_name, &decision,
        )))
    };
    // A key over its limit is refused before it is looked up.
    if let Some((decision, key_name)) = limiter.take_known(&secret_hash) {
        refuse_or_pass(decision, &key_name)?;
    }
    let mut conn = Session::acquire(&state.pool).await.map_err(internal)?;
    match keys::authenticate(&mut conn, &bearer.token)
        .await
        .map_err(internal)?
    {
        Some(key) => {
            if let Some(decision) = limiter.found(&secret_hash, &key) {
                refuse_or_pass(decision, &key.name)?;
            }
            Ok(Caller(key))
        }
        None => {
            limiter.forget(&secret_hash);
            Err(poem::Error::from_response(unauthorized(
                "the API key is unknown or revoked; send a valid key as Authorization: Bearer <key>",
            )))
        }
    }
}

/// What is wrong with a token that was pasted with more than the key: the
/// usual slips when copying a key into Swagger UI or a client.
fn pasting_mistake(token: &str) -> Option<&'static str> {
    let lower = token.trim_start().to_ascii_lowercase();
    if lower.starts_with("bearer ") || lower == "bearer" {
        Some(
            "the Authorization header says Bearer twice; send `Authorization: Bearer ak_…` \
             (in Swagger UI's Authorize dialog, paste the key alone)",
        )
    } else if lower.starts_with("key=") {
        Some(
            "the key was sent with its `key=` label from the ready line; send the key alone, \
             as `Authorization: Bearer ak_…`",
        )
    } else {
        None
    }
}

fn internal(error: sqlx::Error) -> poem::Error {
    let response: ErrorResponse = ApiError::from(error).into();
    poem::Error::from_response(poem::IntoResponse::into_response(response))
}
