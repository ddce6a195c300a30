//! Sending email: over SMTP (lettre) when `SMTP_URL` is set, otherwise to a
//! folder, one `.eml` file per message, for development.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

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
    #[error("the message could not be written: {0}")]
    File(#[from] lettre::transport::file::Error),
}

/// The configured transport and sender.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    pub from: Mailbox,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(AsyncFileTransport<Tokio1Executor>, PathBuf),
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
                Transport::Folder(
                    AsyncFileTransport::new(&config.mail_dir),
                    config.mail_dir.clone(),
                )
            }
        };
        Ok(Self { transport, from })
    }

    /// Where messages go, for the log (never the SMTP credentials).
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "SMTP".to_owned(),
            Transport::Folder(_, dir) => format!("the folder {}", dir.display()),
        }
    }

    pub async fn send(&self, message: Message) -> Result<(), MailError> {
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
            }
            Transport::Folder(folder, dir) => {
                let id = folder.send(message).await?;
                tracing::info!(file = %dir.join(format!("{id}.eml")).display(), "email written to the mail folder");
            }
        }
        Ok(())
    }
}
