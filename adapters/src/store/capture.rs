//! Storing captured mail: the deduplicated email row, the per-mailbox
//! sighting, investor links and the proposals they start (R-CAP-5/6/7).

use std::collections::BTreeMap;

use jiff::Timestamp;
use sea_orm::{DatabaseConnection, DatabaseTransaction};

use mailroom_ports::records::{CaptureOutcome, CaptureRequest, EmailContent, MatchLink};
use mailroom_ports::{AccountId, EmailId, StoreError};

use super::sql::{self, Row, commit, exec, one, to_json, write_txn};

pub(crate) async fn capture(
    db: &DatabaseConnection,
    request: CaptureRequest,
) -> Result<CaptureOutcome, StoreError> {
    let mut outcomes = capture_many(db, vec![request]).await?;
    outcomes
        .pop()
        .ok_or_else(|| sql::unexpected("a capture gave no outcome".to_string()))
}

/// Stores every capture in one transaction: the rows `capture` would write
/// one by one, with one commit (a commit per message was what bounded a
/// bulk import). Outcomes come back in the order of `requests`.
pub(crate) async fn capture_many(
    db: &DatabaseConnection,
    requests: Vec<CaptureRequest>,
) -> Result<Vec<CaptureOutcome>, StoreError> {
    if requests.is_empty() {
        return Ok(Vec::new());
    }
    // Emails are written in dedup-key order: two batches sharing messages
    // (one email in two teammates' mailboxes) then wait on each other's rows
    // in the same order, so PostgreSQL cannot deadlock them.
    let mut order: Vec<usize> = (0..requests.len()).collect();
    order.sort_by(|&a, &b| {
        requests[a]
            .header
            .dedup_key
            .as_str()
            .cmp(requests[b].header.dedup_key.as_str())
    });
    let txn = write_txn(db).await?;
    // The never-log list is read here, in the writing transaction, not taken
    // from the caller's matcher: an entry added while a sync runs holds back
    // the content, links and proposals of everything captured after it.
    super::trust::never_log_guard(&txn, super::trust::GuardMode::Shared).await?;
    let never_log = super::trust::never_log_entries(&txn).await?;
    let mut outcomes: Vec<Option<CaptureOutcome>> = requests.iter().map(|_| None).collect();
    for i in order {
        let request = &requests[i];
        let never_logged = never_log
            .iter()
            .any(|entry| entry.target.covers_header(&request.header));
        outcomes[i] = Some(capture_in(&txn, request, never_logged).await?);
    }
    commit(txn).await?;
    Ok(outcomes.into_iter().flatten().collect())
}

/// One capture inside the caller's writing transaction.
async fn capture_in(
    txn: &DatabaseTransaction,
    request: &CaptureRequest,
    never_logged: bool,
) -> Result<CaptureOutcome, StoreError> {
    let header = &request.header;
    let captured_at = sql::ts(request.captured_at);
    let size = i64::try_from(header.size)
        .map_err(|_| StoreError::Invalid(format!("message size {} is too large", header.size)))?;
    let links: &[MatchLink] = if never_logged { &[] } else { &request.links };
    // R-CAP-5 is kept here too: content is written only for matched email,
    // whatever the caller passed.
    let content = request.content.as_ref().filter(|_| !links.is_empty());
    let (subject, snippet, body, attachments) = content_columns(content)?;
    let inserted = exec(
        txn,
        "INSERT INTO emails (dedup_key, message_id, from_email, from_name, to_json, cc_json, \
         reply_to_json, in_reply_to, references_json, subject, snippet, body, attachments_json, \
         content_stored, sent_at, size, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
         ON CONFLICT (dedup_key) DO NOTHING",
        vec![
            header.dedup_key.as_str().into(),
            header.message_id.clone().into(),
            header
                .from_email
                .as_ref()
                .map(|a| a.as_str().to_string())
                .into(),
            header.from_name.clone().into(),
            to_json(&header.to)?.into(),
            to_json(&header.cc)?.into(),
            to_json(&header.reply_to)?.into(),
            header.in_reply_to.clone().into(),
            to_json(&header.references)?.into(),
            subject.clone().into(),
            snippet.clone().into(),
            body.clone().into(),
            attachments.clone().into(),
            content.is_some().into(),
            sql::ts(header.sent_at),
            size.into(),
            captured_at.clone(),
        ],
    )
    .await?;
    let new_email = inserted == 1;
    // After ON CONFLICT DO NOTHING the row is either ours or committed by a
    // concurrent capture (PostgreSQL waits for it), so this read finds it.
    let row = one(
        txn,
        "SELECT id, content_stored FROM emails WHERE dedup_key = $1",
        vec![header.dedup_key.as_str().into()],
    )
    .await?
    .ok_or_else(|| sql::unexpected("captured email row is missing".to_string()))?;
    let email_id: i64 = row.col("id")?;

    // An email first stored unmatched (metadata only) gets its content the
    // first time a mailbox captures it matched; stored content never changes.
    if !new_email && content.is_some() && !row.flag("content_stored")? {
        exec(
            txn,
            "UPDATE emails SET subject = $2, snippet = $3, body = $4, attachments_json = $5, \
             content_stored = TRUE WHERE id = $1 AND content_stored = FALSE",
            vec![
                email_id.into(),
                subject.into(),
                snippet.into(),
                body.into(),
                attachments.into(),
            ],
        )
        .await?;
    }

    let new_sighting = exec(
        txn,
        "INSERT INTO email_account_messages (account_id, email_id, gmail_message_id, \
         gmail_thread_id, labels_json, is_sent, deleted_at, captured_at, sent_at) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, (SELECT sent_at FROM emails WHERE id = $2)) \
         ON CONFLICT (account_id, gmail_message_id) DO NOTHING",
        vec![
            request.account_id.0.into(),
            email_id.into(),
            request.gmail_message_id.as_str().into(),
            request.gmail_thread_id.as_str().into(),
            to_json(&request.labels)?.into(),
            request.is_sent.into(),
            captured_at.clone(),
        ],
    )
    .await?
        == 1;
    if !new_sighting {
        // Seen again after Gmail reported it deleted: the message is back.
        exec(
            txn,
            "UPDATE email_account_messages SET deleted_at = NULL \
             WHERE account_id = $1 AND gmail_message_id = $2 AND deleted_at IS NOT NULL",
            vec![
                request.account_id.0.into(),
                request.gmail_message_id.as_str().into(),
            ],
        )
        .await?;
    }

    for link in links {
        exec(
            txn,
            "INSERT INTO email_investor_links (email_id, investor_id, contact_id, contact_key, \
             matched_address, sent_at) \
             VALUES ($1, $2, $3, $4, $5, (SELECT sent_at FROM emails WHERE id = $1)) \
             ON CONFLICT (email_id, investor_id, contact_key) DO NOTHING",
            vec![
                email_id.into(),
                link.investor_id.0.into(),
                link.contact_id.map(|c| c.0).into(),
                link.contact_id.map_or(0, |c| c.0).into(),
                link.matched_address.as_str().into(),
            ],
        )
        .await?;
    }

    let mut proposals_created = 0;
    for link in first_link_per_investor(links) {
        proposals_created += exec(
            txn,
            "INSERT INTO activity_proposals (email_id, investor_id, contact_id, status, created_at) \
             VALUES ($1, $2, $3, 'pending', $4) ON CONFLICT (email_id, investor_id) DO NOTHING",
            vec![
                email_id.into(),
                link.investor_id.0.into(),
                link.contact_id.map(|c| c.0).into(),
                captured_at.clone(),
            ],
        )
        .await? as u32;
    }

    Ok(CaptureOutcome {
        email_id: EmailId(email_id),
        new_email,
        new_sighting,
        proposals_created,
    })
}

pub(crate) async fn soft_delete_sighting(
    db: &DatabaseConnection,
    id: AccountId,
    gmail_message_id: &str,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let changed = exec(
        db,
        "UPDATE email_account_messages SET deleted_at = $3 \
         WHERE account_id = $1 AND gmail_message_id = $2 AND deleted_at IS NULL",
        vec![id.0.into(), gmail_message_id.into(), sql::ts(at)],
    )
    .await?;
    Ok(changed > 0)
}

pub(crate) async fn record_capture_error(
    db: &DatabaseConnection,
    id: AccountId,
    gmail_message_id: &str,
    error: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    exec(
        db,
        "INSERT INTO capture_errors (account_id, gmail_message_id, error, occurrences, at) \
         VALUES ($1, $2, $3, 1, $4) ON CONFLICT (account_id, gmail_message_id) DO UPDATE \
         SET error = excluded.error, at = excluded.at, occurrences = capture_errors.occurrences + 1",
        vec![id.0.into(), gmail_message_id.into(), error.into(), sql::ts(at)],
    )
    .await?;
    Ok(())
}

type ContentColumns = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn content_columns(content: Option<&EmailContent>) -> Result<ContentColumns, StoreError> {
    match content {
        None => Ok((None, None, None, None)),
        Some(c) => Ok((
            c.subject.clone(),
            c.snippet.clone(),
            c.body.clone(),
            Some(to_json(&c.attachments)?),
        )),
    }
}

/// One link per investor (the first given), which names the proposal's
/// contact: a proposal is per (email, investor), however many of the
/// investor's contacts matched.
pub(crate) fn first_link_per_investor(links: &[MatchLink]) -> Vec<&MatchLink> {
    let mut firsts: BTreeMap<i64, &MatchLink> = BTreeMap::new();
    for link in links {
        firsts.entry(link.investor_id.0).or_insert(link);
    }
    firsts.into_values().collect()
}
