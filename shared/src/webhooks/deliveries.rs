//! Deliveries: one per (event, endpoint), queued by the database with the
//! event, and every request made for each. What the sender reads and
//! writes, and what the API lists and re-sends.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::DELIVER_KIND;
use crate::events::OrderEvent;
use crate::queue::{self, NewTask, QueueError};

/// Attempts a delivery task may have: the retry schedule ends a delivery
/// long before (see the `webhooks` migration).
const TASK_MAX_ATTEMPTS: i32 = 1000;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not yet answered with a 2xx, and still being tried.
    Pending,
    Succeeded,
    /// Given up: the schedule ran out, the endpoint answered 410, or it was
    /// disabled. Can be re-sent by hand.
    Failed,
}

/// One delivery, with every request made for it, oldest first.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub endpoint_id: Uuid,
    /// The event's public id.
    pub event_id: i64,
    pub event_type: String,
    pub order_id: Uuid,
    pub state: DeliveryState,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub attempts: Vec<DeliveryAttempt>,
}

/// One request made for a delivery.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct DeliveryAttempt {
    pub at: DateTime<Utc>,
    /// `None` when no answer came.
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
    /// The start of the answer's body.
    pub response_body: Option<String>,
}

/// What the sender needs for one delivery.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub delivery_id: i64,
    pub state: DeliveryState,
    pub endpoint_id: Uuid,
    pub url: String,
    pub enabled: bool,
    /// The secrets that sign: the current one, then the previous one while
    /// its overlap lasts.
    pub secrets: Vec<String>,
    pub event: OrderEvent,
    /// Whether the event is readable (below the horizon of transactions in
    /// flight), so that a merchant who pages `GET /v1/events` after its id
    /// misses nothing below it.
    pub readable: bool,
}

/// What one request came to, as recorded.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub status_code: Option<i32>,
    pub latency: Duration,
    pub error: Option<String>,
    pub response_body: Option<String>,
}

/// The delivery `id` as the sender needs it; `None` when it is gone (its
/// endpoint or its event was deleted).
pub async fn outgoing(conn: &mut PgConnection, id: i64) -> Result<Option<Outgoing>, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        SELECT d.id, d.state AS "state: DeliveryState", e.id AS endpoint_id, e.url, e.enabled,
               array_remove(ARRAY[e.secret,
                                  CASE WHEN e.previous_secret_expires_at > now()
                                       THEN e.previous_secret END], NULL) AS "secrets!",
               ev.id AS "event_id!", ev.order_id, ev.type AS event_type, ev.created_at, ev.data,
               ev.id < order_events_horizon() AS "readable!"
        FROM webhook_deliveries d
        JOIN webhook_endpoints e ON e.id = d.endpoint_id
        JOIN order_events ev ON ev.seq = d.event_seq
        WHERE d.id = $1
        "#,
        id,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| Outgoing {
        delivery_id: row.id,
        state: row.state,
        endpoint_id: row.endpoint_id,
        url: row.url,
        enabled: row.enabled,
        secrets: row.secrets,
        event: OrderEvent {
            id: row.event_id,
            order_id: row.order_id,
            event_type: row.event_type,
            created_at: row.created_at,
            order: row.data,
        },
        readable: row.readable,
    }))
}

/// Records one request made for delivery `id`.
pub async fn record_attempt(
    conn: &mut PgConnection,
    id: i64,
    attempt: &AttemptRecord,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        INSERT INTO webhook_delivery_attempts
            (delivery_id, status_code, latency_ms, error, response_body)
        VALUES ($1, $2, $3, $4, $5)
        "#,
        id,
        attempt.status_code,
        i32::try_from(attempt.latency.as_millis()).unwrap_or(i32::MAX),
        attempt.error,
        attempt.response_body,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks delivery `id` delivered, and its endpoint no longer failing.
pub async fn succeeded(conn: &mut PgConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        WITH delivered AS (
            UPDATE webhook_deliveries
            SET state = 'succeeded', finished_at = now()
            WHERE id = $1
            RETURNING endpoint_id
        )
        UPDATE webhook_endpoints
        SET failing_since = NULL
        WHERE id IN (SELECT endpoint_id FROM delivered) AND failing_since IS NOT NULL
        "#,
        id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks delivery `id` given up.
pub async fn failed(conn: &mut PgConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE webhook_deliveries SET state = 'failed', finished_at = now() WHERE id = $1 AND state = 'pending'",
        id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Notes that a delivery to `endpoint` failed. When every delivery to it has
/// failed for longer than `disable_after`, disables it and returns why.
pub async fn endpoint_failed(
    conn: &mut PgConnection,
    endpoint: Uuid,
    disable_after: Duration,
) -> Result<Option<String>, sqlx::Error> {
    let reason = format!(
        "every delivery failed for more than {} hours",
        disable_after.as_secs() / 3_600
    );
    let disabled = sqlx::query_scalar!(
        r#"
        UPDATE webhook_endpoints
        SET failing_since = coalesce(failing_since, now()),
            enabled = enabled AND coalesce(failing_since, now())
                                  > now() - make_interval(secs => $2),
            disabled_reason = CASE
                WHEN enabled AND coalesce(failing_since, now()) <= now() - make_interval(secs => $2)
                THEN $3 ELSE disabled_reason END
        WHERE id = $1
        RETURNING NOT enabled AND disabled_reason = $3 AS "disabled!"
        "#,
        endpoint,
        disable_after.as_secs_f64(),
        reason,
    )
    .fetch_optional(conn)
    .await?;
    Ok(disabled.unwrap_or(false).then_some(reason))
}

/// Disables `endpoint` at once, saying why (it answered 410 Gone).
pub async fn disable(
    conn: &mut PgConnection,
    endpoint: Uuid,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        UPDATE webhook_endpoints
        SET enabled = false, disabled_reason = $2, updated_at = now()
        WHERE id = $1 AND enabled
        "#,
        endpoint,
        reason,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A delivery as both reads select it, its attempts as JSON.
struct DeliveryRow {
    id: i64,
    endpoint_id: Uuid,
    event_id: i64,
    event_type: String,
    order_id: Uuid,
    state: DeliveryState,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    attempts: serde_json::Value,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = sqlx::Error;

    fn try_from(row: DeliveryRow) -> Result<Self, Self::Error> {
        Ok(Delivery {
            id: row.id,
            endpoint_id: row.endpoint_id,
            event_id: row.event_id,
            event_type: row.event_type,
            order_id: row.order_id,
            state: row.state,
            created_at: row.created_at,
            finished_at: row.finished_at,
            attempts: serde_json::from_value(row.attempts)
                .map_err(|e| sqlx::Error::Decode(e.into()))?,
        })
    }
}

/// Up to `limit` of an endpoint's deliveries before the id `before`,
/// newest first, each with its requests.
pub async fn list(
    conn: &mut PgConnection,
    endpoint: Uuid,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let rows = sqlx::query_as!(
        DeliveryRow,
        r#"
        SELECT d.id, d.endpoint_id, ev.id AS event_id, ev.type AS event_type, ev.order_id,
               d.state AS "state: DeliveryState", d.created_at, d.finished_at,
               coalesce((SELECT jsonb_agg(jsonb_build_object(
                                'at', a.at, 'status_code', a.status_code,
                                'latency_ms', a.latency_ms, 'error', a.error,
                                'response_body', a.response_body) ORDER BY a.id)
                         FROM webhook_delivery_attempts a
                         WHERE a.delivery_id = d.id), '[]'::jsonb) AS "attempts!"
        FROM webhook_deliveries d
        JOIN order_events ev ON ev.seq = d.event_seq
        WHERE d.endpoint_id = $1 AND ($2::bigint IS NULL OR d.id < $2)
        ORDER BY d.id DESC
        LIMIT $3
        "#,
        endpoint,
        before,
        limit,
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Delivery::try_from).collect()
}

/// Every delivery of the order `order`'s events, to any endpoint, newest
/// first, up to `limit`.
pub async fn of_order(
    conn: &mut PgConnection,
    order: Uuid,
    limit: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let rows = sqlx::query_as!(
        DeliveryRow,
        r#"
        SELECT d.id, d.endpoint_id, ev.id AS event_id, ev.type AS event_type, ev.order_id,
               d.state AS "state: DeliveryState", d.created_at, d.finished_at,
               coalesce((SELECT jsonb_agg(jsonb_build_object(
                                'at', a.at, 'status_code', a.status_code,
                                'latency_ms', a.latency_ms, 'error', a.error,
                                'response_body', a.response_body) ORDER BY a.id)
                         FROM webhook_delivery_attempts a
                         WHERE a.delivery_id = d.id), '[]'::jsonb) AS "attempts!"
        FROM order_events ev
        JOIN webhook_deliveries d ON d.event_seq = ev.seq
        -- `id IS NOT NULL` (always true) lets the planner use the order's
        -- partial index.
        WHERE ev.order_id = $1 AND ev.id IS NOT NULL
        ORDER BY d.id DESC
        LIMIT $2
        "#,
        order,
        limit,
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Delivery::try_from).collect()
}

/// One delivery of `endpoint`, with its requests.
pub async fn get(
    conn: &mut PgConnection,
    endpoint: Uuid,
    id: i64,
) -> Result<Option<Delivery>, sqlx::Error> {
    let found = list(conn, endpoint, id.checked_add(1), 1).await?;
    Ok(found.into_iter().find(|d| d.id == id))
}

/// Queues delivery `id` of `endpoint` again, now, whatever became of it
/// (pending ones get a second task: a receiver must cope with duplicates
/// anyway). Returns `false` when there is no such delivery.
pub async fn resend(conn: &mut PgConnection, endpoint: Uuid, id: i64) -> Result<bool, QueueError> {
    let found = sqlx::query_scalar!(
        r#"
        UPDATE webhook_deliveries
        SET state = 'pending', finished_at = NULL
        WHERE id = $1 AND endpoint_id = $2
        RETURNING id
        "#,
        id,
        endpoint,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if found.is_none() {
        return Ok(false);
    }
    let task = NewTask::new(DELIVER_KIND, json!({ "delivery_id": id }))
        .max_attempts(TASK_MAX_ATTEMPTS)
        // The key the `webhooks` migration's trigger gives a delivery.
        .concurrency_key(format!("webhook-endpoint:{endpoint}"));
    queue::enqueue(conn, &task).await?;
    Ok(true)
}
