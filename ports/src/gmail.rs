//! Gmail as mailroom reads it: a token provider, a mailbox reader and a draft
//! creator. None of these can send mail (R-HARD-1); the only send is the
//! digest's [`crate::MailTransport`].

/// The prefix of the sighting ids `mailroom capture import` gives the
/// messages it loads from files. Gmail's own message ids are bare hex, so the
/// two never collide in one mailbox, and an imported id is never asked of
/// Gmail (it does not know it).
pub const IMPORTED_ID_PREFIX: &str = "import-";

/// Whether a sighting id is one Gmail gave, so Gmail can be asked for it again.
#[must_use]
pub fn is_gmail_message_id(id: &str) -> bool {
    !id.starts_with(IMPORTED_ID_PREFIX)
}

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::address::EmailAddress;

/// An OAuth scope mailroom asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    GmailReadonly,
    GmailCompose,
}

impl Scope {
    pub fn url(self) -> &'static str {
        match self {
            Scope::GmailReadonly => "https://www.googleapis.com/auth/gmail.readonly",
            Scope::GmailCompose => "https://www.googleapis.com/auth/gmail.compose",
        }
    }
}

/// A bearer token. Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    secret: String,
    pub expires_at: Timestamp,
}

impl AccessToken {
    pub fn new(secret: String, expires_at: Timestamp) -> Self {
        Self { secret, expires_at }
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why no token could be minted. Messages say what an admin must fix and
/// never hold the assertion or a token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("Google Workspace has no user {0}: check the mailbox address")]
    UnknownUser(String),
    #[error("domain-wide delegation is not granted for this service account or scope: {0}")]
    NotAuthorized(String),
    #[error("the service-account key is unusable: {0}")]
    BadKey(String),
    #[error("the Google token endpoint is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TokenProvider: Send + Sync {
    /// A token acting as `user` with `scopes`, cached until shortly before it
    /// expires; concurrent callers for the same (user, scopes) share one mint.
    async fn token(&self, user: &EmailAddress, scopes: &[Scope])
    -> Result<AccessToken, TokenError>;

    /// Drops a cached token that Google refused (after a 401).
    async fn invalidate(&self, user: &EmailAddress, scopes: &[Scope]);
}

/// Why a Gmail call failed, after the adapter's own bounded retries.
#[derive(Debug, thiserror::Error)]
pub enum GmailError {
    #[error("not found in Gmail")]
    NotFound,
    /// `history.list` answered 404: the stored `historyId` is too old.
    #[error("the stored historyId has expired")]
    HistoryExpired,
    #[error(transparent)]
    Auth(#[from] TokenError),
    #[error("Gmail rate limit reached")]
    RateLimited { retry_after: Option<Duration> },
    #[error("Gmail is unavailable: {0}")]
    Unavailable(String),
    #[error("Gmail refused the request: {0}")]
    Invalid(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl GmailError {
    /// Worth another try later (the sync stops and the next cycle resumes).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            GmailError::RateLimited { .. } | GmailError::Unavailable(_)
        )
    }
}

/// `users.getProfile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub email_address: EmailAddress,
    pub history_id: String,
}

/// A message id and its thread, as lists and history return them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageRef {
    pub id: String,
    pub thread_id: String,
}

/// One page of `messages.list`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessagePage {
    pub messages: Vec<MessageRef>,
    pub next_page_token: Option<String>,
}

/// One page of `history.list` (messageAdded and messageDeleted only).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryPage {
    pub added: Vec<MessageRef>,
    pub deleted: Vec<MessageRef>,
    /// The mailbox's current `historyId`, to store once the last page is done.
    pub history_id: String,
    pub next_page_token: Option<String>,
}

/// `messages.get?format=raw`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    pub id: String,
    pub thread_id: String,
    pub label_ids: Vec<String>,
    pub history_id: Option<String>,
    pub internal_date: Option<Timestamp>,
    pub size_estimate: u64,
    /// The decoded RFC 822 bytes.
    pub raw: Vec<u8>,
}

/// Reads one mailbox, impersonating its owner (scope `gmail.readonly`).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait MailboxReader: Send + Sync {
    async fn profile(&self, mailbox: &EmailAddress) -> Result<Profile, GmailError>;

    /// Messages received after `after` (all when `None`), newest first.
    async fn list_messages(
        &self,
        mailbox: &EmailAddress,
        after: Option<Timestamp>,
        page_token: Option<String>,
    ) -> Result<MessagePage, GmailError>;

    /// # Errors
    /// MUST return `HistoryExpired` when Gmail answers 404.
    async fn list_history(
        &self,
        mailbox: &EmailAddress,
        start_history_id: &str,
        page_token: Option<String>,
    ) -> Result<HistoryPage, GmailError>;

    /// # Errors
    /// MUST return `NotFound` when the message is gone.
    async fn fetch_raw(&self, mailbox: &EmailAddress, id: &str) -> Result<RawMessage, GmailError>;
}

/// An in-thread reply to be saved as a Gmail draft (R-DRAFT-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyDraft {
    pub thread_id: String,
    pub from: EmailAddress,
    pub to: Vec<EmailAddress>,
    pub cc: Vec<EmailAddress>,
    pub subject: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedDraft {
    pub draft_id: String,
    pub thread_id: String,
    /// The id of the draft's message, which Gmail's web UI opens a draft by
    /// (`#drafts?compose=<id>`); `None` when Gmail's answer leaves it out. It
    /// changes whenever the draft is edited; `draft_id` does not.
    pub message_id: Option<String>,
}

/// Creates drafts (scope `gmail.compose`). It has no way to send one.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait DraftCreator: Send + Sync {
    async fn create_draft(
        &self,
        mailbox: &EmailAddress,
        draft: &ReplyDraft,
    ) -> Result<CreatedDraft, GmailError>;
}
