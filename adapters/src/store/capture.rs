//! Storing captured mail: the deduplicated email row, the per-mailbox
//! sighting, investor links and the proposals they start (R-CAP-5/6/7).

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::Timestamp;
use sea_orm::{DatabaseConnection, DatabaseTransaction, Value};

use mailroom_ports::records::{CaptureOutcome, CaptureRequest, EmailContent, MatchLink};
use mailroom_ports::{AccountId, EmailId, StoreError};

use super::sql::{self, Params, Row, all, commit, exec, to_json, write_txn};

pub(crate) async fn capture(
    db: &DatabaseConnection,
    request: CaptureRequest,
) -> Result<CaptureOutcome, StoreError> {
    let mut outcomes = capture_many(db, vec![request]).await?;
    outcomes
        .pop()
        .ok_or_else(|| sql::unexpected("a capture gave no outcome".to_string()))
}

/// Stores every capture in one transaction, with the rows `capture` would
/// write one by one, in a few set-based statements per batch: a statement per
/// message (each a round trip to the database's thread) was what bounded a
/// bulk import. Outcomes come back in the order of `requests`, each as if
/// the requests had been stored one after another in that order.
pub(crate) async fn capture_many(
    db: &DatabaseConnection,
    requests: Vec<CaptureRequest>,
) -> Result<Vec<CaptureOutcome>, StoreError> {
    if requests.is_empty() {
        return Ok(Vec::new());
    }
    let txn = write_txn(db).await?;
    // The never-log list is read here, in the writing transaction, not taken
    // from the caller's matcher: an entry added while a sync runs holds back
    // the content, links and proposals of everything captured after it.
    super::trust::never_log_guard(&txn, super::trust::GuardMode::Shared).await?;
    let never_log = super::trust::never_log_entries(&txn).await?;
    let mut batch = Vec::with_capacity(requests.len());
    for request in &requests {
        let never_logged = never_log
            .iter()
            .any(|entry| entry.target.covers_header(&request.header));
        batch.push(Prepared::new(request, never_logged)?);
    }
    // Emails are written in dedup-key order across the whole batch: two
    // transactions sharing messages (one email in two teammates' mailboxes)
    // then wait on each other's rows in the same order, so PostgreSQL cannot
    // deadlock them. The sort is stable, so requests for one email keep
    // their order.
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by(|&a, &b| batch[a].dedup_key().cmp(batch[b].dedup_key()));
    let mut outcomes: Vec<Option<CaptureOutcome>> = batch.iter().map(|_| None).collect();
    for chunk in order.chunks(ROWS_PER_STATEMENT) {
        let items: Vec<&Prepared<'_>> = chunk.iter().map(|&i| &batch[i]).collect();
        for (&i, outcome) in chunk.iter().zip(capture_chunk(&txn, &items).await?) {
            outcomes[i] = Some(outcome);
        }
    }
    commit(txn).await?;
    Ok(outcomes.into_iter().flatten().collect())
}

/// Rows per multi-row statement. Small on purpose: SQLite finds a bound
/// value's name by walking the statement's list of names, so binding costs
/// grow with the square of the values in one statement (at 200 rows, 3,400
/// values, the lookups took 6% of an import's CPU).
const ROWS_PER_STATEMENT: usize = 32;

/// One request, with what the never-log list and the match rule leave of it.
struct Prepared<'a> {
    request: &'a CaptureRequest,
    links: &'a [MatchLink],
    /// Content is written only for matched email, whatever the caller passed.
    content: ContentColumns,
    has_content: bool,
    size: i64,
}

impl<'a> Prepared<'a> {
    fn new(request: &'a CaptureRequest, never_logged: bool) -> Result<Self, StoreError> {
        let size = i64::try_from(request.header.size).map_err(|_| {
            StoreError::Invalid(format!("message size {} is too large", request.header.size))
        })?;
        let links: &[MatchLink] = if never_logged { &[] } else { &request.links };
        let content = request.content.as_ref().filter(|_| !links.is_empty());
        Ok(Self {
            request,
            links,
            content: content_columns(content)?,
            has_content: content.is_some(),
            size,
        })
    }

    fn dedup_key(&self) -> &str {
        self.request.header.dedup_key.as_str()
    }
}

/// Writes one chunk of a batch (in dedup-key order) and tells what became
/// of each of its requests.
async fn capture_chunk(
    txn: &DatabaseTransaction,
    batch: &[&Prepared<'_>],
) -> Result<Vec<CaptureOutcome>, StoreError> {
    // The first request for a key writes the row, as it would one by one.
    let mut firsts: BTreeMap<&str, &Prepared<'_>> = BTreeMap::new();
    for item in batch {
        firsts.entry(item.dedup_key()).or_insert(item);
    }
    let mut p = Params::default();
    let rows: Vec<String> = firsts
        .values()
        .map(|item| {
            let header = &item.request.header;
            let (subject, snippet, body, attachments) = item.content.clone();
            let values: Vec<Value> = vec![
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
                subject.into(),
                snippet.into(),
                body.into(),
                attachments.into(),
                item.has_content.into(),
                sql::ts(header.sent_at),
                item.size.into(),
                sql::ts(item.request.captured_at),
            ];
            Ok(format!("({})", p.bind_all(values)))
        })
        .collect::<Result<_, StoreError>>()?;
    let inserted: HashSet<String> = all(
        txn,
        &format!(
            "INSERT INTO emails (dedup_key, message_id, from_email, from_name, to_json, cc_json, \
             reply_to_json, in_reply_to, references_json, subject, snippet, body, \
             attachments_json, content_stored, sent_at, size, created_at) \
             VALUES {} ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key",
            rows.join(", ")
        ),
        p.values,
    )
    .await?
    .iter()
    .map(|row| row.col::<String>("dedup_key"))
    .collect::<Result<_, _>>()?;

    // After ON CONFLICT DO NOTHING each row is either ours or committed by a
    // concurrent capture (PostgreSQL waits for it), so this read finds all.
    let mut p = Params::default();
    let keys = p.bind_all(firsts.keys().map(|k| k.to_string()));
    let mut stored: HashMap<String, (i64, bool)> = HashMap::new();
    for row in all(
        txn,
        &format!("SELECT id, dedup_key, content_stored FROM emails WHERE dedup_key IN ({keys})"),
        p.values,
    )
    .await?
    {
        stored.insert(
            row.col("dedup_key")?,
            (row.col("id")?, row.flag("content_stored")?),
        );
    }

    // Per request, in order: which email it is, whether it made the row, and
    // the content an earlier metadata-only row gains from a matched capture
    // (stored content never changes).
    let mut emails = Vec::with_capacity(batch.len());
    let mut made: HashSet<&str> = HashSet::new();
    for item in batch {
        let key = item.dedup_key();
        let (email_id, content_stored) = stored
            .get_mut(key)
            .ok_or_else(|| sql::unexpected("captured email row is missing".to_string()))?;
        let new_email = inserted.contains(key) && made.insert(key);
        if !new_email && item.has_content && !*content_stored {
            let (subject, snippet, body, attachments) = item.content.clone();
            exec(
                txn,
                "UPDATE emails SET subject = $2, snippet = $3, body = $4, attachments_json = $5, \
                 content_stored = TRUE WHERE id = $1 AND content_stored = FALSE",
                vec![
                    (*email_id).into(),
                    subject.into(),
                    snippet.into(),
                    body.into(),
                    attachments.into(),
                ],
            )
            .await?;
        }
        *content_stored |= item.has_content;
        emails.push((*email_id, new_email));
    }

    // Sightings: the first request for a (mailbox, message id) makes it.
    let mut p = Params::default();
    let rows: Vec<String> = batch
        .iter()
        .zip(&emails)
        .map(|(item, (email_id, _))| {
            let r = item.request;
            let values: Vec<Value> = vec![
                r.account_id.0.into(),
                r.gmail_message_id.as_str().into(),
                r.gmail_thread_id.as_str().into(),
                to_json(&r.labels)?.into(),
                r.is_sent.into(),
                sql::ts(r.captured_at),
            ];
            Ok(email_row(&mut p, *email_id, values))
        })
        .collect::<Result<_, StoreError>>()?;
    let new_sightings: HashSet<(i64, String)> = all(
        txn,
        &format!(
            "INSERT INTO email_account_messages (email_id, account_id, gmail_message_id, \
             gmail_thread_id, labels_json, is_sent, captured_at, sent_at) \
             VALUES {} ON CONFLICT (account_id, gmail_message_id) DO NOTHING \
             RETURNING account_id, gmail_message_id",
            rows.join(", ")
        ),
        p.values,
    )
    .await?
    .iter()
    .map(|row| Ok((row.col("account_id")?, row.col("gmail_message_id")?)))
    .collect::<Result<_, StoreError>>()?;
    let mut seen_sightings: HashSet<(i64, &str)> = HashSet::new();
    let mut sightings = Vec::with_capacity(batch.len());
    for item in batch {
        let r = item.request;
        let pair = (r.account_id.0, r.gmail_message_id.as_str());
        let new_sighting =
            seen_sightings.insert(pair) && new_sightings.contains(&(pair.0, pair.1.to_string()));
        if !new_sighting {
            // Seen again after Gmail reported it deleted: the message is back.
            exec(
                txn,
                "UPDATE email_account_messages SET deleted_at = NULL \
                 WHERE account_id = $1 AND gmail_message_id = $2 AND deleted_at IS NOT NULL",
                vec![r.account_id.0.into(), r.gmail_message_id.as_str().into()],
            )
            .await?;
        }
        sightings.push(new_sighting);
    }

    // Links, then one pending proposal per (email, investor); the first
    // request naming a pair is the one that created its proposal.
    let mut p = Params::default();
    let mut rows = Vec::new();
    for (item, (email_id, _)) in batch.iter().zip(&emails) {
        for link in item.links {
            let values: Vec<Value> = vec![
                link.investor_id.0.into(),
                link.contact_id.map(|c| c.0).into(),
                link.contact_id.map_or(0, |c| c.0).into(),
                link.matched_address.as_str().into(),
            ];
            rows.push(email_row(&mut p, *email_id, values));
        }
    }
    if !rows.is_empty() {
        exec(
            txn,
            &format!(
                "INSERT INTO email_investor_links (email_id, investor_id, contact_id, \
                 contact_key, matched_address, sent_at) VALUES {} \
                 ON CONFLICT (email_id, investor_id, contact_key) DO NOTHING",
                rows.join(", ")
            ),
            p.values,
        )
        .await?;
    }
    let mut p = Params::default();
    let mut rows = Vec::new();
    for (item, (email_id, _)) in batch.iter().zip(&emails) {
        for link in first_link_per_investor(item.links) {
            let values: Vec<Value> = vec![
                (*email_id).into(),
                link.investor_id.0.into(),
                link.contact_id.map(|c| c.0).into(),
                sql::ts(item.request.captured_at),
            ];
            rows.push(format!("({}, 'pending')", p.bind_all(values)));
        }
    }
    let mut new_proposals: HashSet<(i64, i64)> = HashSet::new();
    if !rows.is_empty() {
        for row in all(
            txn,
            &format!(
                "INSERT INTO activity_proposals (email_id, investor_id, contact_id, created_at, \
                 status) VALUES {} ON CONFLICT (email_id, investor_id) DO NOTHING \
                 RETURNING email_id, investor_id",
                rows.join(", ")
            ),
            p.values,
        )
        .await?
        {
            new_proposals.insert((row.col("email_id")?, row.col("investor_id")?));
        }
    }

    let mut outcomes = Vec::with_capacity(batch.len());
    for ((item, (email_id, new_email)), new_sighting) in batch.iter().zip(emails).zip(sightings) {
        let proposals_created = first_link_per_investor(item.links)
            .into_iter()
            .filter(|link| new_proposals.remove(&(email_id, link.investor_id.0)))
            .count() as u32;
        outcomes.push(CaptureOutcome {
            email_id: EmailId(email_id),
            new_email,
            new_sighting,
            proposals_created,
        });
    }
    Ok(outcomes)
}

/// One `VALUES` row of a table keyed by email that also keeps the email's
/// send time: `(email_id, values…, the email's sent_at)`.
fn email_row(p: &mut Params, email_id: i64, values: Vec<Value>) -> String {
    let id = p.bind(email_id);
    format!(
        "({id}, {}, (SELECT sent_at FROM emails WHERE id = {id}))",
        p.bind_all(values)
    )
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
