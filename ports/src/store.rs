//! The persistence port: everything mailroom keeps, behind one trait.

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::address::EmailAddress;
use crate::ids::{AccountId, ActivityId, EmailId, ProposalId, UserId};
use crate::reads::{
    CaptureErrorEntry, DigestSendEntry, DraftEntry, EmailDetail, Page, PageRequest, ProposalQuery,
};
use crate::records::{
    ActivityPage, ActivityQuery, CaptureAttempts, CaptureOutcome, CaptureRequest, Decision,
    DigestClaim, DigestRow, DigestSendLog, DigestState, DirectoryCounts, DirectoryUpdate,
    DraftRecord, EmailAccount, InvestorRef, MatchDirectory, Proposal, ProposalStatus, ReplySource,
    SyncRecord, User,
};

/// What a store operation can fail with, as a caller can act on it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The addressed row does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A uniqueness rule or a compare-and-set was violated.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The input breaks a rule the database enforces (e.g. a foreign key).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The database could not be reached or timed out; retrying may help.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The database behind mailroom.
///
/// Every method is one transaction. "Live" means a sighting with no
/// `deleted_at`; "active user" means `users.is_active`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Store: Send + Sync {
    // ------------------------------------------------------------ directory

    /// Upserts users by email, investors and contacts by id; replaces each
    /// given investor's domains and each given contact's emails; `deleted`
    /// soft-deletes. Idempotent.
    ///
    /// # Errors
    /// MUST return `Invalid` (and change nothing) when a contact names an
    /// investor that neither the update nor the database holds.
    async fn upsert_directory(
        &self,
        update: DirectoryUpdate,
    ) -> Result<DirectoryCounts, StoreError>;

    /// The user with this email, active or not.
    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError>;

    /// Active admins, ordered by user id (the first is the default sender).
    async fn active_admins(&self) -> Result<Vec<User>, StoreError>;

    /// Active users that own at least one mailbox, ordered by display name.
    async fn digest_team(&self) -> Result<Vec<User>, StoreError>;

    /// Live contact emails and investor domains of live investors.
    async fn match_directory(&self) -> Result<MatchDirectory, StoreError>;

    /// Investors for the activity filter: not graveyard, not soft-deleted,
    /// ordered by name.
    async fn dropdown_investors(&self) -> Result<Vec<InvestorRef>, StoreError>;

    // ------------------------------------------------------------ mailboxes

    /// Every `email_accounts` address (enabled or not): our own addresses.
    async fn own_addresses(&self) -> Result<Vec<EmailAddress>, StoreError>;

    async fn list_accounts(&self) -> Result<Vec<EmailAccount>, StoreError>;

    /// # Errors
    /// MUST return `NotFound` when there is no such account.
    async fn get_account(&self, id: AccountId) -> Result<EmailAccount, StoreError>;

    /// # Errors
    /// MUST return `NotFound` when no user has `user_email`, `Conflict` when
    /// the address is already a mailbox.
    async fn create_account(
        &self,
        user_email: &EmailAddress,
        email_address: &EmailAddress,
    ) -> Result<EmailAccount, StoreError>;

    /// # Errors
    /// MUST return `NotFound` when there is no such account.
    async fn set_account_enabled(
        &self,
        id: AccountId,
        enabled: bool,
    ) -> Result<EmailAccount, StoreError>;

    /// Takes the mailbox's sync lease for `holder` until `until` if it is
    /// free, expired or already `holder`'s. Returns whether it was taken.
    /// Atomic across replicas.
    async fn try_lease_account(
        &self,
        id: AccountId,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Frees the lease if `holder` holds it.
    async fn release_account(&self, id: AccountId, holder: &str) -> Result<(), StoreError>;

    /// Records the end (or start) of a sync run. Called only after the
    /// captures the new `history_id` covers are committed.
    async fn record_sync(&self, id: AccountId, record: SyncRecord) -> Result<(), StoreError>;

    /// Which of these Gmail message ids already have a sighting (live or not)
    /// in this mailbox.
    async fn known_gmail_ids(
        &self,
        id: AccountId,
        gmail_ids: &[String],
    ) -> Result<Vec<String>, StoreError>;

    /// Gmail message ids of this mailbox's live sightings, to check against
    /// Gmail after a full resync (deletions the expired history no longer
    /// reports).
    async fn live_gmail_ids(&self, id: AccountId) -> Result<Vec<String>, StoreError>;

    /// Stores one message seen in one mailbox: one `emails` row per
    /// `dedup_key`, one sighting per (account, gmail id), links on conflict
    /// ignored, one pending proposal per newly linked (email, investor).
    /// Recapturing changes nothing; a soft-deleted sighting seen again is
    /// made live again. Mail a never-log entry covers (read in the writing
    /// transaction, whatever matcher the caller used) is stored as metadata
    /// only: no content, links or proposals.
    async fn capture(&self, request: CaptureRequest) -> Result<CaptureOutcome, StoreError>;

    /// [`Store::capture`] for many messages at once, in one transaction:
    /// the same rows, one commit. Outcomes come back in the order of
    /// `requests`; on an error nothing of the batch is stored.
    async fn capture_many(
        &self,
        requests: Vec<CaptureRequest>,
    ) -> Result<Vec<CaptureOutcome>, StoreError>;

    /// Soft-deletes the sighting; returns whether one was live.
    async fn soft_delete_sighting(
        &self,
        id: AccountId,
        gmail_message_id: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Keeps a per-message capture error (already redacted) on the mailbox.
    async fn record_capture_error(
        &self,
        id: AccountId,
        gmail_message_id: &str,
        error: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// The recorded parse failures among these Gmail ids of the mailbox
    /// (ids without one are left out).
    async fn capture_attempts(
        &self,
        id: AccountId,
        gmail_ids: &[String],
    ) -> Result<Vec<CaptureAttempts>, StoreError>;

    // ------------------------------------------------------------ activity

    /// The admin search: matched-only, live-only, newest first.
    async fn query_activity(&self, query: ActivityQuery) -> Result<ActivityPage, StoreError>;

    // ------------------------------------------------------------ read side

    /// One email as the activity detail shows it, under the list's rules.
    ///
    /// # Errors
    /// MUST return `NotFound` when there is no such email, when it is linked
    /// to no investor (unmatched mail is metadata only), or when none of its
    /// sightings is live.
    async fn email_detail(&self, email_id: EmailId) -> Result<EmailDetail, StoreError>;

    /// The digest send log, newest first (keyset: `at`, id).
    async fn digest_sends(&self, page: PageRequest) -> Result<Page<DigestSendEntry>, StoreError>;

    /// A mailbox's capture errors, most recent first (keyset: `at`, id).
    ///
    /// # Errors
    /// MUST return `NotFound` when there is no such mailbox.
    async fn capture_errors(
        &self,
        id: AccountId,
        page: PageRequest,
    ) -> Result<Page<CaptureErrorEntry>, StoreError>;

    /// Drafts made, newest first (keyset: `created_at`, id); `created_by`
    /// limits them to one user's (`None`: all).
    async fn list_drafts(
        &self,
        created_by: Option<UserId>,
        page: PageRequest,
    ) -> Result<Page<DraftEntry>, StoreError>;

    /// Proposals as [`Store::list_proposals`] filters them, one page at a
    /// time, newest email first (keyset: the email's `sent_at`, proposal id).
    async fn proposal_page(&self, query: ProposalQuery) -> Result<Page<Proposal>, StoreError>;

    // ------------------------------------------------------------ proposals

    /// Proposals, newest email first; `visible_to` limits them to emails
    /// with a live sighting in that user's mailboxes (`None`: all).
    async fn list_proposals(
        &self,
        status: Option<ProposalStatus>,
        visible_to: Option<UserId>,
    ) -> Result<Vec<Proposal>, StoreError>;

    /// # Errors
    /// MUST return `NotFound` when there is no such proposal.
    async fn get_proposal(&self, id: ProposalId) -> Result<Proposal, StoreError>;

    /// Moves a *pending* proposal to the decision's status, recording who and
    /// when; approving also creates its activity, in the same transaction.
    /// Returns the activity id for an approval.
    ///
    /// # Errors
    /// MUST return `Conflict` when the proposal is no longer pending (a
    /// compare-and-set; the caller re-reads and decides), `NotFound` when
    /// it does not exist.
    async fn apply_decision(
        &self,
        id: ProposalId,
        decision: Decision,
        by: UserId,
        at: Timestamp,
    ) -> Result<Option<ActivityId>, StoreError>;

    // ------------------------------------------------------------ drafts

    /// # Errors
    /// MUST return `NotFound` when there is no such email.
    async fn reply_source(&self, email_id: EmailId) -> Result<ReplySource, StoreError>;

    async fn record_draft(&self, draft: DraftRecord) -> Result<(), StoreError>;

    // ------------------------------------------------------------ digest

    /// Rows for the digest window `(since, until]` on the sighting's
    /// `captured_at` (so mail captured after the digest that covered its
    /// send time rolls into the next one), of email sent after
    /// `sent_after`: investor-linked email only, live sightings of active
    /// users only.
    async fn digest_rows(
        &self,
        since: Timestamp,
        until: Timestamp,
        sent_after: Timestamp,
    ) -> Result<Vec<DigestRow>, StoreError>;

    /// A raw `app_settings` value.
    async fn get_setting(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError>;

    async fn put_setting(&self, key: &str, value: serde_json::Value) -> Result<(), StoreError>;

    async fn digest_state(&self) -> Result<DigestState, StoreError>;

    /// Claims the scheduled digest of `day` for `holder` until `lease_until`.
    /// `None` when the day is already sent, or claimed by another holder
    /// whose lease has not expired. Atomic across replicas.
    async fn claim_digest_day(
        &self,
        day: Date,
        holder: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<DigestClaim>, StoreError>;

    /// Marks `day` sent by `holder` and moves the cursor to `cursor`
    /// (`digest_last_sent_at`, `digest_last_sent_date`) in one transaction.
    ///
    /// # Errors
    /// MUST return `Conflict` when `holder` no longer holds the claim.
    async fn complete_digest_day(
        &self,
        day: Date,
        holder: &str,
        cursor: Timestamp,
    ) -> Result<(), StoreError>;

    /// After a failed send: counts the attempt and keeps the claim until
    /// `retry_at`, so no replica retries before then.
    async fn fail_digest_day(
        &self,
        day: Date,
        holder: &str,
        retry_at: Timestamp,
    ) -> Result<(), StoreError>;

    async fn record_digest_send(&self, log: DigestSendLog) -> Result<(), StoreError>;
}

/// `app_settings` keys.
pub mod keys {
    pub const DIGEST_POLICY: &str = "digest_policy";
    pub const DIGEST_LAST_SENT_AT: &str = "digest_last_sent_at";
    pub const DIGEST_LAST_SENT_DATE: &str = "digest_last_sent_date";
}
