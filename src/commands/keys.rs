//! `asynccheckout keys create|list|revoke|set-limit`: API key management.

use anyhow::{Context, bail};
use secrecy::ExposeSecret;
use shared::db::Session;
use shared::keys::{self, Scope};
use sqlx::PgPool;

use crate::cli::{BootstrapKey, DatabaseArgs, KeysAction};
use crate::database;

pub async fn run(args: DatabaseArgs, action: KeysAction) -> anyhow::Result<()> {
    let db = database::open(&args, "asynccheckout-keys").await?;
    let mut conn = Session::acquire(&db.pool).await?;
    match action {
        KeysAction::Create {
            name,
            scopes,
            limit,
        } => {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 100 {
                bail!("--name must be 1 to 100 characters");
            }
            let created = keys::create(&mut conn, name, &scopes, limit.limit()).await?;
            conn.finish().await?;
            println!("id:     {}", created.key.id);
            println!("name:   {}", created.key.name);
            println!("scopes: {}", scope_list(&created.key.scopes));
            println!("limit:  {}", limit_text(created.key.rate_limit));
            println!("key:    {}", created.secret);
            eprintln!("Store the key now: it is shown only this once.");
        }
        KeysAction::List => {
            println!(
                "{:<36}  {:<12}  {:<20}  {:<40}  {:<22}  {:<25}  revoked",
                "id", "prefix", "name", "scopes", "rate limit", "created"
            );
            for key in keys::list(&mut conn).await? {
                println!(
                    "{:<36}  {:<12}  {:<20}  {:<40}  {:<22}  {:<25}  {}",
                    key.id,
                    key.prefix,
                    key.name,
                    scope_list(&key.scopes),
                    limit_text(key.rate_limit),
                    key.created_at.to_rfc3339(),
                    key.revoked_at
                        .map(|at| at.to_rfc3339())
                        .unwrap_or_else(|| "-".to_owned()),
                );
            }
        }
        KeysAction::Revoke { id } => {
            if !keys::revoke(&mut conn, id).await? {
                bail!("no live key has id {id} (see `asynccheckout keys list`)");
            }
            conn.finish().await?;
            println!("revoked {id}");
        }
        KeysAction::SetLimit { id, limit, .. } => {
            let limit = limit.limit();
            if !keys::set_rate_limit(&mut conn, id, limit).await? {
                bail!("no live key has id {id} (see `asynccheckout keys list`)");
            }
            conn.finish().await?;
            println!("{id}: rate limit {}", limit_text(limit));
        }
    }
    Ok(())
}

fn limit_text(limit: Option<keys::RateLimit>) -> String {
    match limit {
        Some(limit) => limit.to_string(),
        None => "the API's default".to_owned(),
    }
}

fn scope_list(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Registers `BOOTSTRAP_ADMIN_KEY`, when given, as an admin key. Returns it.
pub async fn register_bootstrap(
    pool: &PgPool,
    bootstrap: &BootstrapKey,
) -> anyhow::Result<Option<String>> {
    let Some(secret) = &bootstrap.bootstrap_admin_key else {
        return Ok(None);
    };
    let secret = secret.expose_secret();
    if secret.len() < 32 || !secret.bytes().all(|b| b.is_ascii_graphic()) {
        bail!(
            "BOOTSTRAP_ADMIN_KEY must be at least 32 printable characters without spaces (128 random bits or more)"
        );
    }
    let mut conn = Session::acquire(pool).await?;
    keys::ensure_bootstrap(&mut conn, secret)
        .await
        .context("registering BOOTSTRAP_ADMIN_KEY failed")?;
    conn.finish()
        .await
        .context("registering BOOTSTRAP_ADMIN_KEY failed")?;
    tracing::info!("BOOTSTRAP_ADMIN_KEY is registered as the admin key named bootstrap");
    Ok(Some(secret.to_owned()))
}
