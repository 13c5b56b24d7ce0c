//! What a reply draft needs about an email, and the audit row of each draft.

use sea_orm::DatabaseConnection;

use mailroom_ports::records::{DraftRecord, EmailHeader, ReplySighting, ReplySource};
use mailroom_ports::{AccountId, EmailId, StoreError, UserId};

use super::sql::{self, Row, exec, from_json, one, to_json};

pub(crate) async fn reply_source(
    db: &DatabaseConnection,
    email_id: EmailId,
) -> Result<ReplySource, StoreError> {
    let row = one(
        db,
        "SELECT id, dedup_key, message_id, from_email, from_name, to_json, cc_json, reply_to_json, \
         in_reply_to, references_json, sent_at, size, subject FROM emails WHERE id = $1",
        vec![email_id.0.into()],
    )
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("email {email_id}")))?;
    let header = EmailHeader {
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
        size: row.u64("size")?,
    };
    let sightings = sql::all(
        db,
        "SELECT s.account_id, a.email_address, a.user_id, s.gmail_thread_id \
         FROM email_account_messages s JOIN email_accounts a ON a.id = s.account_id \
         WHERE s.email_id = $1 AND s.deleted_at IS NULL ORDER BY s.account_id",
        vec![email_id.0.into()],
    )
    .await?
    .iter()
    .map(|s| {
        Ok(ReplySighting {
            account_id: AccountId(s.col("account_id")?),
            account_email: s.addr("email_address")?,
            user_id: UserId(s.col("user_id")?),
            gmail_thread_id: s.col("gmail_thread_id")?,
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(ReplySource {
        email_id,
        header,
        subject: row.col("subject")?,
        sightings,
    })
}

pub(crate) async fn record_draft(
    db: &DatabaseConnection,
    draft: DraftRecord,
) -> Result<(), StoreError> {
    exec(
        db,
        "INSERT INTO drafts (email_id, account_id, created_by, gmail_draft_id, to_json, cc_json, \
         subject, created_at, thread_id, reply_all, gmail_message_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        vec![
            draft.email_id.0.into(),
            draft.account_id.0.into(),
            draft.created_by.0.into(),
            draft.gmail_draft_id.into(),
            to_json(&draft.to)?.into(),
            to_json(&draft.cc)?.into(),
            draft.subject.into(),
            sql::ts(draft.created_at),
            draft.thread_id.into(),
            draft.reply_all.into(),
            draft.gmail_message_id.into(),
        ],
    )
    .await?;
    Ok(())
}
