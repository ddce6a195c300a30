//! Sending webhooks: the `deliver_webhook` step ([`sender`]), the settings
//! it runs with ([`config`]), and the resolver that keeps its requests off
//! private addresses ([`resolver`]).
//!
//! Deliveries run in a lane of their own (`WEBHOOK_CONCURRENCY` slots per
//! worker process, apart from the saga's), and at most
//! `WEBHOOK_ENDPOINT_CONCURRENCY` at once per endpoint per process: a slow
//! or dead endpoint slows neither the saga nor the other endpoints.

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

/// Gives deliveries their own lane of `WEBHOOK_CONCURRENCY` slots.
pub fn lane(worker: Worker, config: &WebhookConfig) -> Worker {
    worker.with_lane(
        "webhooks",
        &[shared::webhooks::DELIVER_KIND],
        config.concurrency,
    )
}
