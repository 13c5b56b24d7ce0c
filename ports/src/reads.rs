//! Records of the read side: keyset pages over what mailroom records (the
//! digest send log, capture errors, drafts, proposals) and the full view of
//! one captured email.

use jiff::Timestamp;

use crate::address::EmailAddress;
use crate::ids::{AccountId, ContactId, EmailId, UserId};
use crate::records::{
    Attachment, DigestTrigger, Direction, InvestorRef, MailboxSighting, ProposalStatus,
};
use crate::transport::TransportKind;

// ---------------------------------------------------------------- paging

/// The position after the last item of a page. Every paged list is ordered
/// newest first by a time, ties broken by a row id (descending), so the pair
/// is unique and a page never repeats or skips a row that did not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyset {
    pub at: Timestamp,
    pub id: i64,
}

/// Which page to read: at most `limit` items strictly after `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// The store serves at most its own maximum, whatever is asked; 0 gives
    /// an empty page.
    pub limit: u32,
    /// `None`: the first page.
    pub after: Option<Keyset>,
}

impl PageRequest {
    /// The first page of `limit` items.
    pub fn first(limit: u32) -> PageRequest {
        PageRequest { limit, after: None }
    }
}

/// One page of a list and where the next one starts (`None` on the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Keyset>,
}

// ---------------------------------------------------------------- one email

/// A contact of a linked investor whose address matched the email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedContact {
    pub id: ContactId,
    pub name: String,
    /// The address that matched.
    pub email: EmailAddress,
}

/// An investor linked to the email, with the contacts that matched (empty
/// when only the investor's domain did).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedInvestor {
    pub investor: InvestorRef,
    pub contacts: Vec<LinkedContact>,
}

/// Another captured email of the same thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadEmail {
    pub email_id: EmailId,
    pub subject: Option<String>,
    pub from_email: Option<EmailAddress>,
    pub sent_at: Timestamp,
    /// Email-level, as in the activity list.
    pub direction: Direction,
}

/// Everything mailroom keeps about one matched, live email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailDetail {
    pub email_id: EmailId,
    pub message_id: Option<String>,
    /// The Gmail thread id in the first mailbox (by id) that holds it live.
    pub thread_id: String,
    pub subject: Option<String>,
    pub snippet: Option<String>,
    pub body: Option<String>,
    pub from_email: Option<EmailAddress>,
    pub from_name: Option<String>,
    pub reply_to: Vec<EmailAddress>,
    pub to: Vec<EmailAddress>,
    pub cc: Vec<EmailAddress>,
    pub sent_at: Timestamp,
    /// Email-level: outbound iff the sender is one of our mailboxes.
    pub direction: Direction,
    /// Names, types and sizes only; the bytes are never stored.
    pub attachments: Vec<Attachment>,
    pub investors: Vec<LinkedInvestor>,
    /// Live sightings only, by account id.
    pub mailboxes: Vec<MailboxSighting>,
    /// The other matched emails with a live sighting in the same Gmail thread
    /// of one of these mailboxes, newest first, at most [`THREAD_LIMIT`].
    pub thread: Vec<ThreadEmail>,
}

/// The most thread neighbours an [`EmailDetail`] carries.
pub const THREAD_LIMIT: u32 = 100;

// ---------------------------------------------------------------- logs

/// One row of the digest send log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestSendEntry {
    pub id: i64,
    pub trigger: DigestTrigger,
    pub window_since: Timestamp,
    pub window_until: Timestamp,
    /// `None` when every transport failed.
    pub transport: Option<TransportKind>,
    pub recipients: u32,
    /// `None` on success; a short kind, never upstream text.
    pub error_kind: Option<String>,
    pub at: Timestamp,
}

/// The latest (already redacted) error of one message in one mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureErrorEntry {
    pub id: i64,
    pub gmail_message_id: String,
    pub error: String,
    /// How many times the message failed.
    pub occurrences: u32,
    /// When it last failed.
    pub at: Timestamp,
}

/// The audit row of one draft, with who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftEntry {
    pub id: i64,
    pub user_id: UserId,
    pub user_email: EmailAddress,
    pub email_id: EmailId,
    pub account_id: AccountId,
    pub gmail_draft_id: String,
    /// `None` only for a draft whose thread is no longer known.
    pub thread_id: Option<String>,
    /// The draft message's Gmail id; `None` for drafts recorded before it
    /// was kept.
    pub gmail_message_id: Option<String>,
    /// The mailbox the draft is in.
    pub mailbox: EmailAddress,
    pub reply_all: bool,
    pub created_at: Timestamp,
}

/// Which proposals to page through. The keyset is the email's `sent_at` and
/// the proposal id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProposalQuery {
    pub status: Option<ProposalStatus>,
    /// Only proposals on email with a live sighting in this user's
    /// mailboxes (`None`: all).
    pub visible_to: Option<UserId>,
    pub page: PageRequest,
}
