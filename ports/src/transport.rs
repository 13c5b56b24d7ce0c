//! The one automated send path (R-HARD-1, R-HARD-2): mail to active admins.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::address::EmailAddress;
use crate::records::Role;
use crate::store::{Store, StoreError};

/// A non-empty list of the fund's active admins: the only recipients mailroom
/// can ever send to.
///
/// There is no public constructor from addresses. The only ways to get one are
/// [`AdminRecipients::load`], which reads the store's active admins, and
/// [`AdminRecipients::restrict_to`], which narrows an existing set. So an
/// investor's address cannot reach [`MailTransport::send`]:
///
/// ```compile_fail
/// use mailroom_ports::{AdminRecipients, EmailAddress};
/// let lp = EmailAddress::parse("lp@investor.com").unwrap();
/// let to = AdminRecipients { addresses: vec![lp] };
/// ```
///
/// ```compile_fail
/// use mailroom_ports::{AdminRecipients, EmailAddress};
/// let lp = EmailAddress::parse("lp@investor.com").unwrap();
/// let to: AdminRecipients = vec![lp].into();
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AdminRecipients {
    addresses: Vec<EmailAddress>,
    /// The first active admin at load time: the default digest sender, kept
    /// when the set is narrowed so a test email is sent as that admin too.
    sender: EmailAddress,
}

/// Why a set of admin recipients could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RecipientsError {
    #[error("there is no active admin to send to")]
    NoAdmins,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A requested recipient is not an active admin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an active admin: {}", .0.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", "))]
pub struct NotAnAdmin(pub Vec<EmailAddress>);

impl AdminRecipients {
    /// The store's active admins, in user-id order.
    ///
    /// # Errors
    /// [`RecipientsError::NoAdmins`] when there is none; store errors as they are.
    pub async fn load<S: Store + ?Sized>(store: &S) -> Result<Self, RecipientsError> {
        let admins = store.active_admins().await?;
        // The store promises active admins; the filter keeps the promise even
        // if an adapter does not.
        let mut addresses: Vec<EmailAddress> = Vec::new();
        for user in admins
            .into_iter()
            .filter(|u| u.is_active && u.role == Role::Admin)
        {
            if !addresses.contains(&user.email) {
                addresses.push(user.email);
            }
        }
        let Some(sender) = addresses.first().cloned() else {
            return Err(RecipientsError::NoAdmins);
        };
        Ok(Self { addresses, sender })
    }

    /// The subset of these admins named in `wanted`, in `wanted`'s order.
    ///
    /// # Errors
    /// [`NotAnAdmin`] listing every wanted address outside the set (nothing
    /// is sent to anyone then); an empty `wanted` is refused as well.
    pub fn restrict_to(&self, wanted: &[EmailAddress]) -> Result<Self, NotAnAdmin> {
        let outsiders: Vec<EmailAddress> = wanted
            .iter()
            .filter(|w| !self.addresses.contains(w))
            .cloned()
            .collect();
        if !outsiders.is_empty() || wanted.is_empty() {
            return Err(NotAnAdmin(outsiders));
        }
        let mut addresses: Vec<EmailAddress> = Vec::new();
        for w in wanted {
            if !addresses.contains(w) {
                addresses.push(w.clone());
            }
        }
        Ok(Self {
            addresses,
            sender: self.sender.clone(),
        })
    }

    pub fn addresses(&self) -> &[EmailAddress] {
        &self.addresses
    }

    /// The first active admin (by user id), even after [`Self::restrict_to`]:
    /// the default Gmail sender (R-DIG-2).
    pub fn default_sender(&self) -> &EmailAddress {
        &self.sender
    }

    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Debug for AdminRecipients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.addresses.iter().map(|a| a.as_str()))
            .finish()
    }
}

/// An internal email: a subject and a plain-text body, with an optional HTML
/// alternative. Sender and transport details belong to the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// Which transport delivered a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    Gmail,
    Smtp,
    Outbox,
}

impl TransportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Gmail => "gmail",
            TransportKind::Smtp => "smtp",
            TransportKind::Outbox => "outbox",
        }
    }
}

/// Why a send failed. The text is for logs only: it may carry upstream
/// detail and is never returned to an HTTP client (R-HARD-4).
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No transport is configured.
    #[error("no mail transport is configured")]
    NotConfigured,
    /// The server refused the message or the credentials; retrying as is
    /// will not help.
    #[error("the mail server refused the message: {0}")]
    Rejected(String),
    /// The server could not be reached or failed; retrying later may help.
    #[error("the mail server is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl SendError {
    /// A short, fixed name for logs and `digest_sends.error_kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            SendError::NotConfigured => "not_configured",
            SendError::Rejected(_) => "rejected",
            SendError::Unavailable(_) => "unavailable",
            SendError::Unexpected(_) => "unexpected",
        }
    }
}

/// Sends an internal email to active admins. Implementations: Gmail-DWD
/// `messages.send`, SMTP, an outbox folder, and the selector over them.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait MailTransport: Send + Sync {
    /// Delivers `mail` to exactly `to`, and returns the transport used.
    ///
    /// # Errors
    /// MUST return `NotConfigured` when it has nothing to send with,
    /// `Rejected` for a permanent refusal, `Unavailable` for a failure that
    /// may pass.
    async fn send(
        &self,
        to: &AdminRecipients,
        mail: &OutgoingMail,
    ) -> Result<TransportKind, SendError>;
}
