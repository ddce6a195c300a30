//! Sending webhooks: the `deliver_webhook` step ([`sender`]), the settings
//! it runs with ([`config`]), and the resolver that keeps its requests off
//! private addresses ([`resolver`]).
//!
//! Deliveries run in a lane of their own (`WEBHOOK_CONCURRENCY` slots per
//! worker process, apart from the saga's), and a claim takes at most
//! `WEBHOOK_ENDPOINT_CONCURRENCY` deliveries to one endpoint while others
//! to it run: a slow or dead endpoint, or one with a long backlog, slows
//! neither the saga nor the other endpoints.

mod config;
mod resolver;
mod sender;

pub use config::{RetrySchedule, UrlPolicyArgs, WebhookConfig};
pub use sender::WebhookSender;

use crate::{Registry, Worker};

/// Registers the sender for [`shared::webhooks::DELIVER_KIND`].
pub fn register(
    registry: &mut Registry,
    config: &WebhookConfig,
    urls: &UrlPolicyArgs,
) -> Result<(), reqwest::Error> {
    let sender = WebhookSender::new(config, urls.policy())?;
    registry.register(shared::webhooks::DELIVER_KIND, sender);
    Ok(())
}

/// Gives deliveries their own lane of `WEBHOOK_CONCURRENCY` slots, at most
/// `WEBHOOK_ENDPOINT_CONCURRENCY` of them to one endpoint (each delivery's
/// concurrency key is its endpoint).
pub fn lane(worker: Worker, config: &WebhookConfig) -> Worker {
    worker.with_lane(
        "webhooks",
        &[shared::webhooks::DELIVER_KIND],
        config.concurrency,
        Some(config.endpoint_concurrency),
        // Deliveries are queued with their event, which notifies no one.
        LANE_POLL,
    )
}

/// How often the webhook lane looks for deliveries when nothing wakes it.
const LANE_POLL: std::time::Duration = std::time::Duration::from_millis(250);
