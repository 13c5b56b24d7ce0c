//! The logs mailroom keeps, read back one keyset page at a time: digest
//! sends, a mailbox's capture errors, and the drafts made.

use sea_orm::{DatabaseConnection, QueryResult};

use mailroom_ports::reads::{
    CaptureErrorEntry, DigestSendEntry, DraftEntry, Keyset, Page, PageRequest,
};
use mailroom_ports::records::DigestTrigger;
use mailroom_ports::{AccountId, EmailId, StoreError, TransportKind, UserId};

use super::paging::{after_clause, effective_limit, empty, finish, order_and_limit};
use super::sql::{self, Params, Row, one};

pub(crate) async fn digest_sends(
    db: &DatabaseConnection,
    page: PageRequest,
) -> Result<Page<DigestSendEntry>, StoreError> {
    let Some(limit) = effective_limit(page) else {
        return Ok(empty());
    };
    let mut p = Params::default();
    let after = after_clause(&mut p, "at", "id", page.after);
    let order = order_and_limit(&mut p, "at", "id", limit);
    let rows = sql::all(
        db,
        &format!(
            "SELECT id, trigger_kind, window_since, window_until, transport, recipients, \
             error_kind, at FROM digest_sends WHERE 1 = 1{after}{order}"
        ),
        p.values,
    )
    .await?;
    let items = rows
        .iter()
        .map(digest_send)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(finish(items, limit, |e| Keyset { at: e.at, id: e.id }))
}

fn digest_send(row: &QueryResult) -> Result<DigestSendEntry, StoreError> {
    let recipients: i32 = row.col("recipients")?;
    Ok(DigestSendEntry {
        id: row.col("id")?,
        trigger: parse_trigger(&row.col::<String>("trigger_kind")?)?,
        window_since: row.ts("window_since")?,
        window_until: row.ts("window_until")?,
        transport: row
            .col::<Option<String>>("transport")?
            .as_deref()
            .map(parse_transport)
            .transpose()?,
        recipients: u32::try_from(recipients).unwrap_or(0),
        error_kind: row.col("error_kind")?,
        at: row.ts("at")?,
    })
}

/// The stored names are the ones `record_digest_send` writes.
fn parse_trigger(raw: &str) -> Result<DigestTrigger, StoreError> {
    match raw {
        "scheduled" => Ok(DigestTrigger::Scheduled),
        "send_now" => Ok(DigestTrigger::SendNow),
        "test_email" => Ok(DigestTrigger::TestEmail),
        other => Err(sql::unexpected(format!(
            "stored digest trigger `{other}` is unknown"
        ))),
    }
}

fn parse_transport(raw: &str) -> Result<TransportKind, StoreError> {
    match raw {
        "gmail" => Ok(TransportKind::Gmail),
        "smtp" => Ok(TransportKind::Smtp),
        "outbox" => Ok(TransportKind::Outbox),
        other => Err(sql::unexpected(format!(
            "stored transport `{other}` is unknown"
        ))),
    }
}

pub(crate) async fn capture_errors(
    db: &DatabaseConnection,
    account: AccountId,
    page: PageRequest,
) -> Result<Page<CaptureErrorEntry>, StoreError> {
    if one(
        db,
        "SELECT id FROM email_accounts WHERE id = $1",
        vec![account.0.into()],
    )
    .await?
    .is_none()
    {
        return Err(StoreError::NotFound(format!("mailbox {account}")));
    }
    let Some(limit) = effective_limit(page) else {
        return Ok(empty());
    };
    let mut p = Params::default();
    let account = p.bind(account.0);
    let after = after_clause(&mut p, "at", "id", page.after);
    let order = order_and_limit(&mut p, "at", "id", limit);
    let rows = sql::all(
        db,
        &format!(
            "SELECT id, gmail_message_id, error, occurrences, at FROM capture_errors \
             WHERE account_id = {account}{after}{order}"
        ),
        p.values,
    )
    .await?;
    let items = rows
        .iter()
        .map(|row| {
            let occurrences: i32 = row.col("occurrences")?;
            Ok(CaptureErrorEntry {
                id: row.col("id")?,
                gmail_message_id: row.col("gmail_message_id")?,
                error: row.col("error")?,
                occurrences: u32::try_from(occurrences).unwrap_or(0),
                at: row.ts("at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(finish(items, limit, |e| Keyset { at: e.at, id: e.id }))
}

pub(crate) async fn list_drafts(
    db: &DatabaseConnection,
    created_by: Option<UserId>,
    page: PageRequest,
) -> Result<Page<DraftEntry>, StoreError> {
    let Some(limit) = effective_limit(page) else {
        return Ok(empty());
    };
    let mut p = Params::default();
    let mut filter = String::new();
    if let Some(user) = created_by {
        filter = format!(" AND d.created_by = {}", p.bind(user.0));
    }
    let after = after_clause(&mut p, "d.created_at", "d.id", page.after);
    let order = order_and_limit(&mut p, "d.created_at", "d.id", limit);
    // Drafts recorded before the thread was kept fall back to the thread of
    // the sighting they were made from.
    let rows = sql::all(
        db,
        &format!(
            "SELECT d.id, d.created_by, u.email, d.email_id, d.account_id, d.gmail_draft_id, \
             COALESCE(d.thread_id, (SELECT MIN(s.gmail_thread_id) FROM email_account_messages s \
               WHERE s.account_id = d.account_id AND s.email_id = d.email_id)) AS thread_id, \
             d.reply_all, d.created_at, d.gmail_message_id, a.email_address \
             FROM drafts d JOIN users u ON u.id = d.created_by \
             JOIN email_accounts a ON a.id = d.account_id \
             WHERE 1 = 1{filter}{after}{order}"
        ),
        p.values,
    )
    .await?;
    let items = rows
        .iter()
        .map(|row| {
            Ok(DraftEntry {
                id: row.col("id")?,
                user_id: UserId(row.col("created_by")?),
                user_email: row.addr("email")?,
                email_id: EmailId(row.col("email_id")?),
                account_id: AccountId(row.col("account_id")?),
                gmail_draft_id: row.col("gmail_draft_id")?,
                thread_id: row.col("thread_id")?,
                gmail_message_id: row.col("gmail_message_id")?,
                mailbox: row.addr("email_address")?,
                reply_all: row.flag("reply_all")?,
                created_at: row.ts("created_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(finish(items, limit, |e| Keyset {
        at: e.created_at,
        id: e.id,
    }))
}
