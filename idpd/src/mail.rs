//! Outgoing mail: SMTP through lettre when `smtp_url` is set, otherwise the development
//! outbox (`<data_dir>/outbox/*.eml`), so the default run needs no mail server.

use std::path::PathBuf;

use lettre::message::{Mailbox, Message, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid smtp_url: {0}")]
    Config(String),
    #[error("cannot build the message: {0}")]
    Build(String),
    #[error("sending failed: {0}")]
    Send(String),
}

/// A message to one recipient.
pub struct Mail {
    pub from_name: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

impl Mailer {
    pub fn new(smtp_url: Option<&str>, data_dir: &std::path::Path) -> Result<Mailer, MailError> {
        match smtp_url {
            Some(url) => AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map(|b| Mailer::Smtp(b.build()))
                .map_err(|e| MailError::Config(e.to_string())),
            None => Ok(Mailer::Outbox(data_dir.join("outbox"))),
        }
    }

    pub async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let from: Mailbox = format!("{} <noreply@idp.invalid>", sanitize(&mail.from_name))
            .parse()
            .or_else(|_| "noreply@idp.invalid".parse())
            .map_err(|e: lettre::address::AddressError| MailError::Build(e.to_string()))?;
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::Build(e.to_string()))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body)
            .map_err(|e| MailError::Build(e.to_string()))?;
        match self {
            Mailer::Smtp(t) => {
                t.send(message)
                    .await
                    .map_err(|e| MailError::Send(e.to_string()))?;
            }
            Mailer::Outbox(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| MailError::Send(e.to_string()))?;
                let name = format!(
                    "{}-{}.eml",
                    time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
                    uuid::Uuid::new_v4().simple()
                );
                let path = dir.join(name);
                tokio::fs::write(&path, message.formatted())
                    .await
                    .map_err(|e| MailError::Send(e.to_string()))?;
                tracing::info!(path = %path.display(), "wrote mail to the outbox");
            }
        }
        Ok(())
    }
}

/// Display names come from tenant settings: keep them to one plain line.
fn sanitize(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control() && !"<>\"".contains(*c))
        .take(100)
        .collect()
}
