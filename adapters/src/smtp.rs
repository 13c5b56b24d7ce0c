//! The digest over SMTP (lettre): one AUTH'd submission per send.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use mailroom_ports::{
    AdminRecipients, EmailAddress, MailTransport, OutgoingMail, SendError, TransportKind,
};
use tracing::instrument;

use crate::mail_format::render;

/// How the connection to the SMTP server is protected (`SMTP_TLS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text: only for a relay on loopback or a trusted network.
    None,
    /// Plain connect, then STARTTLS, which is required (no downgrade).
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

impl SmtpTls {
    /// The usual port for this mode, for when `SMTP_PORT` is not set.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::None => 25,
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::None => "none",
            SmtpTls::StartTls => "starttls",
            SmtpTls::Tls => "tls",
        }
    }
}

/// `SMTP_TLS` held something other than `none`, `starttls` or `tls`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an SMTP TLS mode (expected none, starttls or tls)")]
pub struct UnknownSmtpTls(pub String);

impl FromStr for SmtpTls {
    type Err = UnknownSmtpTls;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(SmtpTls::None),
            "starttls" => Ok(SmtpTls::StartTls),
            "tls" => Ok(SmtpTls::Tls),
            _ => Err(UnknownSmtpTls(s.to_string())),
        }
    }
}

/// Where and how to submit the digest (`SMTP_*`).
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// AUTH is used exactly when this is set.
    pub username: Option<String>,
    pub password: Option<String>,
    /// The envelope and header sender.
    pub from: EmailAddress,
    pub tls: SmtpTls,
    /// Bounds a whole send: connect, AUTH and the transaction.
    pub timeout: Duration,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("from", &self.from.as_str())
            .field("tls", &self.tls)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Sends the digest through an SMTP server.
pub struct SmtpTransport {
    config: SmtpConfig,
    tls: Tls,
}

impl fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SmtpTransport {
    /// Checks the configuration; no connection is made until the first send.
    ///
    /// # Errors
    /// `NotConfigured` for an empty host; `Unexpected` for a username without
    /// a password, or TLS parameters lettre cannot build for the host.
    pub fn new(config: SmtpConfig) -> Result<Self, SendError> {
        if config.host.trim().is_empty() {
            return Err(SendError::NotConfigured);
        }
        if config.username.is_some() && config.password.is_none() {
            return Err(SendError::Unexpected(anyhow::anyhow!(
                "an SMTP username is set without a password"
            )));
        }
        let tls = match config.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls_parameters(&config.host)?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters(&config.host)?),
        };
        Ok(Self { config, tls })
    }

    // lettre's pooled transport spawns a task when built and when dropped, so
    // it is built per send, inside the runtime; a daily digest needs no pool.
    fn transport(&self) -> AsyncSmtpTransport<Tokio1Executor> {
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(self.config.host.trim())
                .port(self.config.port)
                .tls(self.tls.clone())
                .timeout(Some(self.config.timeout));
        if let Some(username) = &self.config.username {
            let password = self.config.password.clone().unwrap_or_default();
            builder = builder.credentials(Credentials::new(username.clone(), password));
        }
        builder.build()
    }

    fn classify(&self, error: &lettre::transport::smtp::Error) -> SendError {
        let detail = self.scrub(&error.to_string());
        // Client errors are configuration mismatches (no shared AUTH
        // mechanism, no STARTTLS): retrying as is cannot help.
        if error.is_permanent() || error.is_client() {
            SendError::Rejected(detail)
        } else {
            SendError::Unavailable(detail)
        }
    }

    /// Servers may echo what they were sent; the password never leaves here.
    fn scrub(&self, detail: &str) -> String {
        let Some(password) = self.config.password.as_deref().filter(|p| !p.is_empty()) else {
            return detail.to_string();
        };
        let username = self.config.username.as_deref().unwrap_or_default();
        let secrets = [
            BASE64.encode(format!("\0{username}\0{password}")),
            BASE64.encode(password),
            password.to_string(),
        ];
        secrets.iter().fold(detail.to_string(), |text, secret| {
            text.replace(secret.as_str(), "[redacted]")
        })
    }
}

#[async_trait]
impl MailTransport for SmtpTransport {
    #[instrument(skip_all, fields(transport = "smtp", host = %self.config.host, port = self.config.port, recipients = to.len()))]
    async fn send(
        &self,
        to: &AdminRecipients,
        mail: &OutgoingMail,
    ) -> Result<TransportKind, SendError> {
        let message = render(&self.config.from, to, mail)?;
        let transport = self.transport();
        match tokio::time::timeout(self.config.timeout, transport.send(message)).await {
            Err(_elapsed) => Err(SendError::Unavailable(format!(
                "no answer from {}:{} within {:?}",
                self.config.host, self.config.port, self.config.timeout
            ))),
            Ok(Err(error)) => Err(self.classify(&error)),
            Ok(Ok(_response)) => {
                tracing::info!("mail handed to the SMTP server");
                Ok(TransportKind::Smtp)
            }
        }
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, SendError> {
    TlsParameters::new(host.trim().to_string())
        .map_err(|e| SendError::Unexpected(anyhow::anyhow!("failed to set up TLS for {host}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(password: Option<&str>) -> SmtpConfig {
        SmtpConfig {
            host: "smtp.example.com".into(),
            port: 587,
            username: Some("digest@fund.com".into()),
            password: password.map(str::to_string),
            from: EmailAddress::parse("digest@fund.com").unwrap(),
            tls: SmtpTls::StartTls,
            timeout: Duration::from_secs(5),
        }
    }

    fn check(input: &str, expected: Option<SmtpTls>) {
        assert_eq!(input.parse::<SmtpTls>().ok(), expected, "input {input:?}");
    }

    #[test]
    fn tls_modes_parse_from_their_env_spelling() {
        check("none", Some(SmtpTls::None));
        check("starttls", Some(SmtpTls::StartTls));
        check("tls", Some(SmtpTls::Tls));
        check(" STARTTLS ", Some(SmtpTls::StartTls));
        check("ssl", None);
        check("", None);
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let shown = format!("{:?}", config(Some("hunter2-secret")));
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
        let transport = SmtpTransport::new(config(Some("hunter2-secret"))).unwrap();
        assert!(!format!("{transport:?}").contains("hunter2-secret"));
    }

    #[test]
    fn error_details_are_scrubbed_of_the_password_in_every_spelling() {
        let transport = SmtpTransport::new(config(Some("hunter2-secret"))).unwrap();
        let plain = BASE64.encode("\0digest@fund.com\0hunter2-secret");
        let echoed = format!(
            "535 bad: hunter2-secret {plain} {}",
            BASE64.encode("hunter2-secret")
        );
        let scrubbed = transport.scrub(&echoed);
        assert_eq!(scrubbed, "535 bad: [redacted] [redacted] [redacted]");
    }

    #[test]
    fn a_blank_host_is_not_a_configured_transport() {
        let mut c = config(Some("x"));
        c.host = "  ".into();
        assert!(matches!(
            SmtpTransport::new(c),
            Err(SendError::NotConfigured)
        ));
    }

    #[test]
    fn a_username_without_a_password_is_refused() {
        assert!(matches!(
            SmtpTransport::new(config(None)),
            Err(SendError::Unexpected(_))
        ));
    }
}
