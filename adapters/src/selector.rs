//! The transport selector (R-DIG-2): Gmail-DWD, else SMTP; or the outbox.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use mailroom_ports::{AdminRecipients, MailTransport, OutgoingMail, SendError, TransportKind};
use tracing::instrument;

/// Tries each transport in order until one delivers.
///
/// The app builds the chain: `[gmail, smtp]` (whichever are configured) or
/// `[outbox]`. The kind next to each transport names it in the logs before it
/// has answered; the kind it returns is what gets recorded.
pub struct TransportSelector {
    chain: Vec<(TransportKind, Arc<dyn MailTransport>)>,
}

impl TransportSelector {
    pub fn new(chain: Vec<(TransportKind, Arc<dyn MailTransport>)>) -> Self {
        Self { chain }
    }

    /// The configured kinds, in the order they are tried.
    pub fn kinds(&self) -> Vec<TransportKind> {
        self.chain.iter().map(|(kind, _)| *kind).collect()
    }
}

impl fmt::Debug for TransportSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportSelector")
            .field("chain", &self.kinds())
            .finish()
    }
}

#[async_trait]
impl MailTransport for TransportSelector {
    /// # Errors
    /// `NotConfigured` for an empty chain; otherwise the last transport's
    /// error once every transport has failed.
    #[instrument(skip_all, fields(recipients = to.len()))]
    async fn send(
        &self,
        to: &AdminRecipients,
        mail: &OutgoingMail,
    ) -> Result<TransportKind, SendError> {
        let mut last_error = SendError::NotConfigured;
        for (position, (kind, transport)) in self.chain.iter().enumerate() {
            match transport.send(to, mail).await {
                Ok(delivered_by) => {
                    tracing::info!(
                        transport = delivered_by.as_str(),
                        attempt = position + 1,
                        "mail delivered"
                    );
                    return Ok(delivered_by);
                }
                Err(error) => {
                    let next = self.chain.get(position + 1).map(|(next, _)| next.as_str());
                    tracing::warn!(
                        transport = kind.as_str(),
                        error_kind = error.kind(),
                        detail = %error,
                        next = next.unwrap_or("none"),
                        "mail transport failed"
                    );
                    last_error = error;
                }
            }
        }
        Err(last_error)
    }
}
