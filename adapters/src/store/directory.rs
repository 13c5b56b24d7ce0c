//! The mirrored directory: users, investors, contacts, and the views the
//! matcher, the digest and the activity dropdown read from it.

use std::collections::BTreeSet;

use jiff::Timestamp;
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult, Value};

use mailroom_ports::StoreError;
use mailroom_ports::records::{
    ContactEmail, DirectoryCounts, DirectoryUpdate, InvestorDomain, InvestorRef, MatchDirectory,
    Role, User,
};
use mailroom_ports::{ContactId, Domain, EmailAddress, InvestorId, UserId};

use super::sql::{self, Row, commit, exec, one, placeholders, write_txn};

const USER_COLUMNS: &str = "u.id, u.email, u.display_name, u.role, u.is_active";

pub(crate) async fn upsert_directory(
    db: &DatabaseConnection,
    update: DirectoryUpdate,
) -> Result<DirectoryCounts, StoreError> {
    let txn = write_txn(db).await?;
    // The CRM sends no deletion time; the stamp is bookkeeping only (nothing
    // compares it), so the adapter takes it here rather than widening the port.
    let now = sql::ts_text(Timestamp::now());

    // Checked before any write so a bad contact changes nothing; the foreign
    // key backs this up as `Invalid` if a row slips through.
    let given: BTreeSet<i64> = update.investors.iter().map(|i| i.id.0).collect();
    for contact in &update.contacts {
        let investor = contact.investor_id.0;
        if !given.contains(&investor)
            && one(
                &txn,
                "SELECT 1 AS one FROM investors WHERE id = $1",
                vec![investor.into()],
            )
            .await?
            .is_none()
        {
            return Err(StoreError::Invalid(format!(
                "contact {} names unknown investor {investor}",
                contact.id
            )));
        }
    }

    for user in &update.users {
        exec(
            &txn,
            "INSERT INTO users (email, display_name, role, is_active) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (email) DO UPDATE SET display_name = excluded.display_name, \
             role = excluded.role, is_active = excluded.is_active",
            vec![
                user.email.as_str().into(),
                user.display_name.as_str().into(),
                user.role.as_str().into(),
                user.is_active.into(),
            ],
        )
        .await?;
    }

    for investor in &update.investors {
        let deleted_at = investor.deleted.then(|| now.clone());
        // A repeated delete keeps the first deletion time (idempotence).
        exec(
            &txn,
            "INSERT INTO investors (id, name, graveyard, deleted_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, graveyard = excluded.graveyard, \
             deleted_at = CASE WHEN excluded.deleted_at IS NULL THEN NULL \
             ELSE COALESCE(investors.deleted_at, excluded.deleted_at) END",
            vec![
                investor.id.0.into(),
                investor.name.as_str().into(),
                investor.graveyard.into(),
                deleted_at.into(),
            ],
        )
        .await?;
        let domains: BTreeSet<&str> = investor.domains.iter().map(Domain::as_str).collect();
        replace_children(
            &txn,
            "investor_domains",
            "investor_id",
            "domain",
            investor.id.0,
            &domains,
        )
        .await?;
    }

    for contact in &update.contacts {
        let deleted_at = contact.deleted.then(|| now.clone());
        exec(
            &txn,
            "INSERT INTO contacts (id, investor_id, name, deleted_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET investor_id = excluded.investor_id, name = excluded.name, \
             deleted_at = CASE WHEN excluded.deleted_at IS NULL THEN NULL \
             ELSE COALESCE(contacts.deleted_at, excluded.deleted_at) END",
            vec![
                contact.id.0.into(),
                contact.investor_id.0.into(),
                contact.name.as_str().into(),
                deleted_at.into(),
            ],
        )
        .await?;
        let emails: BTreeSet<&str> = contact.emails.iter().map(EmailAddress::as_str).collect();
        replace_children(
            &txn,
            "contact_emails",
            "contact_id",
            "email",
            contact.id.0,
            &emails,
        )
        .await?;
    }

    commit(txn).await?;
    Ok(DirectoryCounts {
        users: update.users.len() as u64,
        investors: update.investors.len() as u64,
        contacts: update.contacts.len() as u64,
    })
}

/// Makes `table`'s `value` rows for `owner` exactly `values`, touching only
/// the rows that differ so a repeated import changes nothing.
async fn replace_children<C: ConnectionTrait>(
    conn: &C,
    table: &str,
    owner_column: &str,
    value_column: &str,
    owner: i64,
    values: &BTreeSet<&str>,
) -> Result<(), StoreError> {
    let mut params: Vec<Value> = vec![owner.into()];
    params.extend(values.iter().map(|v| Value::from(*v)));
    let keep = if values.is_empty() {
        String::new()
    } else {
        format!(
            " AND {value_column} NOT IN ({})",
            placeholders(2, values.len())
        )
    };
    exec(
        conn,
        &format!("DELETE FROM {table} WHERE {owner_column} = $1{keep}"),
        params,
    )
    .await?;
    for value in values {
        exec(
            conn,
            &format!(
                "INSERT INTO {table} ({owner_column}, {value_column}) VALUES ($1, $2) \
                 ON CONFLICT ({owner_column}, {value_column}) DO NOTHING"
            ),
            vec![owner.into(), (*value).into()],
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn user_by_email(
    db: &DatabaseConnection,
    email: &EmailAddress,
) -> Result<Option<User>, StoreError> {
    one(
        db,
        &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.email = $1"),
        vec![email.as_str().into()],
    )
    .await?
    .map(|row| user_from_row(&row))
    .transpose()
}

pub(crate) async fn active_admins(db: &DatabaseConnection) -> Result<Vec<User>, StoreError> {
    sql::all(
        db,
        &format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.role = 'admin' AND u.is_active = TRUE \
             ORDER BY u.id"
        ),
        vec![],
    )
    .await?
    .iter()
    .map(user_from_row)
    .collect()
}

pub(crate) async fn digest_team(db: &DatabaseConnection) -> Result<Vec<User>, StoreError> {
    sql::all(
        db,
        &format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.is_active = TRUE \
             AND EXISTS (SELECT 1 FROM email_accounts a WHERE a.user_id = u.id) \
             ORDER BY u.display_name, u.id"
        ),
        vec![],
    )
    .await?
    .iter()
    .map(user_from_row)
    .collect()
}

pub(crate) async fn match_directory(db: &DatabaseConnection) -> Result<MatchDirectory, StoreError> {
    let contact_emails = sql::all(
        db,
        "SELECT ce.email, ce.contact_id, c.investor_id FROM contact_emails ce \
         JOIN contacts c ON c.id = ce.contact_id JOIN investors i ON i.id = c.investor_id \
         WHERE c.deleted_at IS NULL AND i.deleted_at IS NULL ORDER BY ce.email, ce.contact_id",
        vec![],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(ContactEmail {
            email: row.addr("email")?,
            contact_id: ContactId(row.col("contact_id")?),
            investor_id: InvestorId(row.col("investor_id")?),
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    let investor_domains = sql::all(
        db,
        "SELECT d.domain, d.investor_id FROM investor_domains d \
         JOIN investors i ON i.id = d.investor_id WHERE i.deleted_at IS NULL \
         ORDER BY d.domain, d.investor_id",
        vec![],
    )
    .await?
    .iter()
    .map(|row| {
        let raw: String = row.col("domain")?;
        Ok(InvestorDomain {
            domain: Domain::parse(&raw)
                .map_err(|e| sql::unexpected(format!("stored domain is invalid: {e}")))?,
            investor_id: InvestorId(row.col("investor_id")?),
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(MatchDirectory {
        contact_emails,
        investor_domains,
        never_log: super::trust::never_log_entries(db)
            .await?
            .into_iter()
            .map(|e| e.target)
            .collect(),
    })
}

pub(crate) async fn dropdown_investors(
    db: &DatabaseConnection,
) -> Result<Vec<InvestorRef>, StoreError> {
    sql::all(
        db,
        "SELECT id, name, graveyard FROM investors WHERE graveyard = FALSE AND deleted_at IS NULL \
         ORDER BY name, id",
        vec![],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(InvestorRef {
            id: InvestorId(row.col("id")?),
            name: row.col("name")?,
            graveyard: row.flag("graveyard")?,
        })
    })
    .collect()
}

pub(crate) fn user_from_row(row: &QueryResult) -> Result<User, StoreError> {
    Ok(User {
        id: UserId(row.col("id")?),
        email: row.addr("email")?,
        display_name: row.col("display_name")?,
        role: parse_role(&row.col::<String>("role")?)?,
        is_active: row.flag("is_active")?,
    })
}

fn parse_role(raw: &str) -> Result<Role, StoreError> {
    match raw {
        "admin" => Ok(Role::Admin),
        "member" => Ok(Role::Member),
        other => Err(sql::unexpected(format!("stored role `{other}` is unknown"))),
    }
}
