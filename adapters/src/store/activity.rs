//! The admin email-activity search: matched-only, live-only, newest first,
//! keyset-paginated, direction decided at the email level.

use std::collections::HashMap;

use sea_orm::DatabaseConnection;

use mailroom_ports::records::{
    ActivityCursor, ActivityItem, ActivityPage, ActivityQuery, Direction, InvestorRef,
    MailboxSighting,
};
use mailroom_ports::{AccountId, EmailId, InvestorId, StoreError};

use super::sql::{self, Params, Row, like_pattern};

/// Outbound iff the sender is one of our mailboxes (any, enabled or not).
pub(crate) const OUTBOUND_SQL: &str =
    "EXISTS (SELECT 1 FROM email_accounts oa WHERE oa.email_address = e.from_email)";

/// The largest page the store serves, whatever the caller asks.
const MAX_LIMIT: u32 = 500;

pub(crate) async fn query_activity(
    db: &DatabaseConnection,
    query: ActivityQuery,
) -> Result<ActivityPage, StoreError> {
    let limit = query.limit.min(MAX_LIMIT);
    if limit == 0 {
        return Ok(ActivityPage {
            items: Vec::new(),
            next_cursor: None,
        });
    }
    let mut p = Params::default();
    let mut link_filter = String::new();
    if let Some(investor) = query.investor_id {
        link_filter = format!(" AND l.investor_id = {}", p.bind(investor.0));
    }
    let mut sighting_filter = String::new();
    if let Some(account) = query.account_id {
        sighting_filter = format!(" AND s.account_id = {}", p.bind(account.0));
    }
    let mut filters = String::new();
    match query.direction {
        Some(Direction::Outbound) => filters.push_str(&format!(" AND {OUTBOUND_SQL}")),
        Some(Direction::Inbound) => filters.push_str(&format!(" AND NOT {OUTBOUND_SQL}")),
        None => {}
    }
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        // LOWER on both sides: LIKE is case-sensitive on PostgreSQL and only
        // ASCII-case-insensitive on SQLite.
        let pattern = p.bind(like_pattern(q));
        let like =
            |column: &str| format!("LOWER(COALESCE(e.{column}, '')) LIKE {pattern} ESCAPE '\\'");
        filters.push_str(&format!(
            " AND ({} OR {} OR {} OR {})",
            like("subject"),
            like("snippet"),
            like("from_email"),
            like("from_name")
        ));
    }
    if let Some(cursor) = query.cursor {
        let at = p.bind(sql::ts_text(cursor.sent_at));
        let id = p.bind(cursor.email_id.0);
        filters.push_str(&format!(
            " AND (e.sent_at < {at} OR (e.sent_at = {at} AND e.id < {id}))"
        ));
    }
    // One extra row tells whether another page exists.
    let fetch = p.bind(i64::from(limit) + 1);
    let text = format!(
        "SELECT e.id, e.subject, e.snippet, e.from_email, e.from_name, e.to_json, e.cc_json, \
         e.sent_at, {OUTBOUND_SQL} AS outbound FROM emails e \
         WHERE EXISTS (SELECT 1 FROM email_investor_links l WHERE l.email_id = e.id{link_filter}) \
         AND EXISTS (SELECT 1 FROM email_account_messages s \
                     WHERE s.email_id = e.id AND s.deleted_at IS NULL{sighting_filter})\
         {filters} ORDER BY e.sent_at DESC, e.id DESC LIMIT {fetch}"
    );
    let rows = sql::all(db, &text, p.values).await?;

    let mut items = Vec::with_capacity(rows.len().min(limit as usize));
    for row in rows.iter().take(limit as usize) {
        items.push(ActivityItem {
            email_id: EmailId(row.col("id")?),
            subject: row.col("subject")?,
            snippet: row.col("snippet")?,
            from_email: row.opt_addr("from_email")?,
            from_name: row.col("from_name")?,
            to: row.addr_list("to_json")?,
            cc: row.addr_list("cc_json")?,
            sent_at: row.ts("sent_at")?,
            direction: if row.flag("outbound")? {
                Direction::Outbound
            } else {
                Direction::Inbound
            },
            investors: Vec::new(),
            mailboxes: Vec::new(),
        });
    }
    let next_cursor = (rows.len() > limit as usize)
        .then(|| {
            items.last().map(|last| ActivityCursor {
                sent_at: last.sent_at,
                email_id: last.email_id,
            })
        })
        .flatten();
    attach_details(db, &mut items).await?;
    Ok(ActivityPage { items, next_cursor })
}

/// Fills each item's investors (every linked one, graveyard or not) and its
/// live mailboxes with two queries for the whole page.
async fn attach_details(
    db: &DatabaseConnection,
    items: &mut [ActivityItem],
) -> Result<(), StoreError> {
    if items.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = items.iter().map(|i| i.email_id.0).collect();
    let mut investors: HashMap<i64, Vec<InvestorRef>> = HashMap::new();
    let mut p = Params::default();
    let list = p.bind_all(ids.iter().copied());
    let rows = sql::all(
        db,
        &format!(
            "SELECT DISTINCT l.email_id, i.id, i.name, i.graveyard FROM email_investor_links l \
             JOIN investors i ON i.id = l.investor_id WHERE l.email_id IN ({list}) \
             ORDER BY l.email_id, i.name, i.id"
        ),
        p.values,
    )
    .await?;
    for row in rows {
        investors
            .entry(row.col("email_id")?)
            .or_default()
            .push(InvestorRef {
                id: InvestorId(row.col("id")?),
                name: row.col("name")?,
                graveyard: row.flag("graveyard")?,
            });
    }

    let mut mailboxes: HashMap<i64, Vec<MailboxSighting>> = HashMap::new();
    let mut p = Params::default();
    let list = p.bind_all(ids.iter().copied());
    let rows = sql::all(
        db,
        &format!(
            "SELECT s.email_id, s.account_id, a.email_address, s.is_sent \
             FROM email_account_messages s JOIN email_accounts a ON a.id = s.account_id \
             WHERE s.deleted_at IS NULL AND s.email_id IN ({list}) ORDER BY s.email_id, s.account_id"
        ),
        p.values,
    )
    .await?;
    for row in rows {
        mailboxes
            .entry(row.col("email_id")?)
            .or_default()
            .push(MailboxSighting {
                account_id: AccountId(row.col("account_id")?),
                email_address: row.addr("email_address")?,
                is_sent: row.flag("is_sent")?,
            });
    }

    for item in items {
        item.investors = investors.remove(&item.email_id.0).unwrap_or_default();
        item.mailboxes = mailboxes.remove(&item.email_id.0).unwrap_or_default();
    }
    Ok(())
}
