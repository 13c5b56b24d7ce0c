//! The store's side of trust in what was captured: the never-log list (and
//! the purge that adding an entry runs), the jobs table with its lease and
//! cursor, and what the re-match reads and writes.

use std::collections::HashMap;

use async_trait::async_trait;
use jiff::Timestamp;
use sea_orm::{ConnectionTrait, QueryResult};
use tracing::instrument;

use mailroom_ports::records::{EmailHeader, MatchLink};
use mailroom_ports::trust::{
    AuditFigure, CaptureFailure, Job, JobFailure, JobKind, JobProgress, JobState, NeverLogEntry,
    NeverLogTarget, PurgeOutcome, RematchCandidate, SKIPPED_SHOWN, SkippedEmail,
};
use mailroom_ports::{
    AccountId, ContactId, EmailAddress, EmailId, InvestorId, StoreError, TrustStore,
};

use super::SeaStore;
use super::capture::first_link_per_investor;
use super::sql::{self, Params, Row, all, commit, exec, from_json, one, write_txn};

/// Emails handled per statement when a purge touches many.
const PURGE_CHUNK: usize = 500;

#[async_trait]
impl TrustStore for SeaStore {
    async fn never_log_entries(&self) -> Result<Vec<NeverLogEntry>, StoreError> {
        never_log_entries(self.connection()).await
    }

    #[instrument(skip_all, fields(kind = target.kind(), purge_activities))]
    async fn add_never_log(
        &self,
        target: &NeverLogTarget,
        purge_activities: bool,
        at: Timestamp,
    ) -> Result<(NeverLogEntry, PurgeOutcome), StoreError> {
        let txn = write_txn(self.connection()).await?;
        // Waits for captures in flight to commit (and holds new ones back
        // until this commits), so none stores content under the new entry.
        never_log_guard(&txn, GuardMode::Exclusive).await?;
        let exists = one(
            &txn,
            "SELECT id FROM never_log_entries WHERE value = $1",
            vec![target.value().into()],
        )
        .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict(
                "the entry is already on the never-log list".into(),
            ));
        }
        exec(
            &txn,
            "INSERT INTO never_log_entries (kind, value, created_at) VALUES ($1, $2, $3)",
            vec![target.kind().into(), target.value().into(), sql::ts(at)],
        )
        .await?;
        let row = one(
            &txn,
            "SELECT id, kind, value, created_at FROM never_log_entries WHERE value = $1",
            vec![target.value().into()],
        )
        .await?
        .ok_or_else(|| sql::unexpected("the new never-log entry is missing".into()))?;
        let entry = entry_from_row(&row)?;

        let covered = covered_emails(&txn, target).await?;
        let mut outcome = PurgeOutcome::default();
        for ids in covered.chunks(PURGE_CHUNK) {
            purge(&txn, ids, purge_activities, &mut outcome).await?;
        }
        commit(txn).await?;
        Ok((entry, outcome))
    }

    #[instrument(skip_all, fields(entry = id))]
    async fn remove_never_log(&self, id: i64) -> Result<NeverLogEntry, StoreError> {
        let txn = write_txn(self.connection()).await?;
        let row = one(
            &txn,
            "SELECT id, kind, value, created_at FROM never_log_entries WHERE id = $1",
            vec![id.into()],
        )
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("never-log entry {id}")))?;
        let entry = entry_from_row(&row)?;
        exec(
            &txn,
            "DELETE FROM never_log_entries WHERE id = $1",
            vec![id.into()],
        )
        .await?;
        commit(txn).await?;
        Ok(entry)
    }

    async fn list_jobs(&self) -> Result<Vec<Job>, StoreError> {
        let db = self.connection();
        let rows = all(
            db,
            &format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY kind"),
            vec![],
        )
        .await?;
        let mut jobs = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut job = job_from_row(row)?;
            job.skipped_emails = skipped_emails(db, job.kind).await?;
            jobs.push(job);
        }
        Ok(jobs)
    }

    #[instrument(skip_all, fields(kind = kind.as_str()))]
    async fn request_job(&self, kind: JobKind, at: Timestamp) -> Result<Job, StoreError> {
        // The lease stays: a replica in the middle of a step keeps it, sees
        // the new generation when it writes, and starts over. A new run
        // starts with no backoff and gives every email its attempts again.
        let txn = write_txn(self.connection()).await?;
        exec(
            &txn,
            "INSERT INTO jobs (kind, state, generation, cursor_id, total, scanned, matched, \
             fetched, proposals, requested_at) VALUES ($1, 'pending', 1, 0, 0, 0, 0, 0, 0, $2) \
             ON CONFLICT (kind) DO UPDATE SET state = 'pending', \
             generation = jobs.generation + 1, cursor_id = 0, total = 0, scanned = 0, \
             matched = 0, fetched = 0, proposals = 0, skipped = 0, \
             requested_at = excluded.requested_at, finished_at = NULL, last_error = NULL, \
             attempts = 0, failing_email_id = NULL, retry_at = NULL",
            vec![kind.as_str().into(), sql::ts(at)],
        )
        .await?;
        exec(
            &txn,
            "DELETE FROM job_skipped_emails WHERE kind = $1",
            vec![kind.as_str().into()],
        )
        .await?;
        let requested = job(&txn, kind)
            .await?
            .ok_or_else(|| sql::unexpected("the requested job is missing".into()))?;
        commit(txn).await?;
        Ok(requested)
    }

    #[instrument(skip_all, fields(kind = kind.as_str(), holder = %holder))]
    async fn lease_job(
        &self,
        kind: JobKind,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<Job>, StoreError> {
        let taken = exec(
            self.connection(),
            "UPDATE jobs SET state = 'running', lease_holder = $2, lease_expires_at = $4 \
             WHERE kind = $1 AND state <> 'done' AND (retry_at IS NULL OR retry_at <= $3) \
             AND (lease_holder IS NULL OR lease_holder = $2 OR lease_expires_at IS NULL \
             OR lease_expires_at <= $3)",
            vec![
                kind.as_str().into(),
                holder.into(),
                sql::ts(now),
                sql::ts(until),
            ],
        )
        .await?;
        if taken == 0 {
            return Ok(None);
        }
        job(self.connection(), kind).await
    }

    #[instrument(skip_all, fields(kind = kind.as_str(), generation, cursor, done))]
    async fn advance_job(
        &self,
        kind: JobKind,
        holder: &str,
        generation: i64,
        cursor: i64,
        progress: JobProgress,
        done: bool,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let finish = if done {
            ", state = 'done', finished_at = $9, lease_holder = NULL, lease_expires_at = NULL"
        } else {
            ""
        };
        let mut values = vec![
            kind.as_str().into(),
            generation.into(),
            cursor.into(),
            count(progress.scanned)?,
            count(progress.matched)?,
            count(progress.fetched)?,
            count(progress.proposals)?,
            count(progress.skipped)?,
        ];
        if done {
            values.push(sql::ts(at));
        }
        values.push(holder.into());
        let holder_param = values.len();
        let written = exec(
            self.connection(),
            &format!(
                "UPDATE jobs SET cursor_id = $3, scanned = scanned + $4, matched = matched + $5, \
                 fetched = fetched + $6, proposals = proposals + $7, skipped = skipped + $8, \
                 last_error = NULL, attempts = 0, failing_email_id = NULL, \
                 retry_at = NULL{finish} \
                 WHERE kind = $1 AND generation = $2 AND lease_holder = ${holder_param}"
            ),
            values,
        )
        .await?;
        Ok(written == 1)
    }

    async fn set_job_total(
        &self,
        kind: JobKind,
        generation: i64,
        total: u64,
    ) -> Result<(), StoreError> {
        exec(
            self.connection(),
            "UPDATE jobs SET total = $3 WHERE kind = $1 AND generation = $2",
            vec![kind.as_str().into(), generation.into(), count(total)?],
        )
        .await?;
        Ok(())
    }

    #[instrument(skip_all, fields(kind = kind.as_str(), holder = %holder, attempts = failure.attempts))]
    async fn fail_job(
        &self,
        kind: JobKind,
        holder: &str,
        generation: i64,
        failure: &JobFailure,
    ) -> Result<bool, StoreError> {
        let p = failure.progress;
        let written = exec(
            self.connection(),
            "UPDATE jobs SET state = 'pending', lease_holder = NULL, lease_expires_at = NULL, \
             cursor_id = $4, scanned = scanned + $5, matched = matched + $6, \
             fetched = fetched + $7, proposals = proposals + $8, skipped = skipped + $9, \
             last_error = $10, attempts = $11, failing_email_id = $12, retry_at = $13 \
             WHERE kind = $1 AND generation = $2 AND lease_holder = $3",
            vec![
                kind.as_str().into(),
                generation.into(),
                holder.into(),
                failure.cursor.into(),
                count(p.scanned)?,
                count(p.matched)?,
                count(p.fetched)?,
                count(p.proposals)?,
                count(p.skipped)?,
                failure.error.as_str().into(),
                i64::from(failure.attempts).into(),
                failure.email.map(|e| e.0).into(),
                sql::ts(failure.retry_at),
            ],
        )
        .await?;
        if written == 1 {
            return Ok(true);
        }
        // A new request restarted the job meanwhile: its run owes nothing
        // to this failure, but the lease must not wait to expire.
        exec(
            self.connection(),
            "UPDATE jobs SET state = CASE WHEN state = 'running' THEN 'pending' ELSE state END, \
             lease_holder = NULL, lease_expires_at = NULL WHERE kind = $1 AND lease_holder = $2",
            vec![kind.as_str().into(), holder.into()],
        )
        .await?;
        Ok(false)
    }

    #[instrument(skip_all, fields(kind = kind.as_str(), holder = %holder, email = %email))]
    async fn skip_job_email(
        &self,
        kind: JobKind,
        holder: &str,
        generation: i64,
        email: EmailId,
        progress: JobProgress,
        error: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let txn = write_txn(self.connection()).await?;
        let written = exec(
            &txn,
            "UPDATE jobs SET cursor_id = $4, scanned = scanned + $5, matched = matched + $6, \
             fetched = fetched + $7, proposals = proposals + $8, skipped = skipped + $9 + 1, \
             last_error = $10, attempts = 0, failing_email_id = NULL, retry_at = NULL \
             WHERE kind = $1 AND generation = $2 AND lease_holder = $3",
            vec![
                kind.as_str().into(),
                generation.into(),
                holder.into(),
                email.0.into(),
                count(progress.scanned)?,
                count(progress.matched)?,
                count(progress.fetched)?,
                count(progress.proposals)?,
                count(progress.skipped)?,
                error.into(),
            ],
        )
        .await?;
        if written != 1 {
            commit(txn).await?;
            return Ok(false);
        }
        exec(
            &txn,
            "INSERT INTO job_skipped_emails (kind, email_id, error, skipped_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (kind, email_id) DO UPDATE \
             SET error = excluded.error, skipped_at = excluded.skipped_at",
            vec![
                kind.as_str().into(),
                email.0.into(),
                error.into(),
                sql::ts(at),
            ],
        )
        .await?;
        commit(txn).await?;
        Ok(true)
    }

    async fn rematch_candidates(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<RematchCandidate>, StoreError> {
        let db = self.connection();
        let rows = all(
            db,
            "SELECT id, dedup_key, message_id, from_email, from_name, to_json, cc_json, \
             reply_to_json, in_reply_to, references_json, sent_at, size, content_stored \
             FROM emails WHERE id > $1 AND live_sightings > 0 ORDER BY id LIMIT $2",
            vec![after.into(), i64::from(limit).into()],
        )
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.col("id")).collect::<Result<_, _>>()?;

        let mut params = Params::default();
        let list = params.bind_all(ids.iter().copied());
        let mut links: HashMap<i64, Vec<MatchLink>> = HashMap::new();
        for row in all(
            db,
            &format!(
                "SELECT email_id, investor_id, contact_id, matched_address \
                 FROM email_investor_links WHERE email_id IN ({list}) ORDER BY id"
            ),
            params.values.clone(),
        )
        .await?
        {
            links
                .entry(row.col("email_id")?)
                .or_default()
                .push(MatchLink {
                    investor_id: InvestorId(row.col("investor_id")?),
                    contact_id: row.col::<Option<i64>>("contact_id")?.map(ContactId),
                    matched_address: row.addr("matched_address")?,
                });
        }
        // Enabled mailboxes first: their owners still grant access.
        let mut sightings: HashMap<i64, Vec<(AccountId, EmailAddress, String)>> = HashMap::new();
        for row in all(
            db,
            &format!(
                "SELECT s.email_id, s.account_id, a.email_address, s.gmail_message_id \
                 FROM email_account_messages s JOIN email_accounts a ON a.id = s.account_id \
                 WHERE s.email_id IN ({list}) AND s.deleted_at IS NULL \
                 ORDER BY s.email_id, a.enabled DESC, s.id"
            ),
            params.values,
        )
        .await?
        {
            sightings.entry(row.col("email_id")?).or_default().push((
                AccountId(row.col("account_id")?),
                row.addr("email_address")?,
                row.col("gmail_message_id")?,
            ));
        }

        rows.iter()
            .map(|row| {
                let id: i64 = row.col("id")?;
                let size = row.u64("size")?;
                Ok(RematchCandidate {
                    email_id: EmailId(id),
                    header: EmailHeader {
                        dedup_key: row.col("dedup_key")?,
                        message_id: row.col("message_id")?,
                        from_email: row.opt_addr("from_email")?,
                        from_name: row.col("from_name")?,
                        to: row.addr_list("to_json")?,
                        cc: row.addr_list("cc_json")?,
                        reply_to: row.addr_list("reply_to_json")?,
                        in_reply_to: row.col("in_reply_to")?,
                        references: from_json(&row.col::<String>("references_json")?)?,
                        sent_at: row.ts("sent_at")?,
                        size,
                    },
                    content_stored: row.flag("content_stored")?,
                    links: links.remove(&id).unwrap_or_default(),
                    sightings: sightings.remove(&id).unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn count_live_emails(&self) -> Result<u64, StoreError> {
        one(
            self.connection(),
            "SELECT COUNT(*) AS n FROM emails WHERE live_sightings > 0",
            vec![],
        )
        .await?
        .map_or(Ok(0), |row| row.u64("n"))
    }

    #[instrument(skip_all, fields(email = %email_id, links = links.len()))]
    async fn link_email(
        &self,
        email_id: EmailId,
        links: &[MatchLink],
        at: Timestamp,
    ) -> Result<u32, StoreError> {
        let txn = write_txn(self.connection()).await?;
        never_log_guard(&txn, GuardMode::Shared).await?;
        if email_never_logged(&txn, email_id).await? {
            commit(txn).await?;
            return Ok(0);
        }
        for link in links {
            exec(
                &txn,
                "INSERT INTO email_investor_links (email_id, investor_id, contact_id, \
                 contact_key, matched_address, sent_at) \
                 VALUES ($1, $2, $3, $4, $5, (SELECT sent_at FROM emails WHERE id = $1)) \
                 ON CONFLICT (email_id, investor_id, contact_key) DO NOTHING",
                vec![
                    email_id.0.into(),
                    link.investor_id.0.into(),
                    link.contact_id.map(|c| c.0).into(),
                    link.contact_id.map_or(0, |c| c.0).into(),
                    link.matched_address.as_str().into(),
                ],
            )
            .await?;
        }
        let mut created = 0;
        for link in first_link_per_investor(links) {
            created += exec(
                &txn,
                "INSERT INTO activity_proposals (email_id, investor_id, contact_id, status, \
                 created_at) VALUES ($1, $2, $3, 'pending', $4) \
                 ON CONFLICT (email_id, investor_id) DO NOTHING",
                vec![
                    email_id.0.into(),
                    link.investor_id.0.into(),
                    link.contact_id.map(|c| c.0).into(),
                    sql::ts(at),
                ],
            )
            .await? as u32;
        }
        commit(txn).await?;
        Ok(created)
    }

    async fn live_gmail_ids_since(
        &self,
        id: AccountId,
        since: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        super::audit::live_gmail_ids_since(self.connection(), id, since).await
    }

    async fn failed_captures(&self, id: AccountId) -> Result<Vec<CaptureFailure>, StoreError> {
        super::audit::failed_captures(self.connection(), id).await
    }

    async fn content_missing(&self, id: AccountId) -> Result<Vec<String>, StoreError> {
        super::audit::content_missing(self.connection(), id).await
    }

    #[instrument(skip_all, fields(account = %id))]
    async fn record_audit(&self, id: AccountId, figure: AuditFigure) -> Result<(), StoreError> {
        super::audit::record_audit(self.connection(), id, figure).await
    }

    async fn last_audit(&self, id: AccountId) -> Result<Option<AuditFigure>, StoreError> {
        super::audit::last_audit(self.connection(), id).await
    }
}

/// The PostgreSQL advisory lock key shared by captures and never-log
/// additions ("mailroom never-log" in ASCII, truncated).
const NEVER_LOG_LOCK: i64 = 0x6d72_6e65_7665_726c;

/// How a transaction takes [`never_log_guard`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum GuardMode {
    /// A capture: many at once, none while an entry is being added.
    Shared,
    /// Adding an entry: alone.
    Exclusive,
}

/// Orders captures and never-log additions on PostgreSQL with a
/// transaction-scoped advisory lock, so a capture either commits before an
/// addition purges or reads the new entry. SQLite needs nothing: its write
/// transactions start `IMMEDIATE` and so already run one at a time.
pub(crate) async fn never_log_guard<C: ConnectionTrait>(
    db: &C,
    mode: GuardMode,
) -> Result<(), StoreError> {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Ok(());
    }
    let sql = match mode {
        GuardMode::Shared => "SELECT pg_advisory_xact_lock_shared($1)",
        GuardMode::Exclusive => "SELECT pg_advisory_xact_lock($1)",
    };
    exec(db, sql, vec![NEVER_LOG_LOCK.into()]).await?;
    Ok(())
}

pub(crate) async fn never_log_entries<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<NeverLogEntry>, StoreError> {
    all(
        db,
        "SELECT id, kind, value, created_at FROM never_log_entries ORDER BY value",
        vec![],
    )
    .await?
    .iter()
    .map(entry_from_row)
    .collect()
}

/// Whether a never-log entry covers an address of the stored email.
async fn email_never_logged<C: ConnectionTrait>(
    db: &C,
    email_id: EmailId,
) -> Result<bool, StoreError> {
    let entries = never_log_entries(db).await?;
    if entries.is_empty() {
        return Ok(false);
    }
    let Some(row) = one(
        db,
        "SELECT from_email, to_json, cc_json, reply_to_json FROM emails WHERE id = $1",
        vec![email_id.0.into()],
    )
    .await?
    else {
        return Ok(false);
    };
    let mut addresses = row.addr_list("to_json")?;
    addresses.extend(row.addr_list("cc_json")?);
    addresses.extend(row.addr_list("reply_to_json")?);
    addresses.extend(row.opt_addr("from_email")?);
    Ok(entries
        .iter()
        .any(|e| addresses.iter().any(|a| e.target.covers(a))))
}

fn entry_from_row(row: &QueryResult) -> Result<NeverLogEntry, StoreError> {
    let value: String = row.col("value")?;
    Ok(NeverLogEntry {
        id: row.col("id")?,
        target: NeverLogTarget::parse(&value)
            .map_err(|e| sql::unexpected(format!("stored never-log entry is invalid: {e}")))?,
        created_at: row.ts("created_at")?,
    })
}

/// The ids of emails with an address the entry covers. A `LIKE` on the
/// stored address columns narrows the scan (it can only find too many: `_`
/// is a wildcard), and [`NeverLogTarget::covers`] decides.
async fn covered_emails<C: ConnectionTrait>(
    db: &C,
    target: &NeverLogTarget,
) -> Result<Vec<i64>, StoreError> {
    let value = target.value();
    // An address is a whole JSON string (`"lee@acme.com"`); a domain ends
    // one (`…@acme.com"` or `….acme.com"`).
    let (from_pattern, list_pattern) = match target {
        NeverLogTarget::Address(_) => (value.to_string(), format!("%\"{value}\"%")),
        NeverLogTarget::Domain(_) => (format!("%{value}"), format!("%{value}\"%")),
    };
    let rows = all(
        db,
        "SELECT id, from_email, to_json, cc_json, reply_to_json FROM emails \
         WHERE from_email LIKE $1 OR to_json LIKE $2 OR cc_json LIKE $2 \
         OR reply_to_json LIKE $2 ORDER BY id",
        vec![from_pattern.into(), list_pattern.into()],
    )
    .await?;
    let mut ids = Vec::new();
    for row in &rows {
        let mut addresses = row.addr_list("to_json")?;
        addresses.extend(row.addr_list("cc_json")?);
        addresses.extend(row.addr_list("reply_to_json")?);
        addresses.extend(row.opt_addr("from_email")?);
        if addresses.iter().any(|a| target.covers(a)) {
            ids.push(row.col("id")?);
        }
    }
    Ok(ids)
}

/// Erases the content of `ids`, their links and pending proposals, and with
/// `purge_activities` their activities and decided proposals. Removing the
/// links clears `emails.matched` (a trigger), which takes the email out of
/// the activity list, the search index and the digest.
async fn purge<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
    purge_activities: bool,
    outcome: &mut PurgeOutcome,
) -> Result<(), StoreError> {
    let mut params = Params::default();
    let list = params.bind_all(ids.iter().copied());
    let values = params.values;
    outcome.emails_purged += exec(
        db,
        &format!(
            "UPDATE emails SET subject = NULL, snippet = NULL, body = NULL, \
             attachments_json = NULL, content_stored = FALSE WHERE id IN ({list}) \
             AND (content_stored = TRUE OR subject IS NOT NULL OR snippet IS NOT NULL \
             OR body IS NOT NULL OR attachments_json IS NOT NULL)"
        ),
        values.clone(),
    )
    .await?;
    if purge_activities {
        outcome.activities_removed += exec(
            db,
            &format!("DELETE FROM activities WHERE email_id IN ({list})"),
            values.clone(),
        )
        .await?;
        exec(
            db,
            &format!(
                "DELETE FROM activity_proposals WHERE email_id IN ({list}) \
                 AND status <> 'pending'"
            ),
            values.clone(),
        )
        .await?;
    }
    // A reply draft's subject repeats the email's ("Re: …"); the draft row
    // stays (it records who drafted what) with its subject erased.
    exec(
        db,
        &format!("UPDATE drafts SET subject = '' WHERE email_id IN ({list}) AND subject <> ''"),
        values.clone(),
    )
    .await?;
    outcome.proposals_removed += exec(
        db,
        &format!(
            "DELETE FROM activity_proposals WHERE email_id IN ({list}) AND status = 'pending'"
        ),
        values.clone(),
    )
    .await?;
    exec(
        db,
        &format!("DELETE FROM email_investor_links WHERE email_id IN ({list})"),
        values,
    )
    .await?;
    Ok(())
}

const JOB_COLUMNS: &str = "kind, state, generation, cursor_id, total, scanned, matched, \
     fetched, proposals, skipped, requested_at, finished_at, last_error, attempts, \
     failing_email_id, retry_at";

async fn job<C: ConnectionTrait>(db: &C, kind: JobKind) -> Result<Option<Job>, StoreError> {
    let Some(row) = one(
        db,
        &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE kind = $1"),
        vec![kind.as_str().into()],
    )
    .await?
    else {
        return Ok(None);
    };
    let mut job = job_from_row(&row)?;
    job.skipped_emails = skipped_emails(db, kind).await?;
    Ok(Some(job))
}

/// The first skipped emails of the job's run, by id.
async fn skipped_emails<C: ConnectionTrait>(
    db: &C,
    kind: JobKind,
) -> Result<Vec<SkippedEmail>, StoreError> {
    all(
        db,
        "SELECT email_id, error, skipped_at FROM job_skipped_emails WHERE kind = $1 \
         ORDER BY email_id LIMIT $2",
        vec![kind.as_str().into(), (SKIPPED_SHOWN as i64).into()],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(SkippedEmail {
            email_id: EmailId(row.col("email_id")?),
            error: row.col("error")?,
            at: row.ts("skipped_at")?,
        })
    })
    .collect()
}

fn job_from_row(row: &QueryResult) -> Result<Job, StoreError> {
    let kind: String = row.col("kind")?;
    let state: String = row.col("state")?;
    Ok(Job {
        kind: JobKind::parse(&kind)
            .ok_or_else(|| sql::unexpected(format!("stored job kind `{kind}` is unknown")))?,
        state: JobState::parse(&state)
            .ok_or_else(|| sql::unexpected(format!("stored job state `{state}` is unknown")))?,
        generation: row.col("generation")?,
        cursor: row.col("cursor_id")?,
        total: row.u64("total")?,
        progress: JobProgress {
            scanned: row.u64("scanned")?,
            matched: row.u64("matched")?,
            fetched: row.u64("fetched")?,
            proposals: row.u64("proposals")?,
            skipped: row.u64("skipped")?,
        },
        requested_at: row.ts("requested_at")?,
        finished_at: row.opt_ts("finished_at")?,
        last_error: row.col("last_error")?,
        attempts: u32::try_from(row.u64("attempts")?).unwrap_or(u32::MAX),
        failing_email: row.col::<Option<i64>>("failing_email_id")?.map(EmailId),
        retry_at: row.opt_ts("retry_at")?,
        skipped_emails: Vec::new(),
    })
}

fn count(n: u64) -> Result<sea_orm::Value, StoreError> {
    i64::try_from(n)
        .map(Into::into)
        .map_err(|_| sql::unexpected(format!("count {n} is too large")))
}
