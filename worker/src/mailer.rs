//! Sending email: over SMTP (lettre) when `SMTP_URL` is set, otherwise to a
//! folder, one `.eml` file per message, for development, named after the
//! message's id (`order-<order id>.eml`, then `.2.eml`… if it is sent again)
//! so that a person finds an order's mail by its id.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::breaker::CallHealth;

/// Where confirmation emails go.
#[derive(Debug, Clone, clap::Args)]
pub struct MailConfig {
    /// SMTP server, e.g. `smtp://127.0.0.1:1025`, or `smtps://user:pass@host`.
    /// Unset: messages are written to MAIL_DIR instead.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Folder of the development transport (used when SMTP_URL is unset).
    #[arg(long, env = "MAIL_DIR", default_value = ".asynccheckout/mail")]
    pub mail_dir: PathBuf,

    /// The From address of confirmation emails.
    #[arg(
        long,
        env = "MAIL_FROM",
        default_value = "AsyncCheckout <orders@asynccheckout.localhost>"
    )]
    pub mail_from: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SMTP_URL is not a usable SMTP URL: {0}")]
    BadSmtpUrl(#[source] lettre::transport::smtp::Error),
    #[error("MAIL_FROM {0:?} is not an email address")]
    BadFrom(String),
    #[error("cannot create the mail folder {0}: {1}")]
    Folder(PathBuf, #[source] std::io::Error),
    #[error("the message could not be built: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("the SMTP server did not take the message: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("the message could not be written to {0}: {1}")]
    File(PathBuf, #[source] std::io::Error),
}

/// The configured transport and sender.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    pub from: Mailbox,
    /// Where every SMTP call's outcome is recorded, for the circuit breaker.
    health: Option<Arc<CallHealth>>,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(PathBuf),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Mailer {
    pub fn new(config: &MailConfig) -> Result<Self, MailError> {
        let from = config
            .mail_from
            .parse()
            .map_err(|_| MailError::BadFrom(config.mail_from.clone()))?;
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(MailError::BadSmtpUrl)?
                    .timeout(Some(Duration::from_secs(15)))
                    .build(),
            ),
            None => {
                std::fs::create_dir_all(&config.mail_dir)
                    .map_err(|e| MailError::Folder(config.mail_dir.clone(), e))?;
                Transport::Folder(config.mail_dir.clone())
            }
        };
        Ok(Self {
            transport,
            from,
            health: None,
        })
    }

    /// Records the outcome of every SMTP call in `health` (see
    /// [`crate::breaker`]): a refusal is an answer; no answer, or a
    /// transient one, is a failure.
    pub fn with_health(self, health: Arc<CallHealth>) -> Self {
        Self {
            health: Some(health),
            ..self
        }
    }

    /// Where messages go, for the log (never the SMTP credentials).
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "SMTP".to_owned(),
            Transport::Folder(dir) => format!("the folder {}", dir.display()),
        }
    }

    pub async fn send(&self, message: Message) -> Result<(), MailError> {
        match &self.transport {
            Transport::Smtp(smtp) => {
                let sent = smtp.send(message).await;
                if let Some(health) = &self.health {
                    match &sent {
                        Err(e) if !e.is_permanent() => health.unavailable(&e.to_string()),
                        _ => health.answered(),
                    }
                }
                sent?;
            }
            Transport::Folder(dir) => {
                let file = write_new(dir, &file_stem(&message), &message.formatted()).await?;
                tracing::info!(file = %file.display(), "email written to the mail folder");
            }
        }
        Ok(())
    }
}

/// The file name for `message`: its Message-ID's left part (`order-<id>`),
/// or a fresh id when it has none; only characters safe in a file name.
fn file_stem(message: &Message) -> String {
    let id = message
        .headers()
        .get_raw("Message-ID")
        .and_then(|id| {
            id.trim()
                .trim_start_matches('<')
                .split('@')
                .next()
                .map(str::to_owned)
        })
        .filter(|id| !id.is_empty());
    let id = id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes `bytes` to `<dir>/<stem>.eml`, or `<stem>.2.eml`, `<stem>.3.eml`…
/// when that exists: a message sent again never overwrites the first.
async fn write_new(dir: &Path, stem: &str, bytes: &[u8]) -> Result<PathBuf, MailError> {
    use tokio::io::AsyncWriteExt;

    for n in 1..=MAX_COPIES {
        let name = if n == 1 {
            format!("{stem}.eml")
        } else {
            format!("{stem}.{n}.eml")
        };
        let path = dir.join(name);
        match tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
        {
            Ok(mut file) => {
                let written = match file.write_all(bytes).await {
                    Ok(()) => file.flush().await,
                    Err(e) => Err(e),
                };
                if let Err(e) = written {
                    // No half-written message under the name people open.
                    let _ = tokio::fs::remove_file(&path).await;
                    return Err(MailError::File(path, e));
                }
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(MailError::File(path, e)),
        }
    }
    Err(MailError::File(
        dir.join(format!("{stem}.eml")),
        std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{MAX_COPIES} copies are there already"),
        ),
    ))
}

/// How many times one message may be written to the folder.
const MAX_COPIES: u32 = 1_000;
