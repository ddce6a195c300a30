//! Creating, finding, listing and revoking API keys, and setting their rate
//! limits.

use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use super::Scope;

/// A key as stored: never the secret itself.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the secret.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The key's own rate limit; `None`: the API's default applies.
    pub rate_limit: Option<RateLimit>,
}

/// How fast a key may call: a token bucket refilled at `per_second` requests
/// a second that holds at most `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    per_second: u32,
    burst: u32,
}

impl RateLimit {
    /// `per_second` with a burst of `burst`, or twice the rate when unset.
    /// `None` for a zero rate or burst.
    pub fn new(per_second: u32, burst: Option<u32>) -> Option<Self> {
        let burst = burst.unwrap_or_else(|| per_second.saturating_mul(2));
        (per_second > 0 && burst > 0).then_some(Self { per_second, burst })
    }

    /// Requests a second, sustained (never 0).
    pub fn per_second(&self) -> u32 {
        self.per_second
    }

    /// Requests at once: the bucket's size (never 0).
    pub fn burst(&self) -> u32 {
        self.burst
    }

    fn from_columns(per_second: Option<i32>, burst: Option<i32>) -> Option<Self> {
        let per_second = u32::try_from(per_second?).ok()?;
        let burst = u32::try_from(burst?).ok()?;
        Self::new(per_second, Some(burst))
    }

    /// The column values (the database keeps them as `integer`).
    fn columns(limit: Option<Self>) -> (Option<i32>, Option<i32>) {
        let column = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        match limit {
            Some(limit) => (Some(column(limit.per_second)), Some(column(limit.burst))),
            None => (None, None),
        }
    }
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/s, burst {}", self.per_second, self.burst)
    }
}

/// A row of `api_keys` as read, before its scopes are parsed.
struct KeyRow {
    id: Uuid,
    name: String,
    prefix: String,
    scopes: Vec<String>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    rate_limit_per_second: Option<i32>,
    rate_limit_burst: Option<i32>,
}

impl From<KeyRow> for ApiKey {
    fn from(row: KeyRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            scopes: scopes_of(row.scopes),
            created_at: row.created_at,
            revoked_at: row.revoked_at,
            rate_limit: RateLimit::from_columns(row.rate_limit_per_second, row.rate_limit_burst),
        }
    }
}

/// A key just created: the only time its secret exists outside the caller.
#[derive(Debug)]
pub struct NewKey {
    pub key: ApiKey,
    pub secret: String,
}

const SECRET_PREFIX: &str = "ak_";
const SHOWN_CHARS: usize = 8;

/// 128 fresh random bits as 32 hex digits: the body of every secret handed
/// out (API keys, stream tokens, console sessions and their CSRF tokens).
pub fn random_secret_hex() -> String {
    let mut bits = [0u8; 16];
    rand::rng().fill_bytes(&mut bits);
    bits.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a key's secret is stored and found by: its SHA-256.
pub fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

pub(super) fn scopes_of(stored: Vec<String>) -> Vec<Scope> {
    stored.iter().filter_map(|s| s.parse().ok()).collect()
}

fn texts(scopes: &[Scope]) -> Vec<String> {
    let mut texts: Vec<String> = scopes.iter().map(|s| s.as_str().to_owned()).collect();
    texts.sort();
    texts.dedup();
    texts
}

/// Creates a key named `name` with `scopes` from 128 fresh random bits, with
/// its own `rate_limit` or (`None`) the API's default.
pub async fn create(
    conn: &mut PgConnection,
    name: &str,
    scopes: &[Scope],
    rate_limit: Option<RateLimit>,
) -> Result<NewKey, sqlx::Error> {
    let secret = format!("{SECRET_PREFIX}{}", random_secret_hex());
    let key = insert(conn, name, &secret, scopes, rate_limit).await?;
    Ok(NewKey { key, secret })
}

async fn insert(
    conn: &mut PgConnection,
    name: &str,
    secret: &str,
    scopes: &[Scope],
    rate_limit: Option<RateLimit>,
) -> Result<ApiKey, sqlx::Error> {
    let (per_second, burst) = RateLimit::columns(rate_limit);
    let prefix: String = secret
        .chars()
        .take(SECRET_PREFIX.len() + SHOWN_CHARS)
        .collect();
    let row = sqlx::query_as!(
        KeyRow,
        r#"
        INSERT INTO api_keys (id, name, prefix, secret_hash, scopes,
                              rate_limit_per_second, rate_limit_burst)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        RETURNING id, name, prefix, scopes, created_at, revoked_at,
                  rate_limit_per_second, rate_limit_burst
        "#,
        Uuid::now_v7(),
        name,
        prefix,
        secret_hash(secret),
        &texts(scopes),
        per_second,
        burst,
    )
    .fetch_one(conn)
    .await?;
    Ok(row.into())
}

/// Makes sure `secret` is an admin key named `bootstrap` (for first start,
/// from `BOOTSTRAP_ADMIN_KEY`). Does nothing when that secret is already
/// known, even if it was revoked: revoking the bootstrap key sticks.
pub async fn ensure_bootstrap(conn: &mut PgConnection, secret: &str) -> Result<(), sqlx::Error> {
    let known = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM api_keys WHERE secret_hash = $1) AS "known!""#,
        secret_hash(secret)
    )
    .fetch_one(&mut *conn)
    .await?;
    if !known {
        match insert(conn, "bootstrap", secret, &[Scope::Admin], None).await {
            Ok(_) => {}
            // Another process registered it first.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23505") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The live (unrevoked) key whose secret is `secret`.
pub async fn authenticate(
    conn: &mut PgConnection,
    secret: &str,
) -> Result<Option<ApiKey>, sqlx::Error> {
    let row = sqlx::query_as!(
        KeyRow,
        r#"SELECT id, name, prefix, scopes, created_at, revoked_at,
                  rate_limit_per_second, rate_limit_burst
           FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL"#,
        secret_hash(secret)
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(ApiKey::from))
}

/// Every key, newest first, revoked ones included.
pub async fn list(conn: &mut PgConnection) -> Result<Vec<ApiKey>, sqlx::Error> {
    let rows = sqlx::query_as!(
        KeyRow,
        "SELECT id, name, prefix, scopes, created_at, revoked_at, rate_limit_per_second, rate_limit_burst
         FROM api_keys ORDER BY created_at DESC, id DESC"
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(ApiKey::from).collect())
}

/// Revokes the key `id`; `false` when there is no such live key.
pub async fn revoke(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let revoked = sqlx::query!(
        "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
        id
    )
    .execute(conn)
    .await?;
    Ok(revoked.rows_affected() == 1)
}

/// Gives the key `id` its own `rate_limit`, or (`None`) the API's default
/// again; `false` when there is no such live key. API processes apply it
/// from the key's next request.
pub async fn set_rate_limit(
    conn: &mut PgConnection,
    id: Uuid,
    rate_limit: Option<RateLimit>,
) -> Result<bool, sqlx::Error> {
    let (per_second, burst) = RateLimit::columns(rate_limit);
    let updated = sqlx::query!(
        "UPDATE api_keys SET rate_limit_per_second = $2, rate_limit_burst = $3
         WHERE id = $1 AND revoked_at IS NULL",
        id,
        per_second,
        burst
    )
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}
