//! The `deliver_webhook` step: one POST of one event to one endpoint,
//! signed as Standard Webhooks says, its answer recorded, and its failure
//! retried on the webhook schedule (or after the `Retry-After` an endpoint
//! asked for), until the endpoint is disabled or the schedule runs out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use shared::db::Session;
use shared::queue::{ClaimedTask, NewTask};
use shared::webhooks::deliveries::{self, AttemptRecord, DeliveryState, Outgoing};
use shared::webhooks::signature::signature_header;
use shared::webhooks::url_policy::UrlPolicy;
use sqlx::PgConnection;

use super::WebhookConfig;
use super::config::RetrySchedule;
use super::resolver::PolicyResolver;
use crate::{StepContext, StepError, StepHandler};

/// How much of an answer's body is kept with the attempt.
const KEPT_BODY_BYTES: usize = 1_024;

/// The longest `Retry-After` honoured; a longer one waits this long.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// How long a delivery waits for its event to become readable before it
/// gives the slot back and tries again later (far under a task's lease).
const READABLE_WITHIN: Duration = Duration::from_secs(5);

/// How often it looks meanwhile.
const READABLE_LOOK_EVERY: Duration = Duration::from_millis(10);

pub struct WebhookSender {
    client: reqwest::Client,
    policy: UrlPolicy,
    schedule: RetrySchedule,
    disable_after: Duration,
}

/// How one request ended.
enum Answer {
    Delivered,
    /// The endpoint is gone for good (410): disable it.
    Gone,
    /// Try again, not before `at_least` if the endpoint said so.
    Failed {
        error: String,
        at_least: Option<Duration>,
    },
}

impl WebhookSender {
    pub fn new(config: &WebhookConfig, policy: UrlPolicy) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout())
            .connect_timeout(config.timeout())
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(PolicyResolver { policy }))
            .user_agent(concat!(
                "AsyncCheckout-Webhooks/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()?;
        Ok(Self {
            client,
            policy,
            schedule: config.retry_schedule.clone(),
            disable_after: config.disable_after,
        })
    }

    /// The delivery, with its event, once the event is readable: a webhook
    /// is sent only when every transaction that could still write an event
    /// with a smaller id has ended (milliseconds), so a merchant who pages
    /// `GET /v1/events` after a webhook's id misses nothing. No connection is
    /// held while it waits.
    async fn outgoing(&self, ctx: &StepContext, id: i64) -> Result<Option<Outgoing>, StepError> {
        let until = Instant::now() + READABLE_WITHIN;
        loop {
            let outgoing =
                deliveries::outgoing(&mut *Session::acquire(ctx.pool()).await?, id).await?;
            match outgoing {
                Some(outgoing) if !outgoing.readable => {
                    if Instant::now() >= until {
                        return Err(StepError::retryable(
                            "the event is not readable yet: a transaction that began writing \
                             before it is still open (see asynccheckout_event_horizon_held_seconds)",
                        ));
                    }
                    tokio::time::sleep(READABLE_LOOK_EVERY).await;
                }
                outgoing => return Ok(outgoing),
            }
        }
    }

    /// One signed POST, with no connection held while it waits; what it
    /// came to, and the attempt to record.
    async fn send(&self, outgoing: &Outgoing) -> Result<(AttemptRecord, Answer), StepError> {
        let event = &outgoing.event;
        let body = serde_json::to_vec(&event.to_json()).map_err(|e| {
            StepError::permanent(format!("the event cannot be written as JSON: {e}"))
        })?;
        let msg_id = event.id.to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let secrets: Vec<&str> = outgoing.secrets.iter().map(String::as_str).collect();
        let signature =
            signature_header(&secrets, &msg_id, timestamp, &body).map_err(StepError::permanent)?;

        let started = Instant::now();
        let sent = self
            .client
            .post(&outgoing.url)
            .header("webhook-id", &msg_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let (record, answer) = match sent {
            Ok(response) => {
                let status = response.status();
                let retry_after = retry_after(status, response.headers());
                let response_body = start_of_body(response).await;
                let answer = if status.is_success() {
                    Answer::Delivered
                } else if status == StatusCode::GONE {
                    Answer::Gone
                } else {
                    Answer::Failed {
                        error: format!("the endpoint answered {status}"),
                        at_least: retry_after,
                    }
                };
                let record = AttemptRecord {
                    status_code: Some(i32::from(status.as_u16())),
                    latency: started.elapsed(),
                    error: None,
                    response_body: Some(response_body),
                };
                (record, answer)
            }
            Err(e) => {
                let error = describe(&e);
                let record = AttemptRecord {
                    status_code: None,
                    latency: started.elapsed(),
                    error: Some(error.clone()),
                    response_body: None,
                };
                let answer = Answer::Failed {
                    error,
                    at_least: None,
                };
                (record, answer)
            }
        };
        Ok((record, answer))
    }
}

#[async_trait]
impl StepHandler for WebhookSender {
    async fn run(&self, task: &ClaimedTask, ctx: &StepContext) -> Result<(), StepError> {
        let id = delivery_id(&task.payload)?;
        let Some(outgoing) = self.outgoing(ctx, id).await? else {
            // Its endpoint or its event was deleted: nothing to send.
            return Ok(());
        };
        if outgoing.state != DeliveryState::Pending {
            return Ok(());
        }
        if !outgoing.enabled {
            fail_unsent(ctx, id).await?;
            tracing::info!(delivery = id, "not sent: the endpoint is disabled");
            return Ok(());
        }
        if let Err(refused) = self.policy.check_syntax(&outgoing.url) {
            fail_unsent(ctx, id).await?;
            return Err(StepError::permanent(refused));
        }
        let (record, answer) = self.send(&outgoing).await?;
        // The attempt and what it leads to are written together.
        let mut conn = Session::acquire(ctx.pool()).await?;
        deliveries::record_attempt(&mut conn, outgoing.delivery_id, &record).await?;
        let verdict = match answer {
            Answer::Delivered => {
                deliveries::succeeded(&mut conn, id).await?;
                Ok(())
            }
            Answer::Gone => {
                let reason = "the endpoint answered 410 Gone";
                deliveries::disable(&mut conn, outgoing.endpoint_id, reason).await?;
                deliveries::failed(&mut conn, id).await?;
                tracing::warn!(endpoint = %outgoing.endpoint_id, "webhook endpoint disabled: {reason}");
                Err(StepError::permanent(reason))
            }
            Answer::Failed { error, at_least } => {
                let disabled = deliveries::endpoint_failed(
                    &mut conn,
                    outgoing.endpoint_id,
                    self.disable_after,
                )
                .await?;
                if let Some(reason) = disabled {
                    deliveries::failed(&mut conn, id).await?;
                    tracing::warn!(endpoint = %outgoing.endpoint_id, "webhook endpoint disabled: {reason}");
                    Err(StepError::permanent(format!(
                        "{error}; endpoint disabled: {reason}"
                    )))
                } else {
                    match self.schedule.after(task.attempt) {
                        Some(wait) => Err(StepError::retryable_after(
                            error,
                            at_least.map_or(wait, |asked| asked.max(wait)),
                        )),
                        None => {
                            deliveries::failed(&mut conn, id).await?;
                            Err(StepError::permanent(format!(
                                "{error}; gave up after {} attempts",
                                task.attempt
                            )))
                        }
                    }
                }
            }
        };
        conn.finish().await?;
        verdict
    }

    /// A delivery whose task died another way (its last lease lost) has failed.
    async fn on_dead(
        &self,
        payload: &serde_json::Value,
        _error: &str,
        conn: &mut PgConnection,
    ) -> Result<Option<NewTask>, StepError> {
        if let Ok(id) = delivery_id(payload) {
            deliveries::failed(conn, id).await?;
        }
        Ok(None)
    }
}

/// Marks delivery `id` failed without sending it.
async fn fail_unsent(ctx: &StepContext, id: i64) -> Result<(), StepError> {
    let mut conn = Session::acquire(ctx.pool()).await?;
    deliveries::failed(&mut conn, id).await?;
    Ok(conn.finish().await?)
}

fn delivery_id(payload: &serde_json::Value) -> Result<i64, StepError> {
    payload["delivery_id"].as_i64().ok_or_else(|| {
        StepError::permanent(format!(
            "payload.delivery_id must be a number, not {}",
            payload["delivery_id"]
        ))
    })
}

/// The wait a 429 or 503 asked for, in seconds or as an HTTP date.
fn retry_after(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
                .to_std()
                .ok()?
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The first [`KEPT_BODY_BYTES`] of an answer, as text.
async fn start_of_body(mut response: reqwest::Response) -> String {
    let mut kept = Vec::new();
    while kept.len() < KEPT_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
            _ => break,
        }
    }
    kept.truncate(KEPT_BODY_BYTES);
    String::from_utf8_lossy(&kept).into_owned()
}

/// A request error with its causes: "timed out", "connection refused", …
fn describe(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "no answer within the timeout"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    };
    format!("{what}: {}", shared::error_chain::describe(error))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn retry_after_is_read_on_429_and_503_only() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(
            retry_after(StatusCode::TOO_MANY_REQUESTS, &headers),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(StatusCode::SERVICE_UNAVAILABLE, &headers),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(StatusCode::INTERNAL_SERVER_ERROR, &headers),
            None
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("9999999"));
        assert_eq!(
            retry_after(StatusCode::SERVICE_UNAVAILABLE, &headers),
            Some(MAX_RETRY_AFTER)
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(StatusCode::SERVICE_UNAVAILABLE, &headers), None);
    }
}
