//! How webhooks are sent: every setting a flag with an environment fallback.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use shared::webhooks::url_policy::UrlPolicy;

/// Which URLs webhooks may go to; the API checks them when an endpoint is
/// saved, the worker again at each delivery.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct UrlPolicyArgs {
    /// Allow webhook URLs that resolve to loopback, private or link-local
    /// addresses (for development and tests; `dev` sets it).
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE_URLS", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private_urls: bool,

    /// Allow `http://` webhook URLs, not only `https://` (`dev` sets it).
    #[arg(long, env = "WEBHOOK_ALLOW_HTTP", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_http: bool,
}

impl UrlPolicyArgs {
    pub fn policy(&self) -> UrlPolicy {
        UrlPolicy {
            allow_http: self.webhook_allow_http,
            allow_private: self.webhook_allow_private_urls,
        }
    }
}

/// How a worker sends webhooks.
#[derive(Debug, Clone, clap::Args)]
pub struct WebhookConfig {
    /// Deliveries this process sends at once, in slots of their own (the
    /// saga's WORKER_CONCURRENCY is apart).
    #[arg(id = "webhook_concurrency", long = "webhook-concurrency", env = "WEBHOOK_CONCURRENCY", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub concurrency: u32,

    /// Deliveries sent at once to any one endpoint, counted across workers
    /// (two workers claiming at the same instant may each take this many).
    #[arg(id = "webhook_endpoint_concurrency", long = "webhook-endpoint-concurrency", env = "WEBHOOK_ENDPOINT_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub endpoint_concurrency: u32,

    /// How long an endpoint has to answer.
    #[arg(id = "webhook_timeout_secs", long = "webhook-timeout-secs", env = "WEBHOOK_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout_secs: u64,

    /// The waits before each retry of a failed delivery, e.g. `5s,5m,2h,1d`;
    /// after the last, the delivery has failed for good.
    #[arg(
        id = "webhook_retry_schedule",
        long = "webhook-retry-schedule",
        env = "WEBHOOK_RETRY_SCHEDULE",
        default_value = "5s,5m,30m,2h,5h,10h,14h,20h,24h"
    )]
    pub retry_schedule: RetrySchedule,

    /// An endpoint whose every delivery has failed for this long is
    /// disabled, with the reason (e.g. `5d`, `12h`).
    #[arg(id = "webhook_disable_after", long = "webhook-disable-after", env = "WEBHOOK_DISABLE_AFTER", default_value = "5d", value_parser = parse_duration)]
    pub disable_after: Duration,
}

impl WebhookConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

/// The waits before each retry, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<Duration>);

impl RetrySchedule {
    /// The wait after failed attempt `attempt` (from 1); `None` when the
    /// schedule has run out.
    pub fn after(&self, attempt: i32) -> Option<Duration> {
        let index = usize::try_from(attempt.checked_sub(1)?).ok()?;
        self.0.get(index).copied()
    }
}

impl FromStr for RetrySchedule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .map(|wait| parse_duration(wait.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }
}

impl fmt::Display for RetrySchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let waits: Vec<String> = self
            .0
            .iter()
            .map(|d| format!("{}s", d.as_secs_f64()))
            .collect();
        f.write_str(&waits.join(","))
    }
}

/// A duration written as a number and a unit: `250ms`, `5s`, `5m`, `2h`, `1d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .ok_or_else(|| format!("{text:?} needs a unit: ms, s, m, h or d"))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a number"))?;
    let seconds = match unit {
        "ms" => number / 1_000.0,
        "s" => number,
        "m" => number * 60.0,
        "h" => number * 3_600.0,
        "d" => number * 86_400.0,
        _ => {
            return Err(format!(
                "{text:?} has the unit {unit:?}; use ms, s, m, h or d"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_spans_about_three_days() {
        let schedule: RetrySchedule = "5s,5m,30m,2h,5h,10h,14h,20h,24h".parse().unwrap();
        let hours = |h: u64| Duration::from_secs(h * 3_600);
        let expected = [
            Duration::from_secs(5),
            Duration::from_secs(300),
            Duration::from_secs(1_800),
            hours(2),
            hours(5),
            hours(10),
            hours(14),
            hours(20),
            hours(24),
        ];
        assert_eq!(schedule.0, expected);
        let total: Duration = schedule.0.iter().sum();
        assert_eq!(total.as_secs() / 3_600, 75);
        assert_eq!(schedule.after(1), Some(Duration::from_secs(5)));
        assert_eq!(schedule.after(9), Some(Duration::from_secs(86_400)));
        assert_eq!(schedule.after(10), None);
        assert_eq!(schedule.after(0), None);
    }

    #[test]
    fn durations_need_a_known_unit() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1_500)));
        assert_eq!(parse_duration("5d"), Ok(Duration::from_secs(432_000)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5 weeks").is_err());
        assert!(parse_duration("m").is_err());
        assert!("1s,,2s".parse::<RetrySchedule>().is_err());
    }
}
