//! The full view of one captured email for the activity detail: the same
//! matched-only and live-only gates as the list, then its content, investors
//! with the contacts that matched, live mailboxes and thread neighbours.

use sea_orm::DatabaseConnection;

use mailroom_ports::reads::{
    EmailDetail, LinkedContact, LinkedInvestor, THREAD_LIMIT, ThreadEmail,
};
use mailroom_ports::records::{Attachment, Direction, InvestorRef, MailboxSighting};
use mailroom_ports::{AccountId, ContactId, EmailId, InvestorId, StoreError};

use super::activity::OUTBOUND_SQL;
use super::sql::{self, Row, from_json, one};

/// Matched: at least one investor link. Unmatched mail has no content to
/// show (it is stored as metadata only), so it is not found here.
const MATCHED_SQL: &str = "EXISTS (SELECT 1 FROM email_investor_links l WHERE l.email_id = e.id)";

/// Live: at least one sighting not soft-deleted.
const LIVE_SQL: &str = "EXISTS (SELECT 1 FROM email_account_messages s \
     WHERE s.email_id = e.id AND s.deleted_at IS NULL)";

pub(crate) async fn email_detail(
    db: &DatabaseConnection,
    email_id: EmailId,
) -> Result<EmailDetail, StoreError> {
    let row = one(
        db,
        &format!(
            "SELECT e.id, e.message_id, e.subject, e.snippet, e.body, e.from_email, e.from_name, \
             e.reply_to_json, e.to_json, e.cc_json, e.sent_at, e.attachments_json, \
             {OUTBOUND_SQL} AS outbound FROM emails e \
             WHERE e.id = $1 AND {MATCHED_SQL} AND {LIVE_SQL}"
        ),
        vec![email_id.0.into()],
    )
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("email {email_id}")))?;

    let attachments: Vec<Attachment> = match row.col::<Option<String>>("attachments_json")? {
        Some(raw) => from_json(&raw)?,
        None => Vec::new(),
    };
    let mailboxes = mailboxes(db, email_id).await?;
    let (thread_id, thread) = thread(db, email_id).await?;
    Ok(EmailDetail {
        email_id,
        message_id: row.col("message_id")?,
        thread_id,
        subject: row.col("subject")?,
        snippet: row.col("snippet")?,
        body: row.col("body")?,
        from_email: row.opt_addr("from_email")?,
        from_name: row.col("from_name")?,
        reply_to: row.addr_list("reply_to_json")?,
        to: row.addr_list("to_json")?,
        cc: row.addr_list("cc_json")?,
        sent_at: row.ts("sent_at")?,
        direction: direction(row.flag("outbound")?),
        attachments,
        investors: investors(db, email_id).await?,
        mailboxes,
        thread,
    })
}

fn direction(outbound: bool) -> Direction {
    if outbound {
        Direction::Outbound
    } else {
        Direction::Inbound
    }
}

/// Every linked investor (graveyard or not, as the list shows them), by
/// name, each with the contacts whose address matched.
async fn investors(
    db: &DatabaseConnection,
    email_id: EmailId,
) -> Result<Vec<LinkedInvestor>, StoreError> {
    let rows = sql::all(
        db,
        "SELECT i.id, i.name, i.graveyard, l.contact_id, c.name AS contact_name, \
         l.matched_address FROM email_investor_links l \
         JOIN investors i ON i.id = l.investor_id \
         LEFT JOIN contacts c ON c.id = l.contact_id \
         WHERE l.email_id = $1 ORDER BY i.name, i.id, c.name, l.contact_key",
        vec![email_id.0.into()],
    )
    .await?;
    // Ordered by investor, so an investor's rows are adjacent.
    let mut investors: Vec<LinkedInvestor> = Vec::new();
    for row in rows {
        let id = InvestorId(row.col("id")?);
        if investors.last().map(|i| i.investor.id) != Some(id) {
            investors.push(LinkedInvestor {
                investor: InvestorRef {
                    id,
                    name: row.col("name")?,
                    graveyard: row.flag("graveyard")?,
                },
                contacts: Vec::new(),
            });
        }
        let contact: Option<i64> = row.col("contact_id")?;
        let name: Option<String> = row.col("contact_name")?;
        if let (Some(contact), Some(name), Some(investor)) = (contact, name, investors.last_mut()) {
            investor.contacts.push(LinkedContact {
                id: ContactId(contact),
                name,
                email: row.addr("matched_address")?,
            });
        }
    }
    Ok(investors)
}

async fn mailboxes(
    db: &DatabaseConnection,
    email_id: EmailId,
) -> Result<Vec<MailboxSighting>, StoreError> {
    sql::all(
        db,
        "SELECT s.account_id, a.email_address, s.is_sent \
         FROM email_account_messages s JOIN email_accounts a ON a.id = s.account_id \
         WHERE s.email_id = $1 AND s.deleted_at IS NULL ORDER BY s.account_id, s.id",
        vec![email_id.0.into()],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(MailboxSighting {
            account_id: AccountId(row.col("account_id")?),
            email_address: row.addr("email_address")?,
            is_sent: row.flag("is_sent")?,
        })
    })
    .collect()
}

/// The email's Gmail thread id (first live mailbox by id) and the other
/// matched emails with a live sighting in the same thread of the same
/// mailbox, newest first.
async fn thread(
    db: &DatabaseConnection,
    email_id: EmailId,
) -> Result<(String, Vec<ThreadEmail>), StoreError> {
    let thread_id: String = one(
        db,
        "SELECT gmail_thread_id FROM email_account_messages \
         WHERE email_id = $1 AND deleted_at IS NULL ORDER BY account_id, id LIMIT 1",
        vec![email_id.0.into()],
    )
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("email {email_id}")))?
    .col("gmail_thread_id")?;

    let rows = sql::all(
        db,
        &format!(
            "SELECT e.id, e.subject, e.from_email, e.sent_at, {OUTBOUND_SQL} AS outbound \
             FROM emails e WHERE e.id <> $1 AND {MATCHED_SQL} AND EXISTS ( \
               SELECT 1 FROM email_account_messages s \
               JOIN email_account_messages mine ON mine.account_id = s.account_id \
                 AND mine.gmail_thread_id = s.gmail_thread_id \
               WHERE s.email_id = e.id AND s.deleted_at IS NULL \
                 AND mine.email_id = $1 AND mine.deleted_at IS NULL) \
             ORDER BY e.sent_at DESC, e.id DESC LIMIT $2"
        ),
        vec![email_id.0.into(), i64::from(THREAD_LIMIT).into()],
    )
    .await?;
    let thread = rows
        .iter()
        .map(|row| {
            Ok(ThreadEmail {
                email_id: EmailId(row.col("id")?),
                subject: row.col("subject")?,
                from_email: row.opt_addr("from_email")?,
                sent_at: row.ts("sent_at")?,
                direction: direction(row.flag("outbound")?),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((thread_id, thread))
}
