//! Trust in what was captured: the never-log list, background jobs (the
//! re-match after a directory change), and the completeness audit.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::address::{Domain, EmailAddress};
use crate::ids::{AccountId, EmailId};
use crate::records::{EmailHeader, MatchLink};
use crate::store::{Store, StoreError};

/// What a never-log entry names: one address, or a whole domain (and its
/// subdomains).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NeverLogTarget {
    Address(EmailAddress),
    Domain(Domain),
}

impl NeverLogTarget {
    /// Reads `value` as an address when it has an `@`, else as a domain.
    ///
    /// # Errors
    /// The address or domain error when `value` is neither.
    pub fn parse(value: &str) -> Result<Self, crate::AddressError> {
        if value.contains('@') {
            EmailAddress::parse(value).map(NeverLogTarget::Address)
        } else {
            Domain::parse(value).map(NeverLogTarget::Domain)
        }
    }

    /// `address` or `domain`, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            NeverLogTarget::Address(_) => "address",
            NeverLogTarget::Domain(_) => "domain",
        }
    }

    /// The normalised address or domain.
    pub fn value(&self) -> &str {
        match self {
            NeverLogTarget::Address(a) => a.as_str(),
            NeverLogTarget::Domain(d) => d.as_ref(),
        }
    }

    /// Whether mail to or from `address` falls under this entry: the same
    /// address, or an address at the domain or one of its subdomains.
    pub fn covers(&self, address: &EmailAddress) -> bool {
        match self {
            NeverLogTarget::Address(a) => a == address,
            NeverLogTarget::Domain(d) => {
                let host = address.domain();
                let host: &str = host.as_ref();
                let d: &str = d.as_ref();
                host == d || host.strip_suffix(d).is_some_and(|rest| rest.ends_with('.'))
            }
        }
    }

    /// Whether any address of the header (From, To, Cc, Reply-To) falls
    /// under this entry.
    pub fn covers_header(&self, header: &EmailHeader) -> bool {
        header
            .from_email
            .iter()
            .chain(&header.to)
            .chain(&header.cc)
            .chain(&header.reply_to)
            .any(|a| self.covers(a))
    }
}

/// A row of `never_log_entries`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeverLogEntry {
    pub id: i64,
    pub target: NeverLogTarget,
    pub created_at: Timestamp,
}

/// What adding a never-log entry removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeOutcome {
    /// Emails whose stored content was erased.
    pub emails_purged: u64,
    /// Pending proposals removed.
    pub proposals_removed: u64,
    /// Approved activities removed (only when asked).
    pub activities_removed: u64,
}

/// The background jobs mailroom runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Re-match stored mail against the directory (after it widened).
    Rematch,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Rematch => "rematch",
        }
    }

    /// # Errors
    /// `None` for an unknown stored kind.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "rematch" => Some(JobKind::Rematch),
            _ => None,
        }
    }
}

/// A job's state: `pending` (requested, not started or interrupted),
/// `running` (a replica holds its lease), `done`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Pending,
    Running,
    Done,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(JobState::Pending),
            "running" => Some(JobState::Running),
            "done" => Some(JobState::Done),
            _ => None,
        }
    }
}

/// Progress counters of a job run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobProgress {
    /// Emails looked at.
    pub scanned: u64,
    /// Emails that gained at least one link.
    pub matched: u64,
    /// Messages downloaded again from Gmail for their content.
    pub fetched: u64,
    /// Pending proposals created.
    pub proposals: u64,
    /// Emails given up on after failing every allowed attempt (see
    /// [`Job::skipped_emails`]).
    pub skipped: u64,
}

/// An email a job run gave up on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEmail {
    pub email_id: EmailId,
    /// The last attempt's error, already redacted.
    pub error: String,
    pub at: Timestamp,
}

/// A failed step, as [`TrustStore::fail_job`] records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    /// The last email id done before the failure (the cursor moves there).
    pub cursor: i64,
    /// What the step did before it failed.
    pub progress: JobProgress,
    /// The email the step failed at; `None` when it failed before any.
    pub email: Option<EmailId>,
    /// Failed steps in a row at `email`, this one included.
    pub attempts: u32,
    /// Already redacted.
    pub error: String,
    /// No replica takes the job before this.
    pub retry_at: Timestamp,
}

/// A row of `jobs`: one per kind; a new request restarts it from the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub kind: JobKind,
    pub state: JobState,
    /// Bumped by every request; a step whose generation is stale writes nothing.
    pub generation: i64,
    /// The last email id done (the scan goes by ascending id).
    pub cursor: i64,
    /// Emails in the scan when the run started, for a percentage.
    pub total: u64,
    pub progress: JobProgress,
    pub requested_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// Already redacted.
    pub last_error: Option<String>,
    /// Failed steps in a row at `failing_email` (0 after a step succeeded).
    pub attempts: u32,
    /// The email the last failed step stopped at, if it reached one.
    pub failing_email: Option<EmailId>,
    /// After a failed step: no step before this (the backoff).
    pub retry_at: Option<Timestamp>,
    /// The first emails (by id, at most [`SKIPPED_SHOWN`]) this run gave up
    /// on; `progress.skipped` counts them all.
    pub skipped_emails: Vec<SkippedEmail>,
}

/// How many skipped emails a [`Job`] carries.
pub const SKIPPED_SHOWN: usize = 10;

/// One stored email as the re-match sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RematchCandidate {
    pub email_id: EmailId,
    pub header: EmailHeader,
    pub content_stored: bool,
    /// The (investor, contact) pairs already linked.
    pub links: Vec<MatchLink>,
    /// Live sightings, to fetch the content from: (mailbox id, mailbox
    /// address, Gmail message id).
    pub sightings: Vec<(AccountId, EmailAddress, String)>,
}

/// The recorded result of the last completeness audit of a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFigure {
    /// Gmail's messages in the backfill window.
    pub in_gmail: u64,
    /// Of those, captured (a live sighting).
    pub captured: u64,
    pub at: Timestamp,
}

/// A message that failed to parse and has no sighting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureFailure {
    pub gmail_message_id: String,
    /// Already redacted.
    pub error: String,
}

/// The store's side of never-log, jobs and audits.
#[async_trait]
pub trait TrustStore: Store {
    async fn never_log_entries(&self) -> Result<Vec<NeverLogEntry>, StoreError>;

    /// Adds the entry, erases the stored content of every email whose header
    /// it covers (subject, snippet, body, attachment names; the search index
    /// follows), deletes those emails' investor links and pending proposals,
    /// and with `purge_activities` their activities and decided proposals
    /// too. One transaction.
    ///
    /// # Errors
    /// MUST return `Conflict` when the entry already exists.
    async fn add_never_log(
        &self,
        target: &NeverLogTarget,
        purge_activities: bool,
        at: Timestamp,
    ) -> Result<(NeverLogEntry, PurgeOutcome), StoreError>;

    /// # Errors
    /// MUST return `NotFound` when there is no such entry.
    async fn remove_never_log(&self, id: i64) -> Result<NeverLogEntry, StoreError>;

    async fn list_jobs(&self) -> Result<Vec<Job>, StoreError>;

    /// (Re)starts the job of `kind` from the start: pending, cursor 0, a new
    /// generation, counters zeroed. Idempotent in effect: a running step
    /// sees the new generation and starts over.
    async fn request_job(&self, kind: JobKind, at: Timestamp) -> Result<Job, StoreError>;

    /// Takes the job's lease for `holder` until `until` when the job is not
    /// done, its backoff (`retry_at`) is over and the lease is free, expired
    /// or `holder`'s; returns the job. Atomic across replicas.
    async fn lease_job(
        &self,
        kind: JobKind,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<Job>, StoreError>;

    /// Moves the cursor and adds to the counters if `generation` is still the
    /// job's and `holder` still holds its lease (a replica that stalled past
    /// its lease must not write over the one that took over), and clears the
    /// last error, the attempts and the backoff; `done` marks it finished
    /// and frees the lease. Returns whether the write happened.
    #[allow(clippy::too_many_arguments)]
    async fn advance_job(
        &self,
        kind: JobKind,
        holder: &str,
        generation: i64,
        cursor: i64,
        progress: JobProgress,
        done: bool,
        at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Sets the number of emails the run scans (for the percentage).
    async fn set_job_total(
        &self,
        kind: JobKind,
        generation: i64,
        total: u64,
    ) -> Result<(), StoreError>;

    /// Records a failed step if `generation` is still the job's and
    /// `holder` still holds its lease: moves the cursor to `failure.cursor`
    /// and adds its progress (what the step did before failing), keeps the
    /// error, the attempt count and the failing email, sets the backoff
    /// (`retry_at`) and frees the lease. With a stale generation it only
    /// frees `holder`'s lease. Returns whether the failure was recorded.
    async fn fail_job(
        &self,
        kind: JobKind,
        holder: &str,
        generation: i64,
        failure: &JobFailure,
    ) -> Result<bool, StoreError>;

    /// Gives up on `email` after its last allowed attempt, if `generation`
    /// is still the job's and `holder` still holds its lease: in one
    /// transaction, records it in the skipped emails with `error`, moves
    /// the cursor past it, adds `progress` (and one skipped email), clears
    /// the attempts and the backoff and keeps `error` as the last error.
    /// The lease stays. Returns whether the write happened.
    #[allow(clippy::too_many_arguments)]
    async fn skip_job_email(
        &self,
        kind: JobKind,
        holder: &str,
        generation: i64,
        email: EmailId,
        progress: JobProgress,
        error: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Up to `limit` emails with id above `after`, ascending, with a live
    /// sighting.
    async fn rematch_candidates(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<RematchCandidate>, StoreError>;

    /// The number of emails with a live sighting.
    async fn count_live_emails(&self) -> Result<u64, StoreError>;

    /// Adds links (on conflict ignored) and one pending proposal per newly
    /// linked (email, investor), for an email whose content is already
    /// stored or not needed. Returns the proposals created. Adds nothing
    /// when a never-log entry covers an address of the email (checked in
    /// the writing transaction).
    async fn link_email(
        &self,
        email_id: EmailId,
        links: &[MatchLink],
        at: Timestamp,
    ) -> Result<u32, StoreError>;

    /// Gmail ids of the mailbox's live sightings of mail sent at or after
    /// `since`.
    async fn live_gmail_ids_since(
        &self,
        id: AccountId,
        since: Timestamp,
    ) -> Result<Vec<String>, StoreError>;

    /// Recorded parse failures of the mailbox whose message has no sighting
    /// there, most recent first.
    async fn failed_captures(&self, id: AccountId) -> Result<Vec<CaptureFailure>, StoreError>;

    /// Gmail ids of the mailbox's live sightings of matched mail stored
    /// without its content.
    async fn content_missing(&self, id: AccountId) -> Result<Vec<String>, StoreError>;

    /// Keeps the mailbox's latest audit figure (replacing the previous one).
    async fn record_audit(&self, id: AccountId, figure: AuditFigure) -> Result<(), StoreError>;

    async fn last_audit(&self, id: AccountId) -> Result<Option<AuditFigure>, StoreError>;
}
