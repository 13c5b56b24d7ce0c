//! The digest's reads and bookkeeping: the window's rows, settings, the
//! once-per-day claim shared by replicas, and the send log.

use jiff::Timestamp;
use jiff::civil::Date;
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult};

use mailroom_ports::records::{DigestClaim, DigestRow, DigestSendLog, DigestState, DigestTrigger};
use mailroom_ports::store::keys;
use mailroom_ports::{AccountId, EmailId, InvestorId, StoreError, UserId};

use super::sql::{self, Row, commit, exec, one, write_txn};

pub(crate) async fn digest_rows(
    db: &DatabaseConnection,
    since: Timestamp,
    until: Timestamp,
    sent_after: Timestamp,
) -> Result<Vec<DigestRow>, StoreError> {
    // Inner joins carry the rules: a live sighting, in a mailbox of an active
    // user, of an email linked to an investor. Names of soft-deleted investors
    // and contacts are dropped so the digest falls back to the matched address.
    //
    // The cost must follow the window: the walk starts at the window's
    // sightings (capture-time index) and probes every other table by key.
    // CROSS JOIN fixes that order on SQLite, whose sampled statistics
    // otherwise led it, at 1,000,000 emails, to walk every sighting of every
    // active mailbox (21 s); PostgreSQL plans CROSS JOIN like any inner join.
    // Links carry their email's send time, and bounding them by it lets
    // PostgreSQL take only the window's links by index (migration 10) instead
    // of hashing every link ever made.
    let rows = sql::all(
        db,
        "SELECT e.id AS email_id, u.id AS user_id, u.display_name, a.id AS account_id, \
         a.email_address, s.is_sent, e.from_email, e.from_name, e.to_json, e.subject, e.snippet, \
         e.sent_at, l.investor_id, \
         CASE WHEN i.deleted_at IS NULL THEN i.name END AS investor_name, \
         CASE WHEN c.deleted_at IS NULL THEN c.name END AS contact_name, l.matched_address \
         FROM email_account_messages s \
         CROSS JOIN emails e \
         CROSS JOIN email_accounts a \
         CROSS JOIN users u \
         CROSS JOIN email_investor_links l \
         CROSS JOIN investors i \
         LEFT JOIN contacts c ON c.id = l.contact_id \
         WHERE s.captured_at > $1 AND s.captured_at <= $2 AND s.deleted_at IS NULL \
         AND e.id = s.email_id AND e.sent_at > $3 \
         AND a.id = s.account_id \
         AND u.id = a.user_id AND u.is_active = TRUE \
         AND l.email_id = e.id AND l.sent_at > $3 \
         AND i.id = l.investor_id \
         ORDER BY e.sent_at, e.id, a.id, l.investor_id, l.contact_key",
        vec![sql::ts(since), sql::ts(until), sql::ts(sent_after)],
    )
    .await?;
    rows.iter().map(digest_row).collect()
}

fn digest_row(row: &QueryResult) -> Result<DigestRow, StoreError> {
    Ok(DigestRow {
        email_id: EmailId(row.col("email_id")?),
        user_id: UserId(row.col("user_id")?),
        user_name: row.col("display_name")?,
        account_id: AccountId(row.col("account_id")?),
        account_email: row.addr("email_address")?,
        is_sent: row.flag("is_sent")?,
        sighting_live: true,
        user_active: true,
        from_email: row.opt_addr("from_email")?,
        from_name: row.col("from_name")?,
        to: row.addr_list("to_json")?,
        subject: row.col("subject")?,
        snippet: row.col("snippet")?,
        sent_at: row.ts("sent_at")?,
        investor_id: InvestorId(row.col("investor_id")?),
        investor_name: row.col("investor_name")?,
        contact_name: row.col("contact_name")?,
        matched_address: row.addr("matched_address")?,
    })
}

pub(crate) async fn get_setting<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<serde_json::Value>, StoreError> {
    match one(
        conn,
        "SELECT value FROM app_settings WHERE key = $1",
        vec![key.into()],
    )
    .await?
    {
        None => Ok(None),
        Some(row) => Ok(Some(sql::from_json(&row.col::<String>("value")?)?)),
    }
}

pub(crate) async fn put_setting<C: ConnectionTrait>(
    conn: &C,
    key: &str,
    value: &serde_json::Value,
) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT INTO app_settings (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        vec![key.into(), sql::to_json(value)?.into()],
    )
    .await?;
    Ok(())
}

pub(crate) async fn digest_state(db: &DatabaseConnection) -> Result<DigestState, StoreError> {
    let last_sent_at = match get_setting(db, keys::DIGEST_LAST_SENT_AT).await? {
        Some(serde_json::Value::String(raw)) => Some(sql::parse_ts(&raw)?),
        Some(other) => return Err(bad_setting(keys::DIGEST_LAST_SENT_AT, &other)),
        None => None,
    };
    let last_sent_date = match get_setting(db, keys::DIGEST_LAST_SENT_DATE).await? {
        Some(serde_json::Value::String(raw)) => Some(sql::parse_date(&raw)?),
        Some(other) => return Err(bad_setting(keys::DIGEST_LAST_SENT_DATE, &other)),
        None => None,
    };
    Ok(DigestState {
        last_sent_at,
        last_sent_date,
    })
}

fn bad_setting(key: &str, value: &serde_json::Value) -> StoreError {
    sql::unexpected(format!("setting {key} holds {value}, not a string"))
}

pub(crate) async fn claim_digest_day(
    db: &DatabaseConnection,
    day: Date,
    holder: &str,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<Option<DigestClaim>, StoreError> {
    let day = sql::date_text(day);
    // First claim of the day: the primary key lets exactly one INSERT win;
    // the loser's INSERT waits for the winner's commit and then does nothing.
    let inserted = exec(
        db,
        "INSERT INTO digest_claims (day, holder, expires_at, attempts, completed) \
         VALUES ($1, $2, $3, 0, FALSE) ON CONFLICT (day) DO NOTHING",
        vec![day.as_str().into(), holder.into(), sql::ts(lease_until)],
    )
    .await?;
    if inserted == 1 {
        return Ok(Some(DigestClaim { attempts: 0 }));
    }
    // Otherwise take it over only if it is ours or its lease (or retry wait)
    // is over, in one conditional UPDATE: never read-then-write.
    let row = one(
        db,
        "UPDATE digest_claims SET holder = $2, expires_at = $3 \
         WHERE day = $1 AND completed = FALSE AND (holder = $2 OR expires_at <= $4) \
         RETURNING attempts",
        vec![
            day.as_str().into(),
            holder.into(),
            sql::ts(lease_until),
            sql::ts(now),
        ],
    )
    .await?;
    match row {
        None => Ok(None),
        Some(row) => {
            let attempts: i32 = row.col("attempts")?;
            Ok(Some(DigestClaim {
                attempts: u32::try_from(attempts).unwrap_or(0),
            }))
        }
    }
}

pub(crate) async fn complete_digest_day(
    db: &DatabaseConnection,
    day: Date,
    holder: &str,
    cursor: Timestamp,
) -> Result<(), StoreError> {
    let txn = write_txn(db).await?;
    let done = exec(
        &txn,
        "UPDATE digest_claims SET completed = TRUE WHERE day = $1 AND holder = $2 AND completed = FALSE",
        vec![sql::date_text(day).into(), holder.into()],
    )
    .await?;
    if done == 0 {
        return Err(StoreError::Conflict(format!(
            "{holder} does not hold the digest claim of {day}"
        )));
    }
    put_setting(
        &txn,
        keys::DIGEST_LAST_SENT_AT,
        &serde_json::Value::String(cursor.to_string()),
    )
    .await?;
    put_setting(
        &txn,
        keys::DIGEST_LAST_SENT_DATE,
        &serde_json::Value::String(sql::date_text(day)),
    )
    .await?;
    commit(txn).await
}

pub(crate) async fn fail_digest_day(
    db: &DatabaseConnection,
    day: Date,
    holder: &str,
    retry_at: Timestamp,
) -> Result<(), StoreError> {
    // The holder is cleared, so not even the replica that failed can claim
    // the day again before `retry_at`: only an expired wait opens it.
    let changed = exec(
        db,
        "UPDATE digest_claims SET attempts = attempts + 1, holder = NULL, expires_at = $3 \
         WHERE day = $1 AND holder = $2 AND completed = FALSE",
        vec![sql::date_text(day).into(), holder.into(), sql::ts(retry_at)],
    )
    .await?;
    if changed == 0 {
        return Err(StoreError::Conflict(format!(
            "{holder} does not hold the digest claim of {day}"
        )));
    }
    Ok(())
}

pub(crate) async fn record_digest_send(
    db: &DatabaseConnection,
    log: DigestSendLog,
) -> Result<(), StoreError> {
    let trigger = match log.trigger {
        DigestTrigger::Scheduled => "scheduled",
        DigestTrigger::SendNow => "send_now",
        DigestTrigger::TestEmail => "test_email",
    };
    exec(
        db,
        "INSERT INTO digest_sends (trigger_kind, window_since, window_until, transport, recipients, \
         error_kind, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        vec![
            trigger.into(),
            sql::ts(log.window_since),
            sql::ts(log.window_until),
            log.transport.map(|t| t.as_str().to_string()).into(),
            i32::try_from(log.recipients).unwrap_or(i32::MAX).into(),
            log.error_kind.into(),
            sql::ts(log.at),
        ],
    )
    .await?;
    Ok(())
}
