//! The digest's Gmail transport: `users.messages.send` as the digest sender,
//! to active admins only (R-DIG-2, R-HARD-1, R-HARD-2). This is the only file
//! in mailroom that calls Gmail's send endpoint.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mailroom_ports::gmail::{GmailError, Scope, TokenError, TokenProvider};
use mailroom_ports::{
    AdminRecipients, EmailAddress, MailTransport, OutgoingMail, SendError, TransportKind,
};
use serde::de::IgnoredAny;
use serde_json::json;
use tracing::instrument;

use super::client::{GmailClient, GmailConfig, Op};
use crate::mail_format;

/// `users/{sender}/messages/send`: kept here so a search for the send path
/// finds this file alone.
const SEND_PATH: [&str; 2] = ["messages", "send"];

/// Sends the digest through Gmail, impersonating the digest sender.
#[derive(Clone)]
pub struct GmailSendTransport {
    client: GmailClient,
    sender: Option<EmailAddress>,
}

impl GmailSendTransport {
    /// `sender` is `CRM_DIGEST_SENDER`; without it, the first admin sends.
    pub fn new(
        tokens: Arc<dyn TokenProvider>,
        config: GmailConfig,
        sender: Option<EmailAddress>,
    ) -> Self {
        Self {
            client: GmailClient::new(tokens, config),
            sender,
        }
    }
}

#[async_trait]
impl MailTransport for GmailSendTransport {
    #[instrument(skip_all, fields(recipients = to.len()))]
    async fn send(
        &self,
        to: &AdminRecipients,
        mail: &OutgoingMail,
    ) -> Result<TransportKind, SendError> {
        let sender = self.sender.as_ref().unwrap_or_else(|| to.default_sender());
        let message = mail_format::render(sender, to, mail)?;
        let body = json!({ "raw": URL_SAFE_NO_PAD.encode(message.formatted()) });
        let url = self.client.url(sender, &SEND_PATH).map_err(send_error)?;
        let _: IgnoredAny = self
            .client
            .call(sender, Scope::GmailCompose, Op::MessagesSend, |http| {
                http.post(url.clone()).json(&body)
            })
            .await
            .map_err(send_error)?;
        Ok(TransportKind::Gmail)
    }
}

/// Gmail's errors carry no token (the client never puts one in a message),
/// so their text can go to the logs as it is.
fn send_error(e: GmailError) -> SendError {
    match e {
        GmailError::Auth(TokenError::Unavailable(why)) | GmailError::Unavailable(why) => {
            SendError::Unavailable(why)
        }
        GmailError::RateLimited { retry_after } => SendError::Unavailable(match retry_after {
            Some(wait) => format!("Gmail rate limit reached; retry after {}s", wait.as_secs()),
            None => "Gmail rate limit reached".into(),
        }),
        GmailError::Auth(auth) => {
            SendError::Rejected(format!("Gmail refused the sender's credentials: {auth}"))
        }
        GmailError::Invalid(why) => SendError::Rejected(why),
        GmailError::NotFound | GmailError::HistoryExpired => {
            SendError::Rejected("Gmail does not know the sender's mailbox".into())
        }
        GmailError::Unexpected(e) => SendError::Unexpected(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(error: GmailError, expected: &str) {
        assert_eq!(send_error(error).kind(), expected);
    }

    #[test]
    fn gmail_failures_become_rejections_or_outages() {
        check(GmailError::Invalid("400".into()), "rejected");
        check(GmailError::NotFound, "rejected");
        check(
            GmailError::Auth(TokenError::UnknownUser("a@b.com".into())),
            "rejected",
        );
        check(
            GmailError::Auth(TokenError::NotAuthorized("x".into())),
            "rejected",
        );
        check(
            GmailError::Auth(TokenError::Unavailable("down".into())),
            "unavailable",
        );
        check(GmailError::Unavailable("500".into()), "unavailable");
        check(GmailError::RateLimited { retry_after: None }, "unavailable");
        check(GmailError::Unexpected(anyhow::anyhow!("bug")), "unexpected");
    }
}
