//! Stream tokens: `st_` + 128 random bits, minted with an API key for one
//! order, for a browser's `EventSource` to follow that order's events
//! (`?token=st_…`), since a browser cannot set an Authorization header on
//! one. A token reads one order's events and nothing else, expires, and
//! dies with the key that minted it; only its SHA-256 is stored.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::keys::{random_secret_hex, secret_hash};

const PREFIX: &str = "st_";

/// A token just minted: shown this once.
#[derive(Debug, Clone)]
pub struct MintedToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Mints a token for `order` with the key `api_key`, good for `ttl`.
pub async fn mint(
    conn: &mut PgConnection,
    order: Uuid,
    api_key: Uuid,
    ttl: Duration,
) -> Result<MintedToken, sqlx::Error> {
    let token = format!("{PREFIX}{}", random_secret_hex());
    let expires_at = sqlx::query_scalar!(
        r#"
        INSERT INTO stream_tokens (token_hash, order_id, api_key_id, expires_at)
        VALUES ($1, $2, $3, now() + make_interval(secs => $4))
        RETURNING expires_at
        "#,
        secret_hash(&token),
        order,
        api_key,
        ttl.as_secs_f64(),
    )
    .fetch_one(conn)
    .await?;
    Ok(MintedToken { token, expires_at })
}

/// The order a live token is good for; `None` for an unknown or expired
/// token, or one whose key was revoked.
pub async fn order_of(conn: &mut PgConnection, token: &str) -> Result<Option<Uuid>, sqlx::Error> {
    if !token.starts_with(PREFIX) {
        return Ok(None);
    }
    sqlx::query_scalar!(
        r#"
        SELECT t.order_id
        FROM stream_tokens t
        JOIN api_keys k ON k.id = t.api_key_id
        WHERE t.token_hash = $1 AND t.expires_at > now() AND k.revoked_at IS NULL
        "#,
        secret_hash(token),
    )
    .fetch_optional(conn)
    .await
}

/// Deletes tokens that expired; returns how many.
pub async fn delete_expired(conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query!("DELETE FROM stream_tokens WHERE expires_at <= now()")
        .execute(conn)
        .await?;
    Ok(deleted.rows_affected())
}
