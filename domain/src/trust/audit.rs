//! The completeness audit of one mailbox: Gmail's messages in the backfill
//! window against the captured sightings. It finds mail missing from the
//! store, sightings Gmail no longer has, messages that failed to parse, and
//! matched mail whose content is missing; on request it repairs them through
//! the normal capture path.

use std::collections::HashSet;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use mailroom_ports::gmail::{GmailError, MailboxReader};
use mailroom_ports::parse::MessageParser;
use mailroom_ports::trust::{AuditFigure, CaptureFailure};
use mailroom_ports::{AccountId, Clock, Domain, StoreError, TrustStore};
use tracing::{info, instrument};

use crate::capture::{Captured, capture_parsed, matcher_for};

/// How the audit runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// The window sync backfills (`SYNC_BACKFILL_DAYS`): the audit checks
    /// the same window.
    pub backfill_days: u32,
    /// `CRM_INTERNAL_DOMAINS`, for the matcher a repair captures with.
    pub internal_domains: Vec<Domain>,
}

/// What the audit found (before any repair) and what a repair did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    pub account_id: AccountId,
    /// Messages Gmail lists in the window.
    pub in_gmail: u64,
    /// Of those, captured (a live sighting) when the audit ended.
    pub captured: u64,
    /// In Gmail, not captured, and not a recorded parse failure.
    pub missing: Vec<String>,
    /// Captured (live) in the window but no longer in Gmail.
    pub extra: Vec<String>,
    /// Recorded parse failures with no sighting.
    pub failed: Vec<CaptureFailure>,
    /// Matched mail of this mailbox stored without its content.
    pub content_missing: Vec<String>,
    /// `None` unless the audit was asked to repair.
    pub repair: Option<RepairOutcome>,
    pub at: Timestamp,
}

/// What a repair changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RepairOutcome {
    /// Missing messages now captured.
    pub captured: u64,
    /// Matched mail whose content was fetched and stored.
    pub refetched: u64,
    /// Extra sightings soft-deleted.
    pub soft_deleted: u64,
    /// Messages that failed to parse again (their error is recorded).
    pub unparsable: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("no such mailbox")]
    NotFound,
    #[error("Gmail call failed")]
    Gmail(#[from] GmailError),
    #[error("store call failed")]
    Store(#[from] StoreError),
}

/// Splits Gmail's listing against what is stored: the missing ids (listed,
/// neither live nor a recorded failure, in listing order) and how many
/// listed ids are captured.
pub fn compare(
    listed: &[String],
    live: &HashSet<String>,
    failed: &[CaptureFailure],
) -> (Vec<String>, u64) {
    let failed: HashSet<&str> = failed.iter().map(|f| f.gmail_message_id.as_str()).collect();
    let mut seen = HashSet::new();
    let mut missing = Vec::new();
    let mut captured = 0;
    for id in listed {
        if !seen.insert(id.as_str()) {
            continue;
        }
        if live.contains(id) {
            captured += 1;
        } else if !failed.contains(id.as_str()) {
            missing.push(id.clone());
        }
    }
    (missing, captured)
}

/// When the scheduled audit runs (`MAILROOM_AUDIT_INTERVAL_S`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSchedule {
    /// A mailbox whose last recorded audit is older than this is due.
    pub every: SignedDuration,
    /// This replica's name on the mailbox lease. Keep it apart from the
    /// sync's holder: the lease taken by a holder is also "taken" for it
    /// again, so sharing one would let an audit run beside a sync.
    pub holder: String,
    /// How long the audit holds the mailbox lease (longer than an audit).
    pub lease: SignedDuration,
}

/// One mailbox's outcome in a scheduled audit run.
pub type ScheduledResult = (AccountId, Result<ScheduledAudit, AuditError>);

/// What the scheduled audit did with one mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduledAudit {
    /// Audited now; the figure is recorded.
    Audited(AuditFigure),
    /// Its last audit is recent enough.
    NotDue,
    /// A sync or another replica's audit holds the mailbox lease.
    Busy,
}

impl AuditReport {
    /// The figure the report recorded.
    pub fn figure(&self) -> AuditFigure {
        AuditFigure {
            in_gmail: self.in_gmail,
            captured: self.captured,
            at: self.at,
        }
    }
}

/// The audit through the ports: the same mailbox reader (tokens, quota
/// limiter) as sync.
pub struct AuditService<S: ?Sized, R: ?Sized, P: ?Sized, C: ?Sized> {
    store: Arc<S>,
    reader: Arc<R>,
    parser: Arc<P>,
    clock: Arc<C>,
    config: AuditConfig,
}

impl<S, R, P, C> AuditService<S, R, P, C>
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
        config: AuditConfig,
    ) -> Self {
        Self {
            store,
            reader,
            parser,
            clock,
            config,
        }
    }

    /// Audits one mailbox and records its figure; with `repair`, captures
    /// the missing, fetches missing content and soft-deletes the extra.
    ///
    /// # Errors
    /// `NotFound` for an unknown mailbox; `Gmail`/`Store` when a call failed
    /// (nothing is recorded then).
    #[instrument(skip_all, fields(account = %id, repair))]
    pub async fn audit(&self, id: AccountId, repair: bool) -> Result<AuditReport, AuditError> {
        let account = match self.store.get_account(id).await {
            Ok(a) => a,
            Err(StoreError::NotFound(_)) => return Err(AuditError::NotFound),
            Err(e) => return Err(e.into()),
        };
        let mailbox = &account.email_address;
        let backfill = SignedDuration::from_hours(24 * i64::from(self.config.backfill_days));
        let after = self
            .clock
            .now()
            .saturating_sub(backfill)
            .unwrap_or(Timestamp::MIN);

        let listed = self.list(mailbox, after).await?;
        let listed_set: HashSet<String> = listed.iter().cloned().collect();
        let live: HashSet<String> = self.store.live_gmail_ids(id).await?.into_iter().collect();
        let failed = self.store.failed_captures(id).await?;
        let (missing, mut captured) = compare(&listed, &live, &failed);

        // A live sighting the listing lacks may be older than the window by
        // Gmail's date, or in the trash: only Gmail's "not found" makes it
        // extra.
        let mut extra = Vec::new();
        for gmail_id in self.store.live_gmail_ids_since(id, after).await? {
            if listed_set.contains(&gmail_id) {
                continue;
            }
            match self.reader.fetch_raw(mailbox, &gmail_id).await {
                Err(GmailError::NotFound) => extra.push(gmail_id),
                Ok(_) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let content_missing = self.store.content_missing(id).await?;

        let repair = if repair {
            let mut outcome = RepairOutcome::default();
            let matcher = matcher_for(self.store.as_ref(), &self.config.internal_domains).await?;
            for (gmail_id, refetch) in missing
                .iter()
                .map(|g| (g, false))
                .chain(content_missing.iter().map(|g| (g, true)))
            {
                let raw = match self.reader.fetch_raw(mailbox, gmail_id).await {
                    Ok(raw) => raw,
                    Err(GmailError::NotFound) => continue,
                    Err(e) => return Err(e.into()),
                };
                let parsed = self.parser.parse(&raw.raw);
                match capture_parsed(
                    self.store.as_ref(),
                    id,
                    &raw,
                    parsed,
                    &matcher,
                    self.clock.now(),
                )
                .await?
                {
                    Captured::Stored { .. } if refetch => outcome.refetched += 1,
                    Captured::Stored { .. } => {
                        outcome.captured += 1;
                        captured += 1;
                    }
                    Captured::Unparsable => outcome.unparsable += 1,
                }
            }
            for gmail_id in &extra {
                if self
                    .store
                    .soft_delete_sighting(id, gmail_id, self.clock.now())
                    .await?
                {
                    outcome.soft_deleted += 1;
                }
            }
            Some(outcome)
        } else {
            None
        };

        let at = self.clock.now();
        let in_gmail = listed_set.len() as u64;
        self.store
            .record_audit(
                id,
                AuditFigure {
                    in_gmail,
                    captured,
                    at,
                },
            )
            .await?;
        info!(
            in_gmail,
            captured,
            missing = missing.len(),
            extra = extra.len(),
            failed = failed.len(),
            content_missing = content_missing.len(),
            "mailbox audited"
        );
        Ok(AuditReport {
            account_id: id,
            in_gmail,
            captured,
            missing,
            extra,
            failed,
            content_missing,
            repair,
            at,
        })
    }

    /// The scheduled audit: every enabled mailbox whose last audit is older
    /// than `schedule.every` (or that was never audited) is audited without
    /// repair, under the mailbox lease so that one replica runs it and never
    /// beside a sync of the same mailbox. Gmail calls go through the shared
    /// reader and so its quota limiter.
    ///
    /// # Errors
    /// `Store` when the mailboxes cannot be listed; a mailbox's own failure
    /// is its entry in the result (the others still run).
    #[instrument(skip_all)]
    pub async fn run_due(
        &self,
        schedule: &AuditSchedule,
    ) -> Result<Vec<ScheduledResult>, AuditError> {
        let accounts = self.store.list_accounts().await?;
        let mut results = Vec::new();
        for account in accounts.into_iter().filter(|a| a.enabled) {
            let id = account.id;
            results.push((id, self.audit_if_due(id, schedule).await));
        }
        Ok(results)
    }

    async fn audit_if_due(
        &self,
        id: AccountId,
        schedule: &AuditSchedule,
    ) -> Result<ScheduledAudit, AuditError> {
        if !self.due(id, schedule).await? {
            return Ok(ScheduledAudit::NotDue);
        }
        let now = self.clock.now();
        let until = now.saturating_add(schedule.lease).unwrap_or(Timestamp::MAX);
        if !self
            .store
            .try_lease_account(id, &schedule.holder, now, until)
            .await?
        {
            return Ok(ScheduledAudit::Busy);
        }
        // Another replica may have audited between the look and the lease.
        let result = match self.due(id, schedule).await {
            Ok(true) => self
                .audit(id, false)
                .await
                .map(|r| ScheduledAudit::Audited(r.figure())),
            Ok(false) => Ok(ScheduledAudit::NotDue),
            Err(e) => Err(e),
        };
        if let Err(error) = self.store.release_account(id, &schedule.holder).await {
            // The lease expires on its own.
            tracing::warn!(account = %id, error = %crate::capture::redact::store_error_text(&error), "could not release the mailbox lease");
        }
        result
    }

    async fn due(&self, id: AccountId, schedule: &AuditSchedule) -> Result<bool, AuditError> {
        Ok(match self.store.last_audit(id).await? {
            None => true,
            Some(last) => {
                last.at
                    .saturating_add(schedule.every)
                    .unwrap_or(Timestamp::MAX)
                    <= self.clock.now()
            }
        })
    }

    async fn list(
        &self,
        mailbox: &mailroom_ports::EmailAddress,
        after: Timestamp,
    ) -> Result<Vec<String>, AuditError> {
        Ok(crate::capture::list_since(self.reader.as_ref(), mailbox, after).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|x| x.to_string()).collect()
    }

    fn failure(id: &str) -> CaptureFailure {
        CaptureFailure {
            gmail_message_id: id.into(),
            error: "could not be parsed".into(),
        }
    }

    fn check(listed: &[&str], live: &[&str], failed: &[&str], missing: &[&str], captured: u64) {
        let live: HashSet<String> = ids(live).into_iter().collect();
        let failed: Vec<CaptureFailure> = failed.iter().map(|f| failure(f)).collect();
        assert_eq!(
            compare(&ids(listed), &live, &failed),
            (ids(missing), captured),
            "listed {listed:?}, live {live:?}"
        );
    }

    #[test]
    fn listed_ids_are_captured_failed_or_missing() {
        check(&[], &[], &[], &[], 0);
        check(&["a", "b"], &["a", "b"], &[], &[], 2);
        check(&["a", "b", "c"], &["a"], &[], &["b", "c"], 1);
        check(&["a", "b", "c"], &["a"], &["b"], &["c"], 1);
        check(&["a"], &["a", "old"], &[], &[], 1);
        check(&["a", "a"], &[], &[], &["a"], 0);
    }
}
