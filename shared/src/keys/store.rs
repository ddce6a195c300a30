//! Creating, finding, listing and revoking API keys.

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
}

/// A row of `api_keys` as read, before its scopes are parsed.
struct KeyRow {
    id: Uuid,
    name: String,
    prefix: String,
    scopes: Vec<String>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
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

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

fn scopes_of(stored: Vec<String>) -> Vec<Scope> {
    stored.iter().filter_map(|s| s.parse().ok()).collect()
}

fn texts(scopes: &[Scope]) -> Vec<String> {
    let mut texts: Vec<String> = scopes.iter().map(|s| s.as_str().to_owned()).collect();
    texts.sort();
    texts.dedup();
    texts
}

/// Creates a key named `name` with `scopes` from 128 fresh random bits.
pub async fn create(
    conn: &mut PgConnection,
    name: &str,
    scopes: &[Scope],
) -> Result<NewKey, sqlx::Error> {
    let mut bits = [0u8; 16];
    rand::rng().fill_bytes(&mut bits);
    let secret = format!(
        "{SECRET_PREFIX}{}",
        bits.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let key = insert(conn, name, &secret, scopes).await?;
    Ok(NewKey { key, secret })
}

async fn insert(
    conn: &mut PgConnection,
    name: &str,
    secret: &str,
    scopes: &[Scope],
) -> Result<ApiKey, sqlx::Error> {
    let prefix: String = secret
        .chars()
        .take(SECRET_PREFIX.len() + SHOWN_CHARS)
        .collect();
    let row = sqlx::query_as!(
        KeyRow,
        r#"
        INSERT INTO api_keys (id, name, prefix, secret_hash, scopes)
        VALUES ($1, $2, $3, $4, $5)
        RETURNING id, name, prefix, scopes, created_at, revoked_at
        "#,
        Uuid::now_v7(),
        name,
        prefix,
        hash(secret),
        &texts(scopes),
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
        hash(secret)
    )
    .fetch_one(&mut *conn)
    .await?;
    if !known {
        match insert(conn, "bootstrap", secret, &[Scope::Admin]).await {
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
        r#"SELECT id, name, prefix, scopes, created_at, revoked_at
           FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL"#,
        hash(secret)
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(ApiKey::from))
}

/// Every key, newest first, revoked ones included.
pub async fn list(conn: &mut PgConnection) -> Result<Vec<ApiKey>, sqlx::Error> {
    let rows = sqlx::query_as!(
        KeyRow,
        "SELECT id, name, prefix, scopes, created_at, revoked_at FROM api_keys ORDER BY created_at DESC, id DESC"
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
