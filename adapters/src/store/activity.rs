//! The admin email-activity search: matched-only, live-only, newest first,
//! keyset-paginated, direction decided at the email level.

use std::collections::HashMap;

use sea_orm::{DatabaseBackend, DatabaseConnection};

use mailroom_ports::records::{
    ActivityCursor, ActivityItem, ActivityPage, ActivityQuery, Direction, InvestorRef,
    MailboxSighting,
};
use mailroom_ports::{AccountId, EmailId, InvestorId, StoreError};

use super::sql::{self, Params, Row};

/// Outbound iff the sender is one of our mailboxes (any, enabled or not);
/// stored on the email and kept by triggers (migration 6).
pub(crate) const OUTBOUND_SQL: &str = "e.outbound";

/// The largest page the store serves, whatever the caller asks.
const MAX_LIMIT: u32 = 500;

/// The most words a search may have; more is refused, not truncated.
pub(crate) const MAX_SEARCH_TERMS: usize = 16;

/// A longer word is cut to this many characters: as a prefix it still finds
/// the word, and neither full-text engine has to parse an unbounded term.
const MAX_TERM_CHARS: usize = 64;

/// Matched email with a live sighting, as a predicate the partial indexes of
/// migration 6 repeat word for word (both planners need the exact text).
const VISIBLE: &str = "e.matched = TRUE AND e.live_sightings > 0";

/// The SQLite search index's rowid for an email: its send second, then its
/// id, so a search walks matches newest first (see migration 6).
fn fts_key(at: &str, id: &str) -> String {
    format!("(unixepoch({at}) * 1073741824 + ({id} & 1073741823))")
}

/// The words of a search: split at whitespace, control characters and ASCII
/// punctuation, so nothing the user types is read as query syntax by either
/// engine. Each word is then matched as a word prefix, case- and
/// accent-insensitively, by the database's full-text index.
pub(crate) fn search_terms(q: &str) -> Vec<String> {
    q.split(|c: char| c.is_whitespace() || c.is_control() || c.is_ascii_punctuation())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().take(MAX_TERM_CHARS).collect())
        .collect()
}

/// Which index a query walks: the most selective filter it has. Every other
/// filter is then a test per row on the way down that index.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Driver {
    Investor,
    Search,
    Mailbox,
    Emails,
}

pub(crate) async fn query_activity(
    db: &DatabaseConnection,
    query: ActivityQuery,
) -> Result<ActivityPage, StoreError> {
    let limit = query.limit.min(MAX_LIMIT);
    let terms = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(search_terms);
    if terms.as_ref().is_some_and(|t| t.len() > MAX_SEARCH_TERMS) {
        return Err(StoreError::Invalid(format!(
            "a search may have at most {MAX_SEARCH_TERMS} words"
        )));
    }
    // A search with no word in it (only punctuation) finds nothing.
    if limit == 0 || terms.as_ref().is_some_and(Vec::is_empty) {
        return Ok(ActivityPage {
            items: Vec::new(),
            next_cursor: None,
        });
    }
    let postgres = db.get_database_backend() == DatabaseBackend::Postgres;
    let driver = if query.investor_id.is_some() {
        Driver::Investor
    } else if terms.is_some() && !postgres {
        // FTS5 hands matches back newest first (its rowid is a time key), so
        // even a common word stops after one page.
        Driver::Search
    } else if query.account_id.is_some() {
        Driver::Mailbox
    } else {
        Driver::Emails
    };

    let mut p = Params::default();
    let mut from = String::new();
    let mut filters = vec![VISIBLE.to_string()];
    // (time, id) columns of the walked index, and the ORDER BY over them.
    let (at_col, id_col) = match driver {
        Driver::Investor => ("d.sent_at", "d.email_id"),
        Driver::Mailbox => ("d.sent_at", "d.email_id"),
        Driver::Search | Driver::Emails => ("e.sent_at", "e.id"),
    };
    match driver {
        Driver::Investor => {
            // CROSS JOIN fixes the join order on SQLite (PostgreSQL plans it
            // freely); the NOT EXISTS keeps one link per (email, investor)
            // when several of the investor's contacts matched.
            from.push_str("email_investor_links d CROSS JOIN emails e");
            let investor = p.bind(query.investor_id.map(|i| i.0));
            filters.push(format!("d.investor_id = {investor}"));
            filters.push("e.id = d.email_id".into());
            filters.push(
                "NOT EXISTS (SELECT 1 FROM email_investor_links d2 WHERE d2.email_id = d.email_id \
                 AND d2.investor_id = d.investor_id AND d2.id < d.id)"
                    .into(),
            );
        }
        Driver::Mailbox => {
            // One row per email even if the mailbox holds it twice.
            from.push_str("email_account_messages d CROSS JOIN emails e");
            let account = p.bind(query.account_id.map(|a| a.0));
            filters.push(format!("d.account_id = {account}"));
            filters.push("d.deleted_at IS NULL".into());
            filters.push("e.id = d.email_id".into());
            filters.push(
                "NOT EXISTS (SELECT 1 FROM email_account_messages d2 \
                 WHERE d2.email_id = d.email_id AND d2.account_id = d.account_id \
                 AND d2.deleted_at IS NULL AND d2.id < d.id)"
                    .into(),
            );
        }
        Driver::Search => {
            from.push_str("emails_fts CROSS JOIN emails e");
            let q = p.bind(fts_query(terms.as_deref().unwrap_or_default()));
            filters.push(format!("emails_fts MATCH {q}"));
            filters.push("e.id = emails_fts.email_id".into());
        }
        Driver::Emails => from.push_str("emails e"),
    }
    if let (Some(account), true) = (query.account_id, driver != Driver::Mailbox) {
        let account = p.bind(account.0);
        filters.push(format!(
            "EXISTS (SELECT 1 FROM email_account_messages s WHERE s.email_id = e.id \
             AND s.account_id = {account} AND s.deleted_at IS NULL)"
        ));
    }
    if let Some(direction) = query.direction {
        let outbound = p.bind(direction == Direction::Outbound);
        filters.push(format!("e.outbound = {outbound}"));
    }
    if let (Some(terms), true) = (terms.as_deref(), driver != Driver::Search) {
        if postgres {
            let q = p.bind(terms.join(" "));
            filters.push(format!("e.search_vector @@ mailroom_search_query({q})"));
        } else {
            let q = p.bind(fts_query(terms));
            filters.push(format!(
                "EXISTS (SELECT 1 FROM emails_fts WHERE emails_fts MATCH {q} \
                 AND emails_fts.rowid = {})",
                fts_key("e.sent_at", "e.id")
            ));
        }
    }
    if let Some(since) = query.since {
        let at = p.bind(sql::ts_text(since));
        filters.push(format!("{at_col} >= {at}"));
        if driver == Driver::Search {
            // A loose bound on the time key lets FTS5 skip older matches.
            filters.push(format!("emails_fts.rowid >= unixepoch({at}) * 1073741824"));
        }
    }
    if let Some(until) = query.until {
        let at = p.bind(sql::ts_text(until));
        filters.push(format!("{at_col} < {at}"));
        if driver == Driver::Search {
            filters.push(format!(
                "emails_fts.rowid < (unixepoch({at}) + 1) * 1073741824"
            ));
        }
    }
    let order = if driver == Driver::Search {
        if let Some(cursor) = query.cursor {
            let at = p.bind(sql::ts_text(cursor.sent_at));
            let id = p.bind(cursor.email_id.0);
            filters.push(format!("emails_fts.rowid < {}", fts_key(&at, &id)));
        }
        "emails_fts.rowid DESC".to_string()
    } else {
        if let Some(cursor) = query.cursor {
            let at = p.bind(sql::ts_text(cursor.sent_at));
            let id = p.bind(cursor.email_id.0);
            filters.push(format!("({at_col}, {id_col}) < ({at}, {id})"));
        }
        format!("{at_col} DESC, {id_col} DESC")
    };
    // One extra row tells whether another page exists.
    let fetch = p.bind(i64::from(limit) + 1);
    let text = format!(
        "SELECT e.id, e.subject, e.snippet, e.from_email, e.from_name, e.to_json, e.cc_json, \
         e.sent_at, e.outbound FROM {from} WHERE {} ORDER BY {order} LIMIT {fetch}",
        filters.join(" AND ")
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

/// An FTS5 query matching every word as a prefix: each word is a quoted
/// string (it holds no `"`), so FTS5 operators typed by the user are words.
fn fts_query(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("\"{t}\"*"))
        .collect::<Vec<_>>()
        .join(" ")
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
