//! Console sessions: what a browser holds after signing in to `/ui` with
//! an API key, instead of the key. The session token is 128 random bits,
//! stored only as its SHA-256; each session has a CSRF token of its own
//! that every form sends back. A session ends when it expires, when its
//! holder signs out, or when its key is revoked.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::store::scopes_of;
use super::{Scope, random_secret_hex, secret_hash};

/// A session just started: its token goes in the cookie, shown this once.
#[derive(Debug, Clone)]
pub struct StartedSession {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// A live session, as a request finds it.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// The name of the key it was started with.
    pub key_name: String,
    pub scopes: Vec<Scope>,
    /// What its forms must send back.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

impl ConsoleSession {
    /// Whether it may act (retry, pause, resume), not only look.
    pub fn can_act(&self) -> bool {
        Scope::Admin.granted_by(&self.scopes)
    }
}

/// Starts a session for the key `api_key`, good for `ttl`.
pub async fn start(
    conn: &mut PgConnection,
    api_key: Uuid,
    ttl: Duration,
) -> Result<StartedSession, sqlx::Error> {
    let token = random_secret_hex();
    let expires_at = sqlx::query_scalar!(
        r#"
        INSERT INTO console_sessions (token_hash, api_key_id, csrf_token, expires_at)
        VALUES ($1, $2, $3, now() + make_interval(secs => $4))
        RETURNING expires_at
        "#,
        secret_hash(&token),
        api_key,
        random_secret_hex(),
        ttl.as_secs_f64(),
    )
    .fetch_one(conn)
    .await?;
    Ok(StartedSession { token, expires_at })
}

/// The live session of `token`; `None` for an unknown, expired or ended
/// one, or one whose key was revoked.
pub async fn find(
    conn: &mut PgConnection,
    token: &str,
) -> Result<Option<ConsoleSession>, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        SELECT k.name, k.scopes, s.csrf_token, s.expires_at
        FROM console_sessions s
        JOIN api_keys k ON k.id = s.api_key_id
        WHERE s.token_hash = $1 AND s.expires_at > now() AND k.revoked_at IS NULL
        "#,
        secret_hash(token),
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| ConsoleSession {
        key_name: row.name,
        scopes: scopes_of(row.scopes),
        csrf_token: row.csrf_token,
        expires_at: row.expires_at,
    }))
}

/// Ends the session of `token` (sign-out).
pub async fn end(conn: &mut PgConnection, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM console_sessions WHERE token_hash = $1",
        secret_hash(token)
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes sessions that expired; returns how many.
pub async fn delete_expired(conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query!("DELETE FROM console_sessions WHERE expires_at <= now()")
        .execute(conn)
        .await?;
    Ok(deleted.rows_affected())
}
