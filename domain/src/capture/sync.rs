//! Mailbox sync (R-CAP-2): a full backfill, then incremental sync from Gmail's `historyId`.
//!
//! The cursor only moves after everything it covers is committed: a run that
//! fails part-way records the error and keeps the old cursor, and the next run
//! redoes the same window. Nothing is duplicated because known Gmail ids are
//! skipped and the store deduplicates captures.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use jiff::{SignedDuration, Timestamp};
use mailroom_ports::gmail::{GmailError, MailboxReader};
use mailroom_ports::parse::MessageParser;
use mailroom_ports::records::{EmailAccount, SyncRecord, SyncState};
use mailroom_ports::{AccountId, Clock, Domain, EmailAddress, Store, StoreError};
use tracing::{info, instrument, warn};

use super::pipeline::{Captured, capture_parsed, matcher_for};
use super::redact::{gmail_error_text, store_error_text};
use super::retry::RetryPolicy;
use crate::matching::Matcher;

/// How the sync runs; one value for the whole service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    /// How far back a full sync reaches (`SYNC_BACKFILL_DAYS`).
    pub backfill_days: u32,
    /// `CRM_INTERNAL_DOMAINS`: addresses there are ours and never match.
    pub internal_domains: Vec<Domain>,
    /// Messages fetched at once per mailbox; keeps us under Gmail's
    /// per-user quota together with the adapter's backoff.
    pub fetch_concurrency: usize,
    /// Mailboxes synced at once by [`SyncService::run_once`].
    pub account_concurrency: usize,
    /// This replica's name on the mailbox lease.
    pub holder: String,
    /// How long a lease lasts. Make it longer than the longest run: once it
    /// lapses another replica may sync the same mailbox at the same time,
    /// which wastes quota (the store's dedup keeps the data right).
    pub lease: Duration,
    /// When a message that failed to parse is downloaded again.
    pub retry: RetryPolicy,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            backfill_days: 30,
            internal_domains: Vec::new(),
            fetch_concurrency: 8,
            account_concurrency: 2,
            holder: "mailroom".to_string(),
            lease: Duration::from_secs(30 * 60),
            retry: RetryPolicy::default(),
        }
    }
}

/// What one sync run did (the `POST /api/email/accounts/{id}/sync` answer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Messages downloaded from Gmail.
    pub fetched: u32,
    /// Messages stored (new or already known to the store).
    pub captured: u32,
    /// Captured messages linked to at least one investor.
    pub matched: u32,
    /// Messages not downloaded or not stored: already captured, gone from
    /// Gmail, drafts and spam.
    pub skipped: u32,
    /// Messages that could not be parsed (recorded on the mailbox).
    pub errors: u32,
    /// The run was a full sync (first run, or the history had expired).
    pub full: bool,
}

/// Why a sync run did not complete.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("no such mailbox")]
    NotFound,
    #[error("the mailbox is disabled")]
    Disabled,
    #[error("another sync of this mailbox is running")]
    Busy,
    /// The service is stopping: the run ended between two batches, after
    /// the last one was committed; the cursor is unchanged.
    #[error("the service is stopping")]
    Stopped,
    #[error("Gmail call failed")]
    Gmail(#[from] GmailError),
    #[error("store call failed")]
    Store(#[from] StoreError),
}

/// Syncs captured mailboxes through the ports.
pub struct SyncService<S: ?Sized, R: ?Sized, P: ?Sized, C: ?Sized> {
    store: Arc<S>,
    reader: Arc<R>,
    parser: Arc<P>,
    clock: Arc<C>,
    config: SyncConfig,
    /// Mailboxes a run of this process is syncing. The store lease keeps
    /// other replicas out, but it is re-entrant for this replica (a run
    /// renews its own lease), so two runs of one process need this too.
    running: Mutex<HashSet<AccountId>>,
    stopping: AtomicBool,
}

/// Marks a mailbox as being synced by this process until dropped.
struct RunGuard<'a> {
    running: &'a Mutex<HashSet<AccountId>>,
    id: AccountId,
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.id);
    }
}

impl<S, R, P, C> SyncService<S, R, P, C>
where
    S: Store + ?Sized,
    R: MailboxReader + ?Sized,
    P: MessageParser + ?Sized,
    C: Clock + ?Sized,
{
    pub fn new(
        store: Arc<S>,
        reader: Arc<R>,
        parser: Arc<P>,
        clock: Arc<C>,
        config: SyncConfig,
    ) -> Self {
        Self {
            store,
            reader,
            parser,
            clock,
            config,
            running: Mutex::new(HashSet::new()),
            stopping: AtomicBool::new(false),
        }
    }

    /// Asks every run to end at its next batch boundary (after committing
    /// the batch it is on) and refuses new runs with `Stopped`.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Whether a run of this process is syncing `id` right now.
    pub fn is_running(&self, id: AccountId) -> bool {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&id)
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Claims `id` for this process, or `Busy` when a run already has it.
    fn claim(&self, id: AccountId) -> Result<RunGuard<'_>, SyncError> {
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if running.insert(id) {
            Ok(RunGuard {
                running: &self.running,
                id,
            })
        } else {
            Err(SyncError::Busy)
        }
    }

    pub fn config(&self) -> &SyncConfig {
        &self.config
    }

    /// Syncs every enabled mailbox, at most `account_concurrency` at once;
    /// results are ordered by account id.
    pub async fn run_once(&self) -> Vec<(AccountId, Result<SyncReport, SyncError>)> {
        let accounts = match self.store.list_accounts().await {
            Ok(accounts) => accounts,
            Err(error) => {
                warn!(error = %store_error_text(&error), "could not list mailboxes to sync");
                return Vec::new();
            }
        };
        // A mailbox a request is syncing is skipped, not reported Busy.
        let due = accounts
            .into_iter()
            .filter(|a| a.enabled && !self.is_running(a.id));
        let mut results: Vec<_> = stream::iter(due)
            .map(|account| async move { (account.id, self.sync_account(account.id).await) })
            .buffer_unordered(self.config.account_concurrency.max(1))
            .collect()
            .await;
        results.sort_by_key(|(id, _)| *id);
        results
    }

    /// One sync run of one mailbox, under its lease.
    ///
    /// # Errors
    /// `NotFound`/`Disabled` for a missing or disabled mailbox, `Busy` when
    /// another run (of this process or another replica) has the mailbox;
    /// `Stopped` when the service is stopping; `Gmail`/`Store` when the run
    /// stopped (the error is recorded on the mailbox, the cursor is
    /// unchanged).
    #[instrument(skip_all, fields(account_id = %id))]
    pub async fn sync_account(&self, id: AccountId) -> Result<SyncReport, SyncError> {
        if self.is_stopping() {
            return Err(SyncError::Stopped);
        }
        let account = match self.store.get_account(id).await {
            Ok(account) => account,
            Err(StoreError::NotFound(_)) => return Err(SyncError::NotFound),
            Err(error) => return Err(SyncError::Store(error)),
        };
        if !account.enabled {
            return Err(SyncError::Disabled);
        }
        // The in-process claim comes first, so a second run here never
        // touches the lease the first one holds (nor releases it).
        let _guard = self.claim(id)?;
        self.renew_lease(id).await?;

        let result = self.run_leased(&account).await;

        if let Err(error) = self.store.release_account(id, &self.config.holder).await {
            // The lease expires on its own; the next run only waits longer.
            warn!(error = %store_error_text(&error), "could not release the mailbox lease");
        }
        result
    }

    /// Takes the mailbox's lease, or extends it when this replica holds it.
    /// A run renews it before each batch of fetches, so a long backfill
    /// keeps it however long it takes.
    ///
    /// # Errors
    /// `Busy` when another replica holds an unexpired lease; `Stopped` when
    /// the service is stopping (this is the batch boundary a stop waits for).
    async fn renew_lease(&self, id: AccountId) -> Result<(), SyncError> {
        if self.is_stopping() {
            return Err(SyncError::Stopped);
        }
        let now = self.clock.now();
        let lease = SignedDuration::try_from(self.config.lease).unwrap_or(SignedDuration::MAX);
        let until = now.saturating_add(lease).unwrap_or(Timestamp::MAX);
        if self
            .store
            .try_lease_account(id, &self.config.holder, now, until)
            .await?
        {
            Ok(())
        } else {
            Err(SyncError::Busy)
        }
    }

    async fn run_leased(&self, account: &EmailAccount) -> Result<SyncReport, SyncError> {
        self.store
            .record_sync(
                account.id,
                SyncRecord {
                    history_id: None,
                    state: SyncState::Syncing,
                    last_error: account.last_error.clone(),
                    at: self.clock.now(),
                },
            )
            .await?;

        let mut report = SyncReport::default();
        match self.sync_leased(account, &mut report).await {
            Ok(history_id) => {
                self.store
                    .record_sync(
                        account.id,
                        SyncRecord {
                            history_id: Some(history_id),
                            state: SyncState::Idle,
                            last_error: None,
                            at: self.clock.now(),
                        },
                    )
                    .await?;
                info!(?report, "mailbox synced");
                Ok(report)
            }
            Err(SyncError::Stopped) => {
                // Not a failure of the mailbox: the next run redoes the
                // window from the unchanged cursor.
                info!(?report, "mailbox sync paused: the service is stopping");
                let record = SyncRecord {
                    history_id: None,
                    state: SyncState::Idle,
                    last_error: account.last_error.clone(),
                    at: self.clock.now(),
                };
                if let Err(e) = self.store.record_sync(account.id, record).await {
                    warn!(error = %store_error_text(&e), "could not record the paused sync");
                }
                Err(SyncError::Stopped)
            }
            Err(error) => {
                let text = match &error {
                    SyncError::Gmail(e) => gmail_error_text(e),
                    SyncError::Store(e) => store_error_text(e),
                    other => other.to_string(),
                };
                warn!(error = %text, ?report, "mailbox sync stopped");
                let record = SyncRecord {
                    history_id: None,
                    state: SyncState::Error,
                    last_error: Some(text),
                    at: self.clock.now(),
                };
                if let Err(e) = self.store.record_sync(account.id, record).await {
                    warn!(error = %store_error_text(&e), "could not record the sync error");
                }
                Err(error)
            }
        }
    }

    /// Captures what the cursor covers and returns the cursor to store.
    async fn sync_leased(
        &self,
        account: &EmailAccount,
        report: &mut SyncReport,
    ) -> Result<String, SyncError> {
        let matcher = matcher_for(self.store.as_ref(), &self.config.internal_domains).await?;

        let Some(start) = account.history_id.as_deref() else {
            let (cursor, _listed) = self.full_sync(account, &matcher, report).await?;
            return Ok(cursor);
        };
        match self
            .incremental_sync(account, start, &matcher, report)
            .await
        {
            Err(SyncError::Gmail(GmailError::HistoryExpired)) => {
                info!("stored historyId expired; falling back to a full sync");
                let (cursor, listed) = self.full_sync(account, &matcher, report).await?;
                self.reconcile_deletions(account, &listed).await?;
                Ok(cursor)
            }
            other => other,
        }
    }

    /// After an expired history, deletions made meanwhile are no longer
    /// reported. Each live sighting the fresh listing did not return (older
    /// than the backfill window, in the trash, or gone) is looked up; only
    /// those Gmail no longer has are soft-deleted. Expiry is rare (the
    /// history lasts about a week), so the extra lookups are affordable.
    async fn reconcile_deletions(
        &self,
        account: &EmailAccount,
        listed: &HashSet<String>,
    ) -> Result<(), SyncError> {
        let unlisted: Vec<String> = self
            .store
            .live_gmail_ids(account.id)
            .await?
            .into_iter()
            .filter(|id| !listed.contains(id))
            .collect();
        for (n, chunk) in unlisted.chunks(KNOWN_IDS_CHUNK).enumerate() {
            if n > 0 {
                self.renew_lease(account.id).await?;
            }
            let gone: Vec<Option<String>> = stream::iter(chunk.iter().cloned())
                .map(|id| async move {
                    match self.reader.fetch_raw(&account.email_address, &id).await {
                        Ok(_) => Ok(None),
                        Err(GmailError::NotFound) => Ok(Some(id)),
                        Err(error) => Err(SyncError::Gmail(error)),
                    }
                })
                .buffer_unordered(self.config.fetch_concurrency.max(1))
                .try_collect()
                .await?;
            for id in gone.into_iter().flatten() {
                self.store
                    .soft_delete_sighting(account.id, &id, self.clock.now())
                    .await?;
            }
        }
        Ok(())
    }

    async fn full_sync(
        &self,
        account: &EmailAccount,
        matcher: &Matcher,
        report: &mut SyncReport,
    ) -> Result<(String, HashSet<String>), SyncError> {
        report.full = true;
        let mailbox = &account.email_address;
        // The profile's historyId is read before listing, so mail that lands
        // while we list is covered by the next incremental run.
        let profile = self.reader.profile(mailbox).await?;
        let backfill = SignedDuration::from_hours(24 * i64::from(self.config.backfill_days));
        let after = self
            .clock
            .now()
            .saturating_sub(backfill)
            .unwrap_or(Timestamp::MIN);

        let ids = list_since(self.reader.as_ref(), mailbox, after).await?;
        let listed: HashSet<String> = ids.iter().cloned().collect();
        self.capture_new(account, ids, matcher, report).await?;
        Ok((profile.history_id, listed))
    }

    async fn incremental_sync(
        &self,
        account: &EmailAccount,
        start: &str,
        matcher: &Matcher,
        report: &mut SyncReport,
    ) -> Result<String, SyncError> {
        let mailbox = &account.email_address;
        let mut added = Vec::new();
        let mut deleted = Vec::new();
        let mut cursor = start.to_string();
        let mut page_token = None;
        let mut done = false;
        for _ in 0..MAX_PAGES {
            let page = self
                .reader
                .list_history(mailbox, start, page_token.take())
                .await?;
            added.extend(page.added.into_iter().map(|m| m.id));
            deleted.extend(page.deleted.into_iter().map(|m| m.id));
            if !page.history_id.is_empty() {
                cursor = page.history_id;
            }
            page_token = page.next_page_token.filter(|t| !t.is_empty());
            if page_token.is_none() {
                done = true;
                break;
            }
        }
        if !done {
            return Err(endless_paging().into());
        }

        let deleted = unique(deleted);
        let gone: HashSet<&str> = deleted.iter().map(String::as_str).collect();
        // A message added and deleted within the window is never fetched:
        // it would only 404 or be soft-deleted right after.
        let added: Vec<String> = added
            .into_iter()
            .filter(|id| !gone.contains(id.as_str()))
            .collect();
        self.capture_new(account, added, matcher, report).await?;
        for id in &deleted {
            self.store
                .soft_delete_sighting(account.id, id, self.clock.now())
                .await?;
        }
        Ok(cursor)
    }

    /// Fetches, parses and captures the ids this mailbox has no sighting of.
    async fn capture_new(
        &self,
        account: &EmailAccount,
        ids: Vec<String>,
        matcher: &Matcher,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let ids = unique(ids);
        for (n, chunk) in ids.chunks(KNOWN_IDS_CHUNK).enumerate() {
            if n > 0 {
                self.renew_lease(account.id).await?;
            }
            let known: HashSet<String> = self
                .store
                .known_gmail_ids(account.id, chunk)
                .await?
                .into_iter()
                .collect();
            let unknown: Vec<String> = chunk
                .iter()
                .filter(|id| !known.contains(*id))
                .cloned()
                .collect();
            report.skipped += (chunk.len() - unknown.len()) as u32;
            // A message that failed to parse waits for its retry.
            let now = self.clock.now();
            let attempts = if unknown.is_empty() {
                Vec::new()
            } else {
                self.store.capture_attempts(account.id, &unknown).await?
            };
            let waiting: HashSet<String> = attempts
                .into_iter()
                .filter(|a| !self.config.retry.due(a, now))
                .map(|a| a.gmail_message_id)
                .collect();
            let mut fresh = Vec::with_capacity(unknown.len());
            for id in unknown {
                if waiting.contains(&id) {
                    report.skipped += 1;
                } else {
                    fresh.push(id);
                }
            }
            self.capture_batch(account, fresh, matcher, report).await?;
        }
        Ok(())
    }

    /// Fetches and captures one batch, `fetch_concurrency` at a time.
    async fn capture_batch(
        &self,
        account: &EmailAccount,
        fresh: Vec<String>,
        matcher: &Matcher,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let mut outcomes = stream::iter(fresh)
            .map(|id| self.capture_one(account, id, matcher))
            .buffer_unordered(self.config.fetch_concurrency.max(1));
        // Returning on the first error drops the stream, which cancels the
        // fetches still in flight; whatever they would have stored is
        // refetched by the next run because the cursor does not move.
        while let Some(outcome) = outcomes.try_next().await? {
            match outcome {
                Outcome::Captured { matched } => {
                    report.fetched += 1;
                    report.captured += 1;
                    report.matched += u32::from(matched);
                }
                Outcome::Gone => report.skipped += 1,
                Outcome::NotCaptured => {
                    report.fetched += 1;
                    report.skipped += 1;
                }
                Outcome::Unparsable => {
                    report.fetched += 1;
                    report.errors += 1;
                }
            }
        }
        Ok(())
    }

    async fn capture_one(
        &self,
        account: &EmailAccount,
        id: String,
        matcher: &Matcher,
    ) -> Result<Outcome, SyncError> {
        let raw = match self.reader.fetch_raw(&account.email_address, &id).await {
            Ok(raw) => raw,
            Err(GmailError::NotFound) => return Ok(Outcome::Gone),
            Err(error) => return Err(error.into()),
        };
        if raw
            .label_ids
            .iter()
            .any(|l| NOT_CAPTURED_LABELS.contains(&l.as_str()))
        {
            return Ok(Outcome::NotCaptured);
        }
        let parsed = self.parser.parse(&raw.raw);
        let captured = capture_parsed(
            self.store.as_ref(),
            account.id,
            &raw,
            parsed,
            matcher,
            self.clock.now(),
        )
        .await?;
        Ok(match captured {
            Captured::Stored { matched, .. } => Outcome::Captured { matched },
            Captured::Unparsable => Outcome::Unparsable,
        })
    }
}

/// Drafts are not mail yet (mailroom's own reply drafts among them: they
/// must not come back as proposals); spam is not correspondence.
const NOT_CAPTURED_LABELS: &[&str] = &["DRAFT", "SPAM"];

/// Ids per `known_gmail_ids` call and per batch of fetches (the lease is
/// renewed between batches); keeps each query's parameter list small.
const KNOWN_IDS_CHUNK: usize = 500;

/// A bound on list pages, so a paging bug cannot loop forever (500 ids a
/// page makes this millions of messages).
const MAX_PAGES: usize = 10_000;

enum Outcome {
    Captured {
        matched: bool,
    },
    /// Gmail no longer has the message.
    Gone,
    /// A draft or spam.
    NotCaptured,
    Unparsable,
}

/// Every message id `messages.list` gives for `mailbox` after `after`, all
/// pages (a full sync and the completeness audit list the same window).
///
/// # Errors
/// Whatever Gmail answers, or `Unexpected` when paging does not end.
pub(crate) async fn list_since<R: MailboxReader + ?Sized>(
    reader: &R,
    mailbox: &EmailAddress,
    after: Timestamp,
) -> Result<Vec<String>, GmailError> {
    let mut ids = Vec::new();
    let mut page_token = None;
    for _ in 0..MAX_PAGES {
        let page = reader
            .list_messages(mailbox, Some(after), page_token.take())
            .await?;
        ids.extend(page.messages.into_iter().map(|m| m.id));
        page_token = page.next_page_token.filter(|t| !t.is_empty());
        if page_token.is_none() {
            return Ok(ids);
        }
    }
    Err(endless_paging())
}

fn endless_paging() -> GmailError {
    GmailError::Unexpected(anyhow::anyhow!(
        "Gmail paging did not end after {MAX_PAGES} pages"
    ))
}

/// The ids in first-seen order, each once.
fn unique(ids: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect()
}
