//! `mailroom bench seed`: a deterministic database of the shape a fund
//! reaches in a couple of years (50 mailboxes, 5,000 investors, 20,000
//! contacts, each email seen by 1–3 mailboxes, ~30% matched, ~40% sent by
//! us), written with multi-row inserts so a million emails take minutes.
//!
//! Rows go through the same triggers as capture (direction, liveness,
//! matched, the search index), so the seeded database is what capture would
//! have built. Emails are sent 20,000 a day up to [`NEWEST`], so the 24 hours
//! before it hold 20,000 captured emails whatever the total.

use std::time::Instant;

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use sea_orm::{ConnectionTrait, DatabaseBackend, TransactionTrait};

use mailroom_adapters::store::SeaStore;
use mailroom_ports::records::{
    DirectoryContact, DirectoryInvestor, DirectoryUpdate, DirectoryUser, Role,
};
use mailroom_ports::{ContactId, EmailAddress, InvestorId, Store};

/// Mailboxes, one per teammate.
pub const MAILBOXES: u64 = 50;
/// Investors in the directory.
pub const INVESTORS: u64 = 5_000;
/// Contacts, four per investor.
pub const CONTACTS: u64 = 20_000;
/// Emails sent per day: the digest's 24-hour window holds this many.
pub const PER_DAY: u64 = 20_000;
/// The send time of the newest seeded email.
pub const NEWEST: &str = "2026-06-01T00:00:00Z";
/// A word in about a fifth of matched subjects.
pub const COMMON_WORD: &str = "update";
/// A word in one email of 5,000.
pub const RARE_WORD: &str = "zanzibar";
/// A word in no email.
pub const ABSENT_WORD: &str = "qxjvnothing";

/// Emails per multi-row INSERT (and per transaction).
const BATCH: u64 = 2_000;

pub(crate) const WORDS: &[&str] = &[
    "quarterly",
    "report",
    "fund",
    "portfolio",
    "meeting",
    "call",
    "follow",
    "intro",
    "deck",
    "term",
    "sheet",
    "capital",
    "commitment",
    "allocation",
    "review",
    "draft",
    "notes",
    "board",
    "agenda",
    "schedule",
    "lp",
    "annual",
    "letter",
    "returns",
    "distribution",
    "closing",
    "signature",
    "documents",
    "diligence",
    "thanks",
    "catch",
    "up",
    "next",
    "week",
    "coffee",
    "dinner",
    "conference",
    "summit",
    "berlin",
    "london",
    "munich",
    "paris",
    "zurich",
    "series",
    "seed",
    "growth",
    "secondary",
    "co",
    "invest",
    "opportunity",
    "pipeline",
    "market",
    "outlook",
    "café",
    "über",
    "résumé",
    "naïve",
    "straße",
];

/// The user, mailbox and investor ids the activity bench filters on.
pub fn mailbox_address(k: u64) -> String {
    format!("user{k}@fund.example")
}

pub fn contact_address(c: u64) -> String {
    format!("contact{c}@investor{}.example", c / 4)
}

/// SplitMix64: deterministic, fast, and good enough for a data shape.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub(crate) fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

/// Seeds `emails` emails into an empty database and prints what it did.
pub async fn run(store: &SeaStore, emails: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    let db = store.connection();
    let existing = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM emails",
        ))
        .await?
        .context("count emails")?
        .try_get::<i64>("", "n")?;
    anyhow::ensure!(
        existing == 0,
        "the database already holds emails; seed an empty one"
    );

    let account_ids = directory_and_mailboxes(store).await?;

    let newest: Timestamp = NEWEST.parse()?;
    let step_micros = (86_400_000_000 / PER_DAY) as i64;
    let mut first = 0;
    while first < emails {
        let last = (first + BATCH).min(emails);
        let batch = Batch::build(first, last, emails, newest, step_micros, &account_ids);
        let txn = db.begin().await?;
        txn.execute_unprepared(&batch.emails).await?;
        txn.execute_unprepared(&batch.sightings).await?;
        if !batch.links.is_empty() {
            txn.execute_unprepared(&batch.links).await?;
        }
        txn.commit().await?;
        first = last;
    }
    if db.get_database_backend() == DatabaseBackend::Postgres {
        db.execute_unprepared(
            "SELECT setval(pg_get_serial_sequence('emails', 'id'), (SELECT MAX(id) FROM emails))",
        )
        .await?;
    }
    let loaded = started.elapsed();
    if db.get_database_backend() == DatabaseBackend::Postgres {
        // The triggers update every email once or twice after its insert:
        // clear the dead row versions (as autovacuum would, given time) so
        // the figures are not those of a freshly bloated table.
        db.execute_unprepared("VACUUM (ANALYZE) emails").await?;
    }
    store.refresh_statistics().await?;
    let total = started.elapsed();
    println!("seed_emails: {emails} emails");
    println!("seed_load_time: {:.1} s", loaded.as_secs_f64());
    println!("seed_total_time: {:.1} s", total.as_secs_f64());
    println!(
        "seed_rate: {:.0} emails/s",
        emails as f64 / loaded.as_secs_f64().max(1e-9)
    );
    Ok(())
}

/// The directory (users, investors, contacts) and one mailbox per user,
/// created unless the database already has them; returns the mailbox ids
/// in user order.
pub async fn directory_and_mailboxes(store: &SeaStore) -> anyhow::Result<Vec<i64>> {
    if store.list_accounts().await?.is_empty() {
        store.upsert_directory(directory()).await?;
        for k in 0..MAILBOXES {
            let address = EmailAddress::parse(&mailbox_address(k))?;
            store.create_account(&address, &address).await?;
        }
    }
    let accounts = store.list_accounts().await?;
    let account_ids: Vec<i64> = accounts.iter().map(|a| a.id.0).collect();
    anyhow::ensure!(
        account_ids.len() as u64 == MAILBOXES,
        "the database holds other mailboxes than the bench's; use an empty one"
    );
    Ok(account_ids)
}

fn directory() -> DirectoryUpdate {
    let users = (0..MAILBOXES)
        .map(|k| DirectoryUser {
            email: EmailAddress::parse(&mailbox_address(k)).expect("a valid address"),
            display_name: format!("Teammate {k}"),
            role: if k == 0 { Role::Admin } else { Role::Member },
            is_active: true,
        })
        .collect();
    let investors = (0..INVESTORS)
        .map(|i| DirectoryInvestor {
            id: InvestorId(i as i64 + 1),
            name: format!("Investor {i} Capital"),
            graveyard: i % 50 == 49,
            deleted: false,
            domains: Vec::new(),
        })
        .collect();
    let contacts = (0..CONTACTS)
        .map(|c| DirectoryContact {
            id: ContactId(c as i64 + 1),
            investor_id: InvestorId((c / 4) as i64 + 1),
            name: format!("Contact {c}"),
            emails: vec![EmailAddress::parse(&contact_address(c)).expect("a valid address")],
            deleted: false,
        })
        .collect();
    DirectoryUpdate {
        users,
        investors,
        contacts,
    }
}

/// The three multi-row INSERT texts of one batch. Every value is generated
/// here (no user input), and text values are still quoted properly.
struct Batch {
    emails: String,
    sightings: String,
    links: String,
}

impl Batch {
    fn build(
        first: u64,
        last: u64,
        total: u64,
        newest: Timestamp,
        step_micros: i64,
        accounts: &[i64],
    ) -> Batch {
        let mut emails = String::from(
            "INSERT INTO emails (id, dedup_key, message_id, from_email, from_name, to_json, \
             cc_json, reply_to_json, in_reply_to, references_json, subject, snippet, body, \
             attachments_json, content_stored, sent_at, size, created_at) VALUES ",
        );
        let mut sightings = String::from(
            "INSERT INTO email_account_messages (account_id, email_id, gmail_message_id, \
             gmail_thread_id, labels_json, is_sent, deleted_at, captured_at, sent_at) VALUES ",
        );
        let mut links = String::new();
        let mut link_rows = Vec::new();
        let mut sighting_rows = Vec::new();
        let mut email_rows = Vec::new();
        for i in first..last {
            let mut rng = Rng(i.wrapping_mul(0xA24B_AED4_963E_E407) ^ 0x5EED);
            let id = i + 1;
            let sent = newest - SignedDuration::from_micros(step_micros * (total - 1 - i) as i64);
            let sent_at = text_ts(sent);
            let captured_at = text_ts(sent + SignedDuration::from_secs(60));
            let owner = rng.below(MAILBOXES);
            let outbound = rng.percent(40);
            let rare = i % 5_000 == 17;
            let matched = rng.percent(30) || rare;
            let investor = rng.below(INVESTORS);
            let contact = investor * 4 + rng.below(4);
            let external = format!(
                "person{}@company{}.example",
                rng.below(50_000),
                rng.below(997)
            );
            let counterpart = if matched {
                contact_address(contact)
            } else {
                external
            };
            let (from, to) = if outbound {
                (mailbox_address(owner), counterpart)
            } else {
                (counterpart, mailbox_address(owner))
            };
            let (subject, snippet, body) = if matched {
                let mut subject = words(&mut rng, 5);
                if rare {
                    subject.push(' ');
                    subject.push_str(RARE_WORD);
                }
                let snippet = words(&mut rng, 12);
                let body = format!("{snippet}\n\n{}", words(&mut rng, 40));
                (quote(&subject), quote(&snippet), quote(&body))
            } else {
                ("NULL".into(), "NULL".into(), "NULL".into())
            };
            email_rows.push(format!(
                "({id}, {dedup}, {dedup}, {from}, {name}, {to}, '[]', '[]', NULL, '[]', \
                 {subject}, {snippet}, {body}, {attachments}, {matched}, '{sent_at}', {size}, \
                 '{captured_at}')",
                dedup = quote(&format!("<seed-{i}@bench.example>")),
                from = quote(&from),
                name = quote(&format!("Sender {}", rng.below(10_000))),
                to = quote(&format!("[\"{to}\"]")),
                attachments = if matched { "'[]'" } else { "NULL" },
                size = 2_000 + rng.below(150_000),
            ));
            let seen_by = match rng.below(10) {
                0..=5 => 1,
                6..=8 => 2,
                _ => 3,
            };
            let mut boxes = vec![owner];
            while boxes.len() < seen_by {
                let k = rng.below(MAILBOXES);
                if !boxes.contains(&k) {
                    boxes.push(k);
                }
            }
            for (n, k) in boxes.iter().enumerate() {
                let is_sent = outbound && n == 0;
                let labels = if is_sent { "[\"SENT\"]" } else { "[\"INBOX\"]" };
                sighting_rows.push(format!(
                    "({account}, {id}, 'g{i}-{k}', 't{thread}', '{labels}', {is_sent}, NULL, \
                     '{captured_at}', '{sent_at}')",
                    account = accounts[*k as usize],
                    thread = i / 3,
                ));
            }
            if matched {
                link_rows.push(format!(
                    "({id}, {investor}, {contact}, {contact}, {address}, '{sent_at}')",
                    investor = investor + 1,
                    contact = contact + 1,
                    address = quote(&contact_address(contact)),
                ));
                // Some mail names two contacts of the same investor.
                if rng.percent(10) {
                    let other = investor * 4 + (contact + 1) % 4;
                    link_rows.push(format!(
                        "({id}, {investor}, {other_id}, {other_id}, {address}, '{sent_at}')",
                        investor = investor + 1,
                        other_id = other + 1,
                        address = quote(&contact_address(other)),
                    ));
                }
            }
        }
        emails.push_str(&email_rows.join(", "));
        sightings.push_str(&sighting_rows.join(", "));
        if !link_rows.is_empty() {
            links.push_str(
                "INSERT INTO email_investor_links (email_id, investor_id, contact_id, \
                 contact_key, matched_address, sent_at) VALUES ",
            );
            links.push_str(&link_rows.join(", "));
        }
        Batch {
            emails,
            sightings,
            links,
        }
    }
}

/// `count` words, the common word first in a fifth of them; never the
/// absent word.
fn words(rng: &mut Rng, count: usize) -> String {
    let mut out: Vec<&str> = (0..count)
        .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
        .collect();
    if rng.percent(20) {
        out[0] = COMMON_WORD;
    }
    out.join(" ")
}

fn text_ts(t: Timestamp) -> String {
    jiff::fmt::temporal::DateTimePrinter::new()
        .precision(Some(6))
        .timestamp_to_string(&t)
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
