//! Records that cross the boundary between the domain and the adapters.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::address::{Domain, EmailAddress};
use crate::ids::{AccountId, ActivityId, ContactId, EmailId, InvestorId, ProposalId, UserId};

/// A user's role in the CRM. Admins see everything and receive the digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

/// A row of `users`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: EmailAddress,
    pub display_name: String,
    pub role: Role,
    pub is_active: bool,
}

/// Email-level direction: outbound iff the sender is one of our mailboxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

// ---------------------------------------------------------------- directory

/// One user in a directory import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryUser {
    /// A teammate's address ([`EmailAddress::parse_team`]).
    #[serde(deserialize_with = "crate::address::team_address")]
    pub email: EmailAddress,
    pub display_name: String,
    pub role: Role,
    pub is_active: bool,
}

/// One investor in a directory import; `deleted` soft-deletes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryInvestor {
    pub id: InvestorId,
    pub name: String,
    #[serde(default)]
    pub graveyard: bool,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub domains: Vec<Domain>,
}

/// One contact in a directory import; `deleted` soft-deletes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryContact {
    pub id: ContactId,
    pub investor_id: InvestorId,
    pub name: String,
    #[serde(default)]
    pub emails: Vec<EmailAddress>,
    #[serde(default)]
    pub deleted: bool,
}

/// The CRM's directory as mailroom mirrors it (`PUT /api/admin/directory`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryUpdate {
    #[serde(default)]
    pub users: Vec<DirectoryUser>,
    #[serde(default)]
    pub investors: Vec<DirectoryInvestor>,
    #[serde(default)]
    pub contacts: Vec<DirectoryContact>,
}

/// How many rows of each kind a directory update touched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryCounts {
    pub users: u64,
    pub investors: u64,
    pub contacts: u64,
}

/// The live (not soft-deleted) addresses and domains the matcher uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchDirectory {
    pub contact_emails: Vec<ContactEmail>,
    pub investor_domains: Vec<InvestorDomain>,
    /// Never-log entries: mail to or from one of them never matches.
    pub never_log: Vec<crate::trust::NeverLogTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactEmail {
    pub email: EmailAddress,
    pub contact_id: ContactId,
    pub investor_id: InvestorId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvestorDomain {
    pub domain: Domain,
    pub investor_id: InvestorId,
}

/// An investor as the activity list and the dropdown show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvestorRef {
    pub id: InvestorId,
    pub name: String,
    pub graveyard: bool,
}

// ---------------------------------------------------------------- mailboxes

/// Where a mailbox's sync stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncState {
    /// Never synced: the next sync is a full one.
    New,
    Syncing,
    Idle,
    Error,
}

impl SyncState {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncState::New => "new",
            SyncState::Syncing => "syncing",
            SyncState::Idle => "idle",
            SyncState::Error => "error",
        }
    }
}

/// A row of `email_accounts`: one captured mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAccount {
    pub id: AccountId,
    pub user_id: UserId,
    pub user_email: EmailAddress,
    pub email_address: EmailAddress,
    pub enabled: bool,
    /// Gmail's `historyId` after the last committed sync; `None` until the
    /// first full sync completes.
    pub history_id: Option<String>,
    pub sync_state: SyncState,
    /// Already redacted: never a token or credential.
    pub last_error: Option<String>,
    pub last_synced_at: Option<Timestamp>,
    /// Live sightings in this mailbox.
    pub message_count: u64,
}

/// What a sync run records on its mailbox when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRecord {
    /// The new cursor; `None` keeps the stored one.
    pub history_id: Option<String>,
    pub state: SyncState,
    pub last_error: Option<String>,
    pub at: Timestamp,
}

// ---------------------------------------------------------------- capture

/// A name and address as a header carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedAddress {
    pub name: Option<String>,
    pub email: EmailAddress,
}

/// An attachment's name and size; its bytes are never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: Option<String>,
    pub content_type: String,
    pub size: u64,
}

/// What the parser extracts from one raw RFC 822 message (R-CAP-3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedMessage {
    /// `Message-ID` without angle brackets.
    pub message_id: Option<String>,
    pub from: Option<NamedAddress>,
    pub to: Vec<NamedAddress>,
    pub cc: Vec<NamedAddress>,
    pub reply_to: Vec<NamedAddress>,
    pub subject: Option<String>,
    pub date: Option<Timestamp>,
    pub text_body: Option<String>,
    pub snippet: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub attachments: Vec<Attachment>,
    /// A stable hash of the message's content, the dedup key when it has no
    /// `Message-ID`.
    pub fingerprint: String,
}

/// The headers of an email that are always stored, matched or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailHeader {
    /// The dedup key: the `Message-ID`, or `sha256:<fingerprint>` without one.
    pub dedup_key: String,
    pub message_id: Option<String>,
    pub from_email: Option<EmailAddress>,
    pub from_name: Option<String>,
    pub to: Vec<EmailAddress>,
    pub cc: Vec<EmailAddress>,
    pub reply_to: Vec<EmailAddress>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub sent_at: Timestamp,
    pub size: u64,
}

/// The content stored only for matched email (R-CAP-5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailContent {
    pub subject: Option<String>,
    pub snippet: Option<String>,
    pub body: Option<String>,
    pub attachments: Vec<Attachment>,
}

/// A matched (investor, contact?) for one email, with the address that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchLink {
    pub investor_id: InvestorId,
    pub contact_id: Option<ContactId>,
    pub matched_address: EmailAddress,
}

/// One message seen in one mailbox, ready to store in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureRequest {
    pub account_id: AccountId,
    pub gmail_message_id: String,
    pub gmail_thread_id: String,
    pub labels: Vec<String>,
    /// The message carries this mailbox's `SENT` label.
    pub is_sent: bool,
    pub header: EmailHeader,
    /// `Some` iff `links` is not empty.
    pub content: Option<EmailContent>,
    pub links: Vec<MatchLink>,
    pub captured_at: Timestamp,
}

/// What a capture changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureOutcome {
    pub email_id: EmailId,
    pub new_email: bool,
    pub new_sighting: bool,
    pub proposals_created: u32,
}

// ---------------------------------------------------------------- activity

/// One mailbox that holds an email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxSighting {
    pub account_id: AccountId,
    pub email_address: EmailAddress,
    pub is_sent: bool,
}

/// The position after the last item of a page: newest first, ties by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityCursor {
    pub sent_at: Timestamp,
    pub email_id: EmailId,
}

/// Filters of the email-activity search; all optional but `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityQuery {
    pub investor_id: Option<InvestorId>,
    pub account_id: Option<AccountId>,
    pub direction: Option<Direction>,
    pub q: Option<String>,
    pub limit: u32,
    pub cursor: Option<ActivityCursor>,
    /// Only email sent at or after this time.
    pub since: Option<Timestamp>,
    /// Only email sent before this time.
    pub until: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityItem {
    pub email_id: EmailId,
    pub subject: Option<String>,
    pub snippet: Option<String>,
    pub from_email: Option<EmailAddress>,
    pub from_name: Option<String>,
    pub to: Vec<EmailAddress>,
    pub cc: Vec<EmailAddress>,
    pub sent_at: Timestamp,
    pub direction: Direction,
    pub investors: Vec<InvestorRef>,
    pub mailboxes: Vec<MailboxSighting>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityPage {
    pub items: Vec<ActivityItem>,
    pub next_cursor: Option<ActivityCursor>,
}

// ---------------------------------------------------------------- digest

/// One (sighting, investor link) of an email in a digest window.
///
/// The store returns one row per live sighting of an active user per
/// investor link; the domain pivots them per user and per investor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestRow {
    pub email_id: EmailId,
    pub user_id: UserId,
    pub user_name: String,
    pub account_id: AccountId,
    pub account_email: EmailAddress,
    /// The sighting carries this mailbox's SENT label.
    pub is_sent: bool,
    /// `false` when the sighting is soft-deleted (the store should not
    /// return such rows; the domain drops them if it does).
    pub sighting_live: bool,
    pub user_active: bool,
    pub from_email: Option<EmailAddress>,
    pub from_name: Option<String>,
    pub to: Vec<EmailAddress>,
    pub subject: Option<String>,
    pub snippet: Option<String>,
    pub sent_at: Timestamp,
    pub investor_id: InvestorId,
    /// `None` when the investor is soft-deleted.
    pub investor_name: Option<String>,
    /// `None` when there is no contact or it is soft-deleted.
    pub contact_name: Option<String>,
    pub matched_address: EmailAddress,
}

/// The daily digest's bookkeeping in `app_settings`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DigestState {
    pub last_sent_at: Option<Timestamp>,
    pub last_sent_date: Option<jiff::civil::Date>,
}

/// Why a digest was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestTrigger {
    Scheduled,
    SendNow,
    TestEmail,
}

/// One attempt to send a digest, for `digest_sends`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestSendLog {
    pub trigger: DigestTrigger,
    pub window_since: Timestamp,
    pub window_until: Timestamp,
    /// `None` when every transport failed.
    pub transport: Option<crate::transport::TransportKind>,
    pub recipients: u32,
    /// `None` on success; otherwise a short error kind (never upstream text).
    pub error_kind: Option<String>,
    pub at: Timestamp,
}

/// A successful claim on a day's scheduled digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestClaim {
    /// Earlier failed attempts for this day, for the retry backoff.
    pub attempts: u32,
}

// ---------------------------------------------------------------- proposals

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProposalStatus {
    Pending,
    Approved,
    Rejected,
}

impl ProposalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::Pending => "pending",
            ProposalStatus::Approved => "approved",
            ProposalStatus::Rejected => "rejected",
        }
    }
}

/// A human's decision on a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approve,
    Reject,
}

/// A row of `activity_proposals` with what the list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub id: ProposalId,
    pub email_id: EmailId,
    pub investor_id: InvestorId,
    pub investor_name: Option<String>,
    pub contact_id: Option<ContactId>,
    pub subject: Option<String>,
    pub from_email: Option<EmailAddress>,
    pub sent_at: Timestamp,
    pub direction: Direction,
    pub status: ProposalStatus,
    pub decided_by: Option<UserId>,
    /// The address of the user who decided, as the directory holds it.
    pub decided_by_email: Option<EmailAddress>,
    pub decided_at: Option<Timestamp>,
    /// Set once approved.
    pub activity_id: Option<ActivityId>,
    /// Users owning a mailbox with a live sighting of the email.
    pub owner_user_ids: Vec<UserId>,
}

// ---------------------------------------------------------------- drafts

/// One mailbox's copy of an email that a draft can be threaded into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplySighting {
    pub account_id: AccountId,
    pub account_email: EmailAddress,
    pub user_id: UserId,
    pub gmail_thread_id: String,
}

/// What a reply draft needs to know about the email it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplySource {
    pub email_id: EmailId,
    pub header: EmailHeader,
    pub subject: Option<String>,
    /// Live sightings only.
    pub sightings: Vec<ReplySighting>,
}

/// The audit row of a created draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftRecord {
    pub email_id: EmailId,
    pub account_id: AccountId,
    pub created_by: UserId,
    pub gmail_draft_id: String,
    /// The Gmail thread the draft was created in.
    pub thread_id: String,
    /// The draft message's Gmail id (what Gmail's web UI opens a draft by),
    /// when Gmail said.
    pub gmail_message_id: Option<String>,
    pub reply_all: bool,
    pub to: Vec<EmailAddress>,
    pub cc: Vec<EmailAddress>,
    pub subject: String,
    pub created_at: Timestamp,
}

/// A message's recorded parse failures in one mailbox, which decide when
/// sync may download it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureAttempts {
    pub gmail_message_id: String,
    /// How many times it failed to parse.
    pub failures: u32,
    /// When it last failed.
    pub last_at: Timestamp,
}
