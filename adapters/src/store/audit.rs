//! What the completeness audit reads and records: live sightings in a
//! window, parse failures with no sighting, matched mail without content,
//! and the last figure per mailbox.

use jiff::Timestamp;
use sea_orm::DatabaseConnection;

use mailroom_ports::trust::{AuditFigure, CaptureFailure};
use mailroom_ports::{AccountId, StoreError};

use super::sql::{self, Row, all, exec, one};

/// Sightings loaded by `capture import` are not Gmail's: the audit neither
/// counts them as captured from Gmail nor reports them as extra (a repair
/// would soft-delete them), and never asks Gmail for their content.
fn imported_pattern() -> sea_orm::Value {
    format!("{}%", mailroom_ports::gmail::IMPORTED_ID_PREFIX).into()
}

pub(crate) async fn live_gmail_ids_since(
    db: &DatabaseConnection,
    id: AccountId,
    since: Timestamp,
) -> Result<Vec<String>, StoreError> {
    all(
        db,
        "SELECT gmail_message_id FROM email_account_messages \
         WHERE account_id = $1 AND deleted_at IS NULL AND sent_at >= $2 \
         AND gmail_message_id NOT LIKE $3 ORDER BY id",
        vec![id.0.into(), sql::ts(since), imported_pattern()],
    )
    .await?
    .iter()
    .map(|r| r.col("gmail_message_id"))
    .collect()
}

pub(crate) async fn failed_captures(
    db: &DatabaseConnection,
    id: AccountId,
) -> Result<Vec<CaptureFailure>, StoreError> {
    all(
        db,
        "SELECT c.gmail_message_id, c.error FROM capture_errors c WHERE c.account_id = $1 \
         AND NOT EXISTS (SELECT 1 FROM email_account_messages s WHERE s.account_id = $1 \
         AND s.gmail_message_id = c.gmail_message_id) ORDER BY c.at DESC, c.id DESC",
        vec![id.0.into()],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(CaptureFailure {
            gmail_message_id: r.col("gmail_message_id")?,
            error: r.col("error")?,
        })
    })
    .collect()
}

pub(crate) async fn content_missing(
    db: &DatabaseConnection,
    id: AccountId,
) -> Result<Vec<String>, StoreError> {
    all(
        db,
        "SELECT s.gmail_message_id FROM email_account_messages s \
         JOIN emails e ON e.id = s.email_id WHERE s.account_id = $1 \
         AND s.deleted_at IS NULL AND e.matched = TRUE AND e.content_stored = FALSE \
         AND s.gmail_message_id NOT LIKE $2 ORDER BY s.id",
        vec![id.0.into(), imported_pattern()],
    )
    .await?
    .iter()
    .map(|r| r.col("gmail_message_id"))
    .collect()
}

pub(crate) async fn record_audit(
    db: &DatabaseConnection,
    id: AccountId,
    figure: AuditFigure,
) -> Result<(), StoreError> {
    let count =
        |n: u64| i64::try_from(n).map_err(|_| sql::unexpected(format!("count {n} is too large")));
    exec(
        db,
        "INSERT INTO mailbox_audits (account_id, in_gmail, captured, at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (account_id) DO UPDATE SET \
         in_gmail = excluded.in_gmail, captured = excluded.captured, at = excluded.at",
        vec![
            id.0.into(),
            count(figure.in_gmail)?.into(),
            count(figure.captured)?.into(),
            sql::ts(figure.at),
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn last_audit(
    db: &DatabaseConnection,
    id: AccountId,
) -> Result<Option<AuditFigure>, StoreError> {
    one(
        db,
        "SELECT in_gmail, captured, at FROM mailbox_audits WHERE account_id = $1",
        vec![id.0.into()],
    )
    .await?
    .map(|r| {
        Ok(AuditFigure {
            in_gmail: r.u64("in_gmail")?,
            captured: r.u64("captured")?,
            at: r.ts("at")?,
        })
    })
    .transpose()
}
