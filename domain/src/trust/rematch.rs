//! The re-match job: when the directory widens (a contact, an address or a
//! domain added, a record undeleted, a never-log entry removed), stored mail
//! that now matches gains its links and proposals, and metadata-only mail
//! gets its content fetched again from Gmail.
//!
//! The job is a cursor over email ids in the database. Each step takes the
//! job's lease, handles one batch and moves the cursor in one write, so a
//! crash at any point redoes at most one batch, and redoing is harmless: the
//! store ignores links and proposals that exist, and content once stored is
//! not fetched again.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use mailroom_ports::gmail::{GmailError, MailboxReader, TokenError};
use mailroom_ports::parse::MessageParser;
use mailroom_ports::records::{DirectoryCounts, DirectoryUpdate, MatchDirectory, MatchLink};
use mailroom_ports::trust::{
    Job, JobFailure, JobKind, JobProgress, NeverLogEntry, RematchCandidate,
};
use mailroom_ports::{Clock, ContactId, Domain, EmailId, InvestorId, StoreError, TrustStore};
use tracing::{info, instrument, warn};

use crate::capture::{build_capture, gmail_error_text, store_error_text};
use crate::matching::{Matcher, OwnAddresses, is_free_mail};

/// Whether `after` can match mail that `before` could not: a contact
/// address or an investor domain it did not have, or a never-log entry
/// removed. Removals of addresses or records never need a re-match: links
/// already made are history and stay.
pub fn directory_widened(before: &MatchDirectory, after: &MatchDirectory) -> bool {
    let old_contacts: HashSet<_> = before
        .contact_emails
        .iter()
        .map(|c| (&c.email, c.contact_id, c.investor_id))
        .collect();
    let old_domains: HashSet<_> = before
        .investor_domains
        .iter()
        .map(|d| (&d.domain, d.investor_id))
        .collect();
    let new_never: HashSet<_> = after.never_log.iter().collect();
    after
        .contact_emails
        .iter()
        .any(|c| !old_contacts.contains(&(&c.email, c.contact_id, c.investor_id)))
        || after
            .investor_domains
            .iter()
            .filter(|d| !is_free_mail(&d.domain))
            .any(|d| !old_domains.contains(&(&d.domain, d.investor_id)))
        || before.never_log.iter().any(|n| !new_never.contains(n))
}

/// Applies a directory update and, when it widened matching (see
/// [`directory_widened`]), requests the re-match job. A second identical
/// update changes nothing and requests nothing.
///
/// # Errors
/// Whatever the store answers; the update is one transaction, so a failure
/// after it leaves the directory updated and no job requested.
pub async fn update_directory<S: TrustStore + ?Sized>(
    store: &S,
    update: DirectoryUpdate,
    at: Timestamp,
) -> Result<(DirectoryCounts, Option<Job>), StoreError> {
    let before = store.match_directory().await?;
    let counts = store.upsert_directory(update).await?;
    let after = store.match_directory().await?;
    let job = if directory_widened(&before, &after) {
        info!("the directory widened; re-match requested");
        Some(store.request_job(JobKind::Rematch, at).await?)
    } else {
        None
    };
    Ok((counts, job))
}

/// Removes a never-log entry and requests the re-match, so its mail stored
/// as metadata only meanwhile is matched (and fetched) again.
///
/// # Errors
/// `NotFound` when there is no such entry; otherwise whatever the store answers.
pub async fn remove_never_log<S: TrustStore + ?Sized>(
    store: &S,
    id: i64,
    at: Timestamp,
) -> Result<(NeverLogEntry, Job), StoreError> {
    let entry = store.remove_never_log(id).await?;
    let job = store.request_job(JobKind::Rematch, at).await?;
    Ok((entry, job))
}

/// What the re-match does with one stored email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RematchPlan {
    /// Nothing new matches.
    Unchanged,
    /// New links for an email whose content is stored.
    Link(Vec<MatchLink>),
    /// New links for a metadata-only email: fetch the content first.
    FetchAndLink(Vec<MatchLink>),
}

/// The links `matcher` finds that the email does not have yet.
pub fn plan_rematch(candidate: &RematchCandidate, matcher: &Matcher) -> RematchPlan {
    let have: HashSet<(InvestorId, Option<ContactId>)> = candidate
        .links
        .iter()
        .map(|l| (l.investor_id, l.contact_id))
        .collect();
    let new: Vec<MatchLink> = matcher
        .match_header(&candidate.header)
        .into_iter()
        .filter(|l| !have.contains(&(l.investor_id, l.contact_id)))
        .collect();
    if new.is_empty() {
        RematchPlan::Unchanged
    } else if candidate.content_stored {
        RematchPlan::Link(new)
    } else {
        RematchPlan::FetchAndLink(new)
    }
}

/// How the re-match runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RematchConfig {
    /// Emails per step.
    pub batch: u32,
    /// `CRM_INTERNAL_DOMAINS`, as for sync.
    pub internal_domains: Vec<Domain>,
    /// This replica's name on the job lease.
    pub holder: String,
    /// How long the job lease lasts; longer than one step.
    pub lease: Duration,
    /// Failed steps in a row at one email before the job skips it.
    pub max_attempts: u32,
    /// The wait after the first failed step; it doubles with each next
    /// failure in a row, up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RematchConfig {
    fn default() -> Self {
        Self {
            batch: 200,
            internal_domains: Vec::new(),
            holder: "mailroom".into(),
            lease: Duration::from_secs(300),
            max_attempts: 5,
            backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(30 * 60),
        }
    }
}

impl RematchConfig {
    /// The wait after the `attempts`-th failed step in a row: `backoff`
    /// doubled `attempts - 1` times, at most `max_backoff`.
    pub fn backoff_after(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(31);
        self.backoff
            .checked_mul(1 << doublings)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// No job to run, or another replica holds it.
    Idle,
    /// A batch was handled (or an email that kept failing was skipped);
    /// more remain.
    Progressed(JobProgress),
    /// The last batch was handled; the job is done.
    Finished(JobProgress),
}

#[derive(Debug, thiserror::Error)]
pub enum RematchError {
    #[error("Gmail call failed")]
    Gmail(#[from] GmailError),
    #[error("store call failed")]
    Store(#[from] StoreError),
}

/// How many times `max_attempts` an email may meet an outage before the job
/// gives it up: with the default backoff, about eight hours of failures in
/// a row.
const OUTAGE_ATTEMPTS_FACTOR: u32 = 4;

/// Whether a step's error is an outage rather than something about the
/// email: Gmail or the token endpoint unavailable or rate-limited, the
/// service's key or delegation refused, the database unavailable.
fn is_outage(error: &RematchError) -> bool {
    match error {
        RematchError::Gmail(e) => is_gmail_outage(e),
        RematchError::Store(e) => matches!(e, StoreError::Unavailable(_)),
    }
}

fn is_gmail_outage(error: &GmailError) -> bool {
    error.is_retryable()
        || matches!(
            error,
            GmailError::Auth(
                TokenError::Unavailable(_) | TokenError::BadKey(_) | TokenError::NotAuthorized(_)
            )
        )
}

/// Runs the re-match job through the ports: the same mailbox reader (and so
/// the same token provider and quota limiter) as sync. Without a reader
/// (Gmail not configured: an import-only setup) it still links mail whose
/// content is stored and leaves metadata-only mail as it is.
pub struct RematchService<S: ?Sized, R: ?Sized, P: ?Sized, C: ?Sized> {
    store: Arc<S>,
    reader: Option<Arc<R>>,
    parser: Arc<P>,
    clock: Arc<C>,
    config: RematchConfig,
}

impl<S, R, P, C> RematchService<S, R, P, C>
where
    S: TrustStore + ?Sized,
    R: MailboxReader + ?Sized,
    P: MessageParser + ?Sized,
    C: Clock + ?Sized,
{
    pub fn new(
        store: Arc<S>,
        reader: Arc<R>,
        parser: Arc<P>,
        clock: Arc<C>,
        config: RematchConfig,
    ) -> Self {
        Self {
            store,
            reader: Some(reader),
            parser,
            clock,
            config,
        }
    }

    /// A re-match without Gmail: it links mail whose content is stored (from
    /// the stored headers) and skips metadata-only mail, which an import of
    /// the same messages, or Gmail once configured, can complete later.
    pub fn without_gmail(
        store: Arc<S>,
        parser: Arc<P>,
        clock: Arc<C>,
        config: RematchConfig,
    ) -> Self {
        Self {
            store,
            reader: None,
            parser,
            clock,
            config,
        }
    }

    /// Whether metadata-only mail gets its content fetched (Gmail is
    /// configured).
    pub fn fetches_content(&self) -> bool {
        self.reader.is_some()
    }

    /// One step: one batch of the pending job, if this replica can lease it
    /// and its backoff is over.
    ///
    /// A step that fails at an email keeps what it did before that email
    /// (the cursor moves to the email before it), records the error, and
    /// sets a backoff that doubles with each failure in a row; the lease is
    /// freed. When the same email fails its `max_attempts`-th time, the job
    /// records it as skipped, moves past it and goes on.
    ///
    /// # Errors
    /// `Gmail`/`Store` when the step stopped; it is recorded on the job as
    /// above.
    #[instrument(skip_all)]
    pub async fn run_once(&self) -> Result<StepOutcome, RematchError> {
        let now = self.clock.now();
        let lease = SignedDuration::try_from(self.config.lease).unwrap_or(SignedDuration::MAX);
        let until = now.saturating_add(lease).unwrap_or(Timestamp::MAX);
        let Some(job) = self
            .store
            .lease_job(JobKind::Rematch, &self.config.holder, now, until)
            .await?
        else {
            return Ok(StepOutcome::Idle);
        };
        // A step ends by half its lease, whatever is left of its batch, so
        // its write lands while the lease is still its own: a batch that
        // outlived the lease would be fetched again by the next holder.
        let deadline = now.saturating_add(lease / 2).unwrap_or(Timestamp::MAX);
        let run = self
            .step(job.generation, job.cursor, job.total, deadline)
            .await;
        let Some((email, error)) = run.failure else {
            return self
                .finish_step(&job, run.progress, run.last, run.done)
                .await;
        };
        let text = match &error {
            RematchError::Gmail(e) => gmail_error_text(e),
            RematchError::Store(e) => store_error_text(e),
        };
        let attempts = if job.attempts > 0 && job.failing_email == email {
            job.attempts.saturating_add(1)
        } else {
            1
        };
        // An outage (Gmail or the database unavailable, the service's own
        // credentials refused) says nothing about the email it met: the job
        // waits it out for many more attempts before giving that email up.
        let limit = if is_outage(&error) {
            self.config
                .max_attempts
                .max(1)
                .saturating_mul(OUTAGE_ATTEMPTS_FACTOR)
        } else {
            self.config.max_attempts.max(1)
        };
        if let Some(email) = email
            && attempts >= limit
        {
            let text = format!(
                "email {} skipped after {attempts} failed attempts: {text}",
                email.0
            );
            warn!(email_id = email.0, error = %text, "re-match skipped an email");
            let mut progress = run.progress;
            progress.scanned += 1;
            self.store
                .skip_job_email(
                    JobKind::Rematch,
                    &self.config.holder,
                    job.generation,
                    email,
                    progress,
                    &text,
                    self.clock.now(),
                )
                .await?;
            progress.skipped += 1;
            return Ok(StepOutcome::Progressed(progress));
        }
        let wait = self.config.backoff_after(attempts);
        let retry_at = self
            .clock
            .now()
            .saturating_add(SignedDuration::try_from(wait).unwrap_or(SignedDuration::MAX))
            .unwrap_or(Timestamp::MAX);
        warn!(
            error = %text,
            email_id = email.map(|e| e.0),
            attempts,
            retry_in_s = wait.as_secs(),
            "re-match step stopped"
        );
        let failure = JobFailure {
            cursor: run.last,
            progress: run.progress,
            email,
            attempts,
            error: text,
            retry_at,
        };
        if let Err(e) = self
            .store
            .fail_job(
                JobKind::Rematch,
                &self.config.holder,
                job.generation,
                &failure,
            )
            .await
        {
            warn!(error = %store_error_text(&e), "could not record the re-match error");
        }
        Err(error)
    }

    /// Writes a step that went through its batch.
    async fn finish_step(
        &self,
        job: &Job,
        progress: JobProgress,
        last: i64,
        done: bool,
    ) -> Result<StepOutcome, RematchError> {
        let written = self
            .store
            .advance_job(
                JobKind::Rematch,
                &self.config.holder,
                job.generation,
                last,
                progress,
                done,
                self.clock.now(),
            )
            .await?;
        if !written {
            // A new request restarted the job meanwhile, or this replica's
            // lease ran out and another took over: the write is dropped and
            // the job goes on from what is stored.
            return Ok(StepOutcome::Progressed(progress));
        }
        if done {
            info!(?progress, "re-match finished");
            Ok(StepOutcome::Finished(progress))
        } else {
            Ok(StepOutcome::Progressed(progress))
        }
    }

    /// Steps until the job is done or another replica holds it; at most
    /// `max_steps` steps.
    ///
    /// # Errors
    /// The first step's error.
    pub async fn run_to_end(&self, max_steps: usize) -> Result<JobProgress, RematchError> {
        let mut total = JobProgress::default();
        for _ in 0..max_steps {
            match self.run_once().await? {
                StepOutcome::Idle => break,
                StepOutcome::Progressed(p) => add(&mut total, p),
                StepOutcome::Finished(p) => {
                    add(&mut total, p);
                    break;
                }
            }
        }
        Ok(total)
    }

    /// Handles one batch from `cursor`; stops at the first email that fails,
    /// or at `deadline` (after at least one email), leaving the rest to the
    /// next step.
    async fn step(
        &self,
        generation: i64,
        cursor: i64,
        total: u64,
        deadline: Timestamp,
    ) -> BatchRun {
        let mut run = BatchRun {
            progress: JobProgress::default(),
            last: cursor,
            done: false,
            failure: None,
        };
        let candidates = match self.prepare(generation, cursor, total).await {
            Ok(prepared) => prepared,
            Err(e) => {
                run.failure = Some((None, e));
                return run;
            }
        };
        let (matcher, candidates) = candidates;
        let batch = self.config.batch.max(1);
        run.done = candidates.len() < batch as usize;
        let mut without_content = 0_u64;
        for (i, candidate) in candidates.iter().enumerate() {
            if i > 0 && self.clock.now() >= deadline {
                info!(
                    emails = i,
                    "re-match step ends early: half its lease has passed"
                );
                run.done = false;
                break;
            }
            match self.handle(candidate, &matcher).await {
                Ok(Handled::Done(p)) => add(&mut run.progress, p),
                Ok(Handled::WithoutContent) => without_content += 1,
                Err(e) => {
                    run.failure = Some((Some(candidate.email_id), e));
                    break;
                }
            }
            run.progress.scanned += 1;
            run.last = run.last.max(candidate.email_id.0);
        }
        if without_content > 0 {
            info!(
                emails = without_content,
                "re-match left metadata-only mail unlinked: Gmail is not configured to fetch its content"
            );
        }
        run
    }

    /// The run's total (at its start), the matcher and the batch.
    async fn prepare(
        &self,
        generation: i64,
        cursor: i64,
        total: u64,
    ) -> Result<(Matcher, Vec<RematchCandidate>), RematchError> {
        if cursor == 0 && total == 0 {
            let live = self.store.count_live_emails().await?;
            self.store
                .set_job_total(JobKind::Rematch, generation, live)
                .await?;
        }
        let own = self.store.own_addresses().await?;
        let directory = self.store.match_directory().await?;
        let matcher = Matcher::new(
            directory,
            OwnAddresses::new(own, self.config.internal_domains.iter().cloned()),
        );
        let candidates = self
            .store
            .rematch_candidates(cursor, self.config.batch.max(1))
            .await?;
        Ok((matcher, candidates))
    }

    /// Links (and fetches) one email; the counters it moved, `scanned` aside.
    async fn handle(
        &self,
        candidate: &RematchCandidate,
        matcher: &Matcher,
    ) -> Result<Handled, RematchError> {
        let mut progress = JobProgress::default();
        match plan_rematch(candidate, matcher) {
            RematchPlan::Unchanged => {}
            RematchPlan::Link(links) => {
                progress.matched += 1;
                progress.proposals += u64::from(
                    self.store
                        .link_email(candidate.email_id, &links, self.clock.now())
                        .await?,
                );
            }
            RematchPlan::FetchAndLink(_) if self.reader.is_none() => {
                return Ok(Handled::WithoutContent);
            }
            RematchPlan::FetchAndLink(_) => {
                if let Fetched::Captured(created) =
                    self.fetch_and_capture(candidate, matcher).await?
                {
                    progress.matched += 1;
                    progress.fetched += 1;
                    progress.proposals += u64::from(created);
                }
            }
        }
        Ok(Handled::Done(progress))
    }

    /// Downloads the message from the first mailbox that still has it and
    /// captures it through the normal path, which stores the content once
    /// and adds the links and proposals. `None` when no mailbox has it any
    /// more, or it no longer parses. A mailbox whose Gmail fails otherwise
    /// (an unknown user, refused delegation, a 5xx after the client's
    /// retries) passes the turn to the next mailbox with a live sighting;
    /// when none could answer, the first such error is the email's.
    async fn fetch_and_capture(
        &self,
        candidate: &RematchCandidate,
        matcher: &Matcher,
    ) -> Result<Fetched, RematchError> {
        let Some(reader) = &self.reader else {
            return Ok(Fetched::Nothing);
        };
        let mut failed: Option<GmailError> = None;
        for (account_id, mailbox, gmail_id) in &candidate.sightings {
            if !mailroom_ports::gmail::is_gmail_message_id(gmail_id) {
                // Loaded from a file: Gmail cannot give it again.
                continue;
            }
            let raw = match reader.fetch_raw(mailbox, gmail_id).await {
                Ok(raw) => raw,
                Err(GmailError::NotFound) => continue,
                Err(error) => {
                    warn!(
                        email_id = candidate.email_id.0,
                        account = account_id.0,
                        error = %gmail_error_text(&error),
                        "re-match could not fetch from this mailbox; trying the next"
                    );
                    // An outage wins: the email may well be fetched later.
                    if failed
                        .as_ref()
                        .is_none_or(|kept| !is_gmail_outage(kept) && is_gmail_outage(&error))
                    {
                        failed = Some(error);
                    }
                    continue;
                }
            };
            let Ok(parsed) = self.parser.parse(&raw.raw) else {
                warn!(
                    email_id = candidate.email_id.0,
                    "re-fetched message no longer parses"
                );
                continue;
            };
            let request = build_capture(*account_id, &raw, parsed, matcher, self.clock.now());
            if request.header.dedup_key != candidate.header.dedup_key || request.content.is_none() {
                // Not the same message (the fingerprint of a message without
                // a Message-ID changed), or it does not match after all.
                continue;
            }
            let outcome = self.store.capture(request).await?;
            return Ok(Fetched::Captured(outcome.proposals_created));
        }
        match failed {
            Some(error) => Err(error.into()),
            None => Ok(Fetched::Nothing),
        }
    }
}

/// What one batch did, and where it stopped if it failed.
struct BatchRun {
    /// The emails before the failure (all of them without one).
    progress: JobProgress,
    /// The last email id done.
    last: i64,
    /// The batch was the last one.
    done: bool,
    /// The email the step failed at (`None`: before any) and the error.
    failure: Option<(Option<EmailId>, RematchError)>,
}

/// What handling one email did.
enum Handled {
    Done(JobProgress),
    /// Metadata-only mail that now matches, left as it is without Gmail.
    WithoutContent,
}

/// What fetching an email's content again came to.
enum Fetched {
    /// Stored, with this many new proposals.
    Captured(u32),
    /// No mailbox could give it (gone, or no longer matching).
    Nothing,
}

fn add(total: &mut JobProgress, p: JobProgress) {
    total.scanned += p.scanned;
    total.matched += p.matched;
    total.fetched += p.fetched;
    total.proposals += p.proposals;
    total.skipped += p.skipped;
}

#[cfg(test)]
mod tests {
    use mailroom_ports::records::{ContactEmail, EmailHeader, InvestorDomain};
    use mailroom_ports::trust::NeverLogTarget;
    use mailroom_ports::{EmailAddress, EmailId};

    use super::*;

    fn addr(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    fn contact(email: &str, contact: i64, investor: i64) -> ContactEmail {
        ContactEmail {
            email: addr(email),
            contact_id: ContactId(contact),
            investor_id: InvestorId(investor),
        }
    }

    fn domain(d: &str, investor: i64) -> InvestorDomain {
        InvestorDomain {
            domain: Domain::parse(d).unwrap(),
            investor_id: InvestorId(investor),
        }
    }

    fn base() -> MatchDirectory {
        MatchDirectory {
            contact_emails: vec![contact("lee@acme.com", 10, 2)],
            investor_domains: vec![domain("acme.com", 2)],
            never_log: vec![NeverLogTarget::parse("lawyer@firm.com").unwrap()],
        }
    }

    fn check_widened(change: impl FnOnce(&mut MatchDirectory), expected: bool, what: &str) {
        let before = base();
        let mut after = base();
        change(&mut after);
        assert_eq!(directory_widened(&before, &after), expected, "{what}");
    }

    #[test]
    fn outages_are_told_apart_from_what_is_wrong_with_one_email() {
        let outage = |e: GmailError| is_outage(&RematchError::Gmail(e));
        assert!(outage(GmailError::Unavailable("503".into())));
        assert!(outage(GmailError::RateLimited { retry_after: None }));
        assert!(outage(GmailError::Auth(TokenError::Unavailable(
            "x".into()
        ))));
        assert!(outage(GmailError::Auth(TokenError::NotAuthorized(
            "x".into()
        ))));
        assert!(!outage(GmailError::Auth(TokenError::UnknownUser(
            "x".into()
        ))));
        assert!(!outage(GmailError::Invalid("x".into())));
        assert!(!outage(GmailError::NotFound));
        assert!(is_outage(&RematchError::Store(StoreError::Unavailable(
            "x".into()
        ))));
        assert!(!is_outage(&RematchError::Store(StoreError::Invalid(
            "x".into()
        ))));
    }

    #[test]
    fn only_additions_and_never_log_removals_widen_the_directory() {
        check_widened(|_| {}, false, "no change");
        check_widened(
            |d| d.contact_emails.push(contact("max@acme.com", 11, 2)),
            true,
            "a contact or an address added",
        );
        check_widened(
            |d| d.contact_emails.push(contact("lee@acme.com", 10, 3)),
            true,
            "a contact moved to another investor",
        );
        check_widened(|d| d.contact_emails.clear(), false, "a contact removed");
        check_widened(
            |d| d.investor_domains.push(domain("beta.vc", 4)),
            true,
            "a domain added",
        );
        check_widened(
            |d| d.investor_domains.push(domain("gmail.com", 4)),
            false,
            "a free-mail domain never matches, so adding it changes nothing",
        );
        check_widened(|d| d.investor_domains.clear(), false, "a domain removed");
        check_widened(|d| d.never_log.clear(), true, "a never-log entry removed");
        check_widened(
            |d| d.never_log.push(NeverLogTarget::parse("x.org").unwrap()),
            false,
            "a never-log entry added",
        );
    }

    fn candidate(from: &str, content_stored: bool, links: Vec<MatchLink>) -> RematchCandidate {
        RematchCandidate {
            email_id: EmailId(1),
            header: EmailHeader {
                dedup_key: "k".into(),
                message_id: None,
                from_email: Some(addr(from)),
                from_name: None,
                to: vec![addr("ann@fund.com")],
                cc: vec![],
                reply_to: vec![],
                in_reply_to: None,
                references: vec![],
                sent_at: Timestamp::UNIX_EPOCH,
                size: 1,
            },
            content_stored,
            links,
            sightings: vec![],
        }
    }

    fn matcher(dir: MatchDirectory) -> Matcher {
        Matcher::new(
            dir,
            OwnAddresses::new([addr("ann@fund.com")], [Domain::parse("fund.com").unwrap()]),
        )
    }

    fn link(investor: i64, contact: Option<i64>, address: &str) -> MatchLink {
        MatchLink {
            investor_id: InvestorId(investor),
            contact_id: contact.map(ContactId),
            matched_address: addr(address),
        }
    }

    #[test]
    fn metadata_only_mail_that_now_matches_is_fetched_and_linked() {
        let plan = plan_rematch(&candidate("lee@acme.com", false, vec![]), &matcher(base()));
        assert_eq!(
            plan,
            RematchPlan::FetchAndLink(vec![link(2, Some(10), "lee@acme.com")])
        );
    }

    #[test]
    fn matched_mail_gains_only_the_links_it_lacks() {
        let mut dir = base();
        dir.contact_emails.push(contact("lee@acme.com", 40, 5));
        let have = vec![link(2, Some(10), "lee@acme.com")];
        let plan = plan_rematch(&candidate("lee@acme.com", true, have), &matcher(dir));
        assert_eq!(
            plan,
            RematchPlan::Link(vec![link(5, Some(40), "lee@acme.com")])
        );
    }

    #[test]
    fn mail_already_fully_linked_or_never_logged_is_unchanged() {
        let have = vec![link(2, Some(10), "lee@acme.com")];
        assert_eq!(
            plan_rematch(&candidate("lee@acme.com", true, have), &matcher(base())),
            RematchPlan::Unchanged
        );
        assert_eq!(
            plan_rematch(
                &candidate("stranger@else.org", false, vec![]),
                &matcher(base())
            ),
            RematchPlan::Unchanged
        );
        let mut blocked = candidate("lee@acme.com", false, vec![]);
        blocked.header.cc = vec![addr("lawyer@firm.com")];
        assert_eq!(
            plan_rematch(&blocked, &matcher(base())),
            RematchPlan::Unchanged,
            "a never-log address on the mail keeps it out"
        );
    }
}
