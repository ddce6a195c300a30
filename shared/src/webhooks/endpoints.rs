//! Webhook endpoints in the database: create (the secret is returned once),
//! read, change, delete, and rotate the secret. No read but the sender's
//! returns a secret.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::signature::new_secret;

/// An endpoint as the API shows it: everything but its secrets.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEndpoint {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// The event types sent to it; empty is every type.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why it is disabled, when it is.
    pub disabled_reason: Option<String>,
    /// Until when the secret before the last rotation still signs.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Since when every delivery has failed; `None` after a success.
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a new endpoint is given.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
}

/// A change to an endpoint: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// Enabling clears the reason it was disabled and its failing streak.
    pub enabled: Option<bool>,
}

/// The reason written when an endpoint is disabled over the API.
pub const DISABLED_BY_HAND: &str = "disabled over the API";

/// Creates an endpoint; returns it with its new secret, which is shown
/// this once.
pub async fn create(
    conn: &mut PgConnection,
    new: &NewEndpoint,
) -> Result<(WebhookEndpoint, String), sqlx::Error> {
    let secret = new_secret();
    let endpoint = sqlx::query_as!(
        WebhookEndpoint,
        r#"
        INSERT INTO webhook_endpoints (id, url, description, event_types, secret)
        VALUES ($1, $2, $3, $4, $5)
        RETURNING id, url, description, event_types, enabled, disabled_reason,
                  previous_secret_expires_at, failing_since, created_at, updated_at
        "#,
        Uuid::now_v7(),
        new.url,
        new.description,
        &new.event_types,
        secret,
    )
    .fetch_one(conn)
    .await?;
    Ok((endpoint, secret))
}

/// Up to `limit` endpoints after the id `after`, oldest first.
pub async fn list(
    conn: &mut PgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<WebhookEndpoint>, sqlx::Error> {
    sqlx::query_as!(
        WebhookEndpoint,
        r#"
        SELECT id, url, description, event_types, enabled, disabled_reason,
               previous_secret_expires_at, failing_since, created_at, updated_at
        FROM webhook_endpoints
        WHERE $1::uuid IS NULL OR id > $1
        ORDER BY id
        LIMIT $2
        "#,
        after,
        limit,
    )
    .fetch_all(conn)
    .await
}

pub async fn get(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<WebhookEndpoint>, sqlx::Error> {
    sqlx::query_as!(
        WebhookEndpoint,
        r#"
        SELECT id, url, description, event_types, enabled, disabled_reason,
               previous_secret_expires_at, failing_since, created_at, updated_at
        FROM webhook_endpoints
        WHERE id = $1
        "#,
        id,
    )
    .fetch_optional(conn)
    .await
}

/// Applies `change`; `None` when there is no such endpoint.
pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    change: &EndpointChange,
) -> Result<Option<WebhookEndpoint>, sqlx::Error> {
    sqlx::query_as!(
        WebhookEndpoint,
        r#"
        UPDATE webhook_endpoints
        SET url = coalesce($2, url),
            description = coalesce($3, description),
            event_types = coalesce($4, event_types),
            enabled = coalesce($5, enabled),
            disabled_reason = CASE
                WHEN $5 IS NULL THEN disabled_reason
                WHEN $5 THEN NULL
                WHEN enabled THEN $6
                ELSE disabled_reason END,
            failing_since = CASE WHEN $5 THEN NULL ELSE failing_since END,
            updated_at = now()
        WHERE id = $1
        RETURNING id, url, description, event_types, enabled, disabled_reason,
                  previous_secret_expires_at, failing_since, created_at, updated_at
        "#,
        id,
        change.url,
        change.description,
        change.event_types.as_deref(),
        change.enabled,
        DISABLED_BY_HAND,
    )
    .fetch_optional(conn)
    .await
}

/// Deletes an endpoint with its deliveries; false when there was none.
/// Delivery tasks still queued find nothing to send and complete.
pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!("DELETE FROM webhook_endpoints WHERE id = $1", id)
        .execute(conn)
        .await?;
    Ok(deleted.rows_affected() == 1)
}

/// Gives the endpoint a new secret; the current one keeps signing beside it
/// for `overlap`, so receivers can switch without missing a delivery.
/// Returns the endpoint and its new secret; `None` when there is none.
pub async fn rotate_secret(
    conn: &mut PgConnection,
    id: Uuid,
    overlap: Duration,
) -> Result<Option<(WebhookEndpoint, String)>, sqlx::Error> {
    let secret = new_secret();
    let endpoint = sqlx::query_as!(
        WebhookEndpoint,
        r#"
        UPDATE webhook_endpoints
        SET previous_secret = secret,
            previous_secret_expires_at = now() + make_interval(secs => $3),
            secret = $2,
            updated_at = now()
        WHERE id = $1
        RETURNING id, url, description, event_types, enabled, disabled_reason,
                  previous_secret_expires_at, failing_since, created_at, updated_at
        "#,
        id,
        secret,
        overlap.as_secs_f64(),
    )
    .fetch_optional(conn)
    .await?;
    Ok(endpoint.map(|endpoint| (endpoint, secret)))
}
