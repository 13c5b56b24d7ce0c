//! Captured mailboxes: listing, creation, enabling, the sync lease and the
//! sync cursor.

use jiff::Timestamp;
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult, Value};

use mailroom_ports::records::{CaptureAttempts, EmailAccount, SyncRecord, SyncState};
use mailroom_ports::{AccountId, EmailAddress, StoreError, UserId};

use super::sql::{self, Row, commit, exec, one, placeholders, write_txn};

const ACCOUNT_SELECT: &str = "SELECT a.id, a.user_id, u.email AS user_email, a.email_address, \
     a.enabled, a.history_id, a.sync_state, a.last_error, a.last_synced_at, \
     (SELECT COUNT(*) FROM email_account_messages s \
      WHERE s.account_id = a.id AND s.deleted_at IS NULL) AS message_count \
     FROM email_accounts a JOIN users u ON u.id = a.user_id";

/// How many ids go into one `IN (…)` list; far below both databases' limits.
const ID_CHUNK: usize = 500;

pub(crate) async fn own_addresses(
    db: &DatabaseConnection,
) -> Result<Vec<EmailAddress>, StoreError> {
    sql::all(
        db,
        "SELECT email_address FROM email_accounts ORDER BY email_address",
        vec![],
    )
    .await?
    .iter()
    .map(|row| row.addr("email_address"))
    .collect()
}

pub(crate) async fn list_accounts(
    db: &DatabaseConnection,
) -> Result<Vec<EmailAccount>, StoreError> {
    sql::all(db, &format!("{ACCOUNT_SELECT} ORDER BY a.id"), vec![])
        .await?
        .iter()
        .map(account_from_row)
        .collect()
}

pub(crate) async fn get_account<C: ConnectionTrait>(
    conn: &C,
    id: AccountId,
) -> Result<EmailAccount, StoreError> {
    let row = one(
        conn,
        &format!("{ACCOUNT_SELECT} WHERE a.id = $1"),
        vec![id.0.into()],
    )
    .await?
    .ok_or_else(|| not_found(id))?;
    account_from_row(&row)
}

pub(crate) async fn create_account(
    db: &DatabaseConnection,
    user_email: &EmailAddress,
    email_address: &EmailAddress,
) -> Result<EmailAccount, StoreError> {
    let txn = write_txn(db).await?;
    let user = one(
        &txn,
        "SELECT id FROM users WHERE email = $1",
        vec![user_email.as_str().into()],
    )
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("user {user_email}")))?;
    let user_id: i64 = user.col("id")?;
    let exists = one(
        &txn,
        "SELECT id FROM email_accounts WHERE email_address = $1",
        vec![email_address.as_str().into()],
    )
    .await?;
    if exists.is_some() {
        return Err(StoreError::Conflict(format!(
            "{email_address} is already a mailbox"
        )));
    }
    // A concurrent insert of the same address still fails on the unique
    // index, which maps to `Conflict` as well.
    let row = one(
        &txn,
        "INSERT INTO email_accounts (user_id, email_address, enabled, sync_state) \
         VALUES ($1, $2, TRUE, 'new') RETURNING id",
        vec![user_id.into(), email_address.as_str().into()],
    )
    .await?
    .ok_or_else(|| sql::unexpected("insert returned no id".to_string()))?;
    let account = get_account(&txn, AccountId(row.col("id")?)).await?;
    commit(txn).await?;
    Ok(account)
}

pub(crate) async fn set_account_enabled(
    db: &DatabaseConnection,
    id: AccountId,
    enabled: bool,
) -> Result<EmailAccount, StoreError> {
    let changed = exec(
        db,
        "UPDATE email_accounts SET enabled = $2 WHERE id = $1",
        vec![id.0.into(), enabled.into()],
    )
    .await?;
    if changed == 0 {
        return Err(not_found(id));
    }
    get_account(db, id).await
}

pub(crate) async fn try_lease_account(
    db: &DatabaseConnection,
    id: AccountId,
    holder: &str,
    now: Timestamp,
    until: Timestamp,
) -> Result<bool, StoreError> {
    // One conditional UPDATE: the row lock (PostgreSQL) or the write lock
    // (SQLite) makes the check and the take a single step across replicas.
    // A lease ends at its expiry instant.
    let taken = exec(
        db,
        "UPDATE email_accounts SET lease_holder = $2, lease_expires_at = $3 \
         WHERE id = $1 AND (lease_holder IS NULL OR lease_holder = $2 \
         OR lease_expires_at IS NULL OR lease_expires_at <= $4)",
        vec![id.0.into(), holder.into(), sql::ts(until), sql::ts(now)],
    )
    .await?;
    if taken == 1 {
        return Ok(true);
    }
    ensure_exists(db, id).await?;
    Ok(false)
}

pub(crate) async fn release_account(
    db: &DatabaseConnection,
    id: AccountId,
    holder: &str,
) -> Result<(), StoreError> {
    exec(
        db,
        "UPDATE email_accounts SET lease_holder = NULL, lease_expires_at = NULL \
         WHERE id = $1 AND lease_holder = $2",
        vec![id.0.into(), holder.into()],
    )
    .await?;
    Ok(())
}

pub(crate) async fn record_sync(
    db: &DatabaseConnection,
    id: AccountId,
    record: SyncRecord,
) -> Result<(), StoreError> {
    // `last_synced_at` is the time of the last *completed* sync, so only an
    // idle (successful) record moves it.
    let synced_at = (record.state == SyncState::Idle).then_some(record.at);
    let changed = exec(
        db,
        "UPDATE email_accounts SET history_id = COALESCE($2, history_id), sync_state = $3, \
         last_error = $4, last_synced_at = COALESCE($5, last_synced_at) WHERE id = $1",
        vec![
            id.0.into(),
            record.history_id.into(),
            record.state.as_str().into(),
            record.last_error.into(),
            sql::opt_ts(synced_at),
        ],
    )
    .await?;
    if changed == 0 {
        return Err(not_found(id));
    }
    Ok(())
}

pub(crate) async fn capture_attempts(
    db: &DatabaseConnection,
    id: AccountId,
    gmail_ids: &[String],
) -> Result<Vec<CaptureAttempts>, StoreError> {
    let mut attempts = Vec::new();
    for chunk in gmail_ids.chunks(ID_CHUNK) {
        let mut params: Vec<Value> = vec![id.0.into()];
        params.extend(chunk.iter().map(|g| Value::from(g.as_str())));
        let rows = sql::all(
            db,
            &format!(
                "SELECT gmail_message_id, occurrences, at FROM capture_errors \
                 WHERE account_id = $1 AND gmail_message_id IN ({})",
                placeholders(2, chunk.len())
            ),
            params,
        )
        .await?;
        for row in rows {
            let failures: i32 = row.col("occurrences")?;
            attempts.push(CaptureAttempts {
                gmail_message_id: row.col("gmail_message_id")?,
                failures: u32::try_from(failures).unwrap_or(0),
                last_at: row.ts("at")?,
            });
        }
    }
    Ok(attempts)
}

pub(crate) async fn known_gmail_ids(
    db: &DatabaseConnection,
    id: AccountId,
    gmail_ids: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut known = Vec::new();
    for chunk in gmail_ids.chunks(ID_CHUNK) {
        let mut params: Vec<Value> = vec![id.0.into()];
        params.extend(chunk.iter().map(|g| Value::from(g.as_str())));
        let rows = sql::all(
            db,
            &format!(
                "SELECT gmail_message_id FROM email_account_messages \
                 WHERE account_id = $1 AND gmail_message_id IN ({})",
                placeholders(2, chunk.len())
            ),
            params,
        )
        .await?;
        for row in rows {
            known.push(row.col::<String>("gmail_message_id")?);
        }
    }
    Ok(known)
}

pub(crate) async fn live_gmail_ids(
    db: &DatabaseConnection,
    id: AccountId,
) -> Result<Vec<String>, StoreError> {
    let rows = sql::all(
        db,
        "SELECT gmail_message_id FROM email_account_messages \
         WHERE account_id = $1 AND deleted_at IS NULL ORDER BY gmail_message_id",
        vec![id.0.into()],
    )
    .await?;
    rows.iter()
        .map(|row| row.col::<String>("gmail_message_id"))
        .collect()
}

pub(crate) async fn ensure_exists<C: ConnectionTrait>(
    conn: &C,
    id: AccountId,
) -> Result<(), StoreError> {
    match one(
        conn,
        "SELECT id FROM email_accounts WHERE id = $1",
        vec![id.0.into()],
    )
    .await?
    {
        Some(_) => Ok(()),
        None => Err(not_found(id)),
    }
}

fn not_found(id: AccountId) -> StoreError {
    StoreError::NotFound(format!("mailbox {id}"))
}

fn account_from_row(row: &QueryResult) -> Result<EmailAccount, StoreError> {
    Ok(EmailAccount {
        id: AccountId(row.col("id")?),
        user_id: UserId(row.col("user_id")?),
        user_email: row.addr("user_email")?,
        email_address: row.addr("email_address")?,
        enabled: row.flag("enabled")?,
        history_id: row.col("history_id")?,
        sync_state: parse_sync_state(&row.col::<String>("sync_state")?)?,
        last_error: row.col("last_error")?,
        last_synced_at: row.opt_ts("last_synced_at")?,
        message_count: row.u64("message_count")?,
    })
}

fn parse_sync_state(raw: &str) -> Result<SyncState, StoreError> {
    match raw {
        "new" => Ok(SyncState::New),
        "syncing" => Ok(SyncState::Syncing),
        "idle" => Ok(SyncState::Idle),
        "error" => Ok(SyncState::Error),
        other => Err(sql::unexpected(format!(
            "stored sync state `{other}` is unknown"
        ))),
    }
}
