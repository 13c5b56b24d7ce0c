//! A fund team wired end to end for the capture tests: the real app (config →
//! wiring → `SyncService` on the Gmail adapters → SeaStore, and the HTTP API)
//! pointed at a [`FakeGoogle`], a directory of investors and contacts, three
//! users, and Ann's and Bob's mailboxes sharing a thread with an LP.
//!
//! # Public API
//! - [`CaptureTeam::start`] / [`CaptureTeam::start_with`]: the app, the fake
//!   and the directory; mailboxes added over `POST /api/email/accounts`.
//! - [`CaptureTeam::add_teammates`]: more members, each with a mailbox (for
//!   the many-mailbox benchmark).
//! - [`seed_mail`]: the standard mix of messages (a shared thread, the
//!   `tests/fixtures/eml` messages, cold mail, a malformed message);
//!   [`bulk_message`] for volume.
//! - HTTP: [`CaptureTeam::get`], [`CaptureTeam::post`], tokens for [`ANN`],
//!   [`BOB`], [`CAT`].
//! - Restarts: [`CaptureTeam::config`] and [`CaptureTeam::restart`] (a new
//!   process on the same database, under another lease holder);
//!   [`CaptureTeam::service_env`] for the real binary.
//! - Read back: [`CaptureTeam::dump`] (a canonical, id-free dump of emails,
//!   sightings, links and proposals), [`CaptureTeam::count`] and
//!   [`CaptureTeam::rows`] for raw SQL.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use mailroom_adapters::gmail::GmailConfig;
use mailroom_adapters::store::SeaStore;
use mailroom_app::config::Config;
use mailroom_app::state::AppState;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, QueryResult, Statement};
use serde_json::{Value, json};

use crate::app::{Backend, TestApp, build_state_with, spawn_app_full, test_config};
use crate::fake_google::{FakeGoogle, FakeGoogleConfig, FakeMessageRef, NewMessage};

/// Active admin; mailbox `ann@fund.com`.
pub const ANN: &str = "ann@fund.com";
/// Active member; mailbox `bob@fund.com`.
pub const BOB: &str = "bob@fund.com";
/// Active member without a mailbox.
pub const CAT: &str = "cat@fund.com";

/// `Investor Co`, matched by the domain `investor.com`.
pub const INVESTOR_CO: i64 = 1;
/// `Acme Capital`: domain `acme.com`, contacts Lee (10) and Max (11).
pub const ACME: i64 = 2;
/// `Munich Partners`: no domain, contact Jürgen (30) at `investor.de`.
pub const MUNICH: i64 = 3;
pub const LEE: i64 = 10;

/// The app's clock (`TestClock`'s default) reaches back this many days,
/// so the 2024 fixtures are inside the backfill window.
pub const BACKFILL_DAYS: &str = "1200";

/// The running app, the fake Google behind it and the team's mailboxes.
pub struct CaptureTeam {
    pub google: FakeGoogle,
    pub app: TestApp,
    /// A second pool on the app's database, for raw reads.
    pub db: SeaStore,
    pub ann_box: i64,
    pub bob_box: i64,
    gmail: GmailConfig,
    env: Vec<(String, String)>,
    _key_dir: tempfile::TempDir,
}

impl CaptureTeam {
    /// The team on `backend`, with a well-behaved fake and the fake's fast retries.
    pub async fn start(backend: Backend) -> CaptureTeam {
        CaptureTeam::start_with(backend, FakeGoogleConfig::default(), |c| c).await
    }

    /// The team with this fake, and the app's Gmail client settings
    /// adjusted by `gmail` (starting from [`FakeGoogle::gmail_config`]).
    pub async fn start_with(
        backend: Backend,
        fake: FakeGoogleConfig,
        gmail: impl FnOnce(GmailConfig) -> GmailConfig,
    ) -> CaptureTeam {
        CaptureTeam::start_with_env(backend, fake, gmail, &[]).await
    }

    /// [`CaptureTeam::start_with`] with more environment for the app (SMTP,
    /// Spark, another JWT secret); a variable here wins over the team's own.
    pub async fn start_with_env(
        backend: Backend,
        fake: FakeGoogleConfig,
        gmail: impl FnOnce(GmailConfig) -> GmailConfig,
        extra_env: &[(&str, &str)],
    ) -> CaptureTeam {
        let google = FakeGoogle::start(fake).await;
        for user in [ANN, BOB] {
            google.add_user(user);
        }
        let key_dir = tempfile::tempdir().expect("key dir");
        let key_path = key_dir.path().join("service-account.json");
        std::fs::write(&key_path, google.service_account_json()).expect("write key file");
        let env: Vec<(String, String)> = vec![
            (
                "GOOGLE_SERVICE_ACCOUNT_FILE".into(),
                key_path.display().to_string(),
            ),
            ("GMAIL_API_BASE".into(), google.base_url()),
            ("CRM_INTERNAL_DOMAINS".into(), "fund.com".into()),
            ("SYNC_BACKFILL_DAYS".into(), BACKFILL_DAYS.into()),
        ];
        let mut env = env;
        env.extend(
            extra_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let gmail = gmail(google.gmail_config());
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let app = spawn_app_full(backend, &pairs, Some(gmail.clone())).await;
        assert!(
            app.state.sync.is_some(),
            "Google is configured, so the app syncs"
        );
        app.add_users(&[(ANN, mailroom_ports::records::Role::Admin, true)])
            .await;
        let db = app.db.store().await;
        let mut team = CaptureTeam {
            google,
            app,
            db,
            ann_box: 0,
            bob_box: 0,
            gmail,
            env,
            _key_dir: key_dir,
        };
        let (status, body) = team
            .put(ANN, "/api/admin/directory", directory_json())
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        team.ann_box = team.add_mailbox(ANN).await;
        team.bob_box = team.add_mailbox(BOB).await;
        team
    }

    /// Adds `count` active members `teammate01@fund.com`, … to the fake
    /// Google and the directory (through the store, as `mailroom directory
    /// import` does) and a mailbox for each over the API; returns each
    /// address with its mailbox id, in order.
    pub async fn add_teammates(&self, count: usize) -> Vec<(String, i64)> {
        let addresses: Vec<String> = (1..=count)
            .map(|n| format!("teammate{n:02}@fund.com"))
            .collect();
        let users: Vec<(&str, mailroom_ports::records::Role, bool)> = addresses
            .iter()
            .map(|a| (a.as_str(), mailroom_ports::records::Role::Member, true))
            .collect();
        self.app.add_users(&users).await;
        let mut out = Vec::with_capacity(count);
        for address in addresses {
            self.google.add_user(&address);
            let id = self.add_mailbox(&address).await;
            out.push((address, id));
        }
        out
    }

    async fn add_mailbox(&self, owner: &str) -> i64 {
        let (status, body) = self
            .post(
                ANN,
                "/api/email/accounts",
                json!({"user_email": owner, "email_address": owner}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_i64().expect("an account id")
    }

    /// `GET path` as `user`.
    pub async fn get(&self, user: &str, path: &str) -> (StatusCode, Value) {
        let request = self.app.http.get(self.app.url(path));
        self.send(user, request).await
    }

    /// `POST path` as `user` with a JSON body.
    pub async fn post(&self, user: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let request = self.app.http.post(self.app.url(path)).json(&body);
        self.send(user, request).await
    }

    pub async fn put(&self, user: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let request = self.app.http.put(self.app.url(path)).json(&body);
        self.send(user, request).await
    }

    async fn send(&self, user: &str, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request
            .bearer_auth(self.app.token(user))
            .send()
            .await
            .expect("the app answers");
        let status = response.status();
        let text = response.text().await.expect("a body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// `POST /api/email/accounts/{id}/sync` as Ann.
    pub async fn sync_http(&self, account: i64) -> (StatusCode, Value) {
        self.post(
            ANN,
            &format!("/api/email/accounts/{account}/sync"),
            json!({}),
        )
        .await
    }

    /// Syncs both mailboxes over HTTP, Ann's then Bob's, and expects both to succeed.
    pub async fn sync_both(&self) -> [Value; 2] {
        let mut out = [Value::Null, Value::Null];
        for (slot, account) in out.iter_mut().zip([self.ann_box, self.bob_box]) {
            let (status, body) = self.sync_http(account).await;
            assert_eq!(status, StatusCode::OK, "sync of {account}: {body}");
            *slot = body;
        }
        out
    }

    /// The configuration the app runs with, for another process on its database.
    pub fn config(&self) -> Config {
        let pairs: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        test_config(&self.app.db.url, self.app.outbox.path(), &pairs)
    }

    /// The environment for a real `mailroom serve` on the team's database
    /// and fake Google (see [`crate::service::Service`]).
    pub fn service_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("DATABASE_URL".to_string(), self.app.db.url.clone()),
            (
                "CRM_JWT_SECRET".to_string(),
                crate::app::TEST_JWT_SECRET.to_string(),
            ),
        ];
        env.extend(self.env.iter().cloned());
        env
    }

    /// A new process on the same database and clock, under lease holder `holder`.
    pub async fn restart(&self, holder: &str) -> AppState {
        build_state_with(
            &self.config(),
            self.app.clock.clone(),
            holder,
            Some(self.gmail.clone()),
        )
        .await
    }

    /// One row per result of `sql`.
    pub async fn rows(&self, sql: &str) -> Vec<QueryResult> {
        let conn = self.db.connection();
        conn.query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// `SELECT COUNT(*) …` as a number.
    pub async fn count(&self, sql: &str) -> i64 {
        let rows = self.rows(sql).await;
        let row = rows.first().expect("a count row");
        row.try_get_by_index::<i64>(0)
            .or_else(|_| row.try_get_by_index::<i32>(0).map(i64::from))
            .expect("a count")
    }

    /// The captured state without database ids (emails by dedup key,
    /// mailboxes by address), sorted, so two runs that stored the same
    /// things in a different order compare equal.
    pub async fn dump(&self) -> Dump {
        let text = |r: &QueryResult, c: &str| {
            r.try_get::<Option<String>>("", c)
                .unwrap_or_else(|e| panic!("{c}: {e}"))
                .unwrap_or_else(|| "∅".into())
        };
        let int = |r: &QueryResult, c: &str| {
            r.try_get::<Option<i64>>("", c)
                .unwrap_or_else(|e| panic!("{c}: {e}"))
                .map_or_else(|| "∅".into(), |v| v.to_string())
        };
        let flag = |r: &QueryResult, c: &str| {
            r.try_get::<bool>("", c)
                .unwrap_or_else(|e| panic!("{c}: {e}"))
                .to_string()
        };
        let mut emails: Vec<String> = self
            .rows(
                "SELECT dedup_key, message_id, from_email, from_name, to_json, cc_json, \
                 reply_to_json, in_reply_to, references_json, subject, snippet, body, \
                 attachments_json, content_stored, sent_at, size FROM emails",
            )
            .await
            .iter()
            .map(|r| {
                [
                    text(r, "dedup_key"),
                    text(r, "message_id"),
                    text(r, "from_email"),
                    text(r, "from_name"),
                    text(r, "to_json"),
                    text(r, "cc_json"),
                    text(r, "reply_to_json"),
                    text(r, "in_reply_to"),
                    text(r, "references_json"),
                    text(r, "subject"),
                    text(r, "snippet"),
                    text(r, "body"),
                    text(r, "attachments_json"),
                    flag(r, "content_stored"),
                    text(r, "sent_at"),
                    int(r, "size"),
                ]
                .join(" | ")
            })
            .collect();
        let mut sightings: Vec<String> = self
            .rows(
                "SELECT a.email_address, s.gmail_message_id, s.gmail_thread_id, e.dedup_key, \
                 s.labels_json, s.is_sent, (s.deleted_at IS NULL) AS live \
                 FROM email_account_messages s \
                 JOIN email_accounts a ON a.id = s.account_id \
                 JOIN emails e ON e.id = s.email_id",
            )
            .await
            .iter()
            .map(|r| {
                [
                    text(r, "email_address"),
                    text(r, "gmail_message_id"),
                    text(r, "gmail_thread_id"),
                    text(r, "dedup_key"),
                    text(r, "labels_json"),
                    flag(r, "is_sent"),
                    flag(r, "live"),
                ]
                .join(" | ")
            })
            .collect();
        let mut links: Vec<String> = self
            .rows(
                "SELECT e.dedup_key, l.investor_id, l.contact_id, l.matched_address \
                 FROM email_investor_links l JOIN emails e ON e.id = l.email_id",
            )
            .await
            .iter()
            .map(|r| {
                [
                    text(r, "dedup_key"),
                    int(r, "investor_id"),
                    int(r, "contact_id"),
                    text(r, "matched_address"),
                ]
                .join(" | ")
            })
            .collect();
        let mut proposals: Vec<String> = self
            .rows(
                "SELECT e.dedup_key, p.investor_id, p.contact_id, p.status \
                 FROM activity_proposals p JOIN emails e ON e.id = p.email_id",
            )
            .await
            .iter()
            .map(|r| {
                [
                    text(r, "dedup_key"),
                    int(r, "investor_id"),
                    int(r, "contact_id"),
                    text(r, "status"),
                ]
                .join(" | ")
            })
            .collect();
        emails.sort();
        sightings.sort();
        links.sort();
        proposals.sort();
        Dump {
            emails,
            sightings,
            links,
            proposals,
        }
    }

    /// The email id of the message with this dedup key (its Message-ID).
    pub async fn email_id(&self, dedup_key: &str) -> i64 {
        let rows = self
            .rows(&format!(
                "SELECT id FROM emails WHERE dedup_key = '{}'",
                dedup_key.replace('\'', "''")
            ))
            .await;
        rows.first()
            .unwrap_or_else(|| panic!("no email {dedup_key}"))
            .try_get::<i64>("", "id")
            .expect("an id")
    }
}

/// Emails, sightings, investor links and proposals, canonically ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    pub emails: Vec<String>,
    pub sightings: Vec<String>,
    pub links: Vec<String>,
    pub proposals: Vec<String>,
}

/// The directory as the CRM sends it: Ann (admin), Bob and Cat (members),
/// three investors and their contacts.
/// [`directory_json`] with an investor it lacks, New LP (id 4), and its
/// contact Pat (id 40, `pat@newlp.example`): the directory update that makes
/// Pat's earlier mail match.
pub fn directory_with_pat() -> Value {
    let mut dir = directory_json();
    dir["investors"]
        .as_array_mut()
        .expect("investors")
        .push(json!({"id": 4, "name": "New LP", "domains": []}));
    dir["contacts"]
        .as_array_mut()
        .expect("contacts")
        .push(json!({"id": 40, "investor_id": 4, "name": "Pat", "emails": ["pat@newlp.example"]}));
    dir
}

/// Pat's note `n` to Ann, sent at `date`: subject `Pat update {n}`,
/// Message-ID `pat-{n}@newlp.example`, rendered as RFC 822.
pub fn pat_update(n: impl std::fmt::Display, date: &str) -> Vec<u8> {
    Mail {
        from: "pat@newlp.example",
        to: &[ANN],
        cc: &[],
        subject: &format!("Pat update {n}"),
        message_id: &format!("pat-{n}@newlp.example"),
        in_reply_to: None,
        references: &[],
        date,
        body: "Numbers for the quarter.",
    }
    .render()
}

pub fn directory_json() -> Value {
    json!({
        "users": [
            {"email": ANN, "display_name": "Ann", "role": "admin", "is_active": true},
            {"email": BOB, "display_name": "Bob", "role": "member", "is_active": true},
            {"email": CAT, "display_name": "Cat", "role": "member", "is_active": true},
        ],
        "investors": [
            {"id": INVESTOR_CO, "name": "Investor Co", "domains": ["investor.com"]},
            {"id": ACME, "name": "Acme Capital", "domains": ["acme.com"]},
            {"id": MUNICH, "name": "Munich Partners", "domains": []},
        ],
        "contacts": [
            {"id": LEE, "investor_id": ACME, "name": "Lee Park", "emails": ["lee@acme.com"]},
            {"id": 11, "investor_id": ACME, "name": "Max Acme", "emails": ["max@acme.com"]},
            {"id": 30, "investor_id": MUNICH, "name": "Jürgen Müller", "emails": ["juergen@investor.de"]},
        ],
    })
}

/// A plain-text RFC 822 message.
pub struct Mail<'a> {
    pub from: &'a str,
    pub to: &'a [&'a str],
    pub cc: &'a [&'a str],
    pub subject: &'a str,
    pub message_id: &'a str,
    pub in_reply_to: Option<&'a str>,
    pub references: &'a [&'a str],
    pub date: &'a str,
    pub body: &'a str,
}

impl Mail<'_> {
    pub fn render(&self) -> Vec<u8> {
        let date: Timestamp = self.date.parse().expect("an RFC 3339 date");
        let mut out = format!("From: {}\r\nTo: {}\r\n", self.from, self.to.join(", "));
        if !self.cc.is_empty() {
            out.push_str(&format!("Cc: {}\r\n", self.cc.join(", ")));
        }
        out.push_str(&format!(
            "Subject: {}\r\nDate: {}\r\nMessage-ID: <{}>\r\n",
            self.subject,
            jiff::fmt::rfc2822::to_string(&date.to_zoned_datetime(jiff::tz::TimeZone::UTC))
                .expect("an RFC 2822 date"),
            self.message_id
        ));
        if let Some(parent) = self.in_reply_to {
            out.push_str(&format!("In-Reply-To: <{parent}>\r\n"));
        }
        if !self.references.is_empty() {
            let refs: Vec<String> = self.references.iter().map(|r| format!("<{r}>")).collect();
            out.push_str(&format!("References: {}\r\n", refs.join(" ")));
        }
        out.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n");
        out.push_str(self.body);
        out.push_str("\r\n");
        out.into_bytes()
    }
}

/// A fixture from `tests/fixtures/eml`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/eml/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What [`seed_mail`] put where.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// Lee's opening message, Bob's reply, Lee's answer: in both mailboxes.
    pub thread_ann: Vec<FakeMessageRef>,
    pub thread_bob: Vec<FakeMessageRef>,
    /// Max (Acme) to Ann only.
    pub ann_only: FakeMessageRef,
    /// The malformed message in Ann's mailbox.
    pub malformed: FakeMessageRef,
    /// The multipart fixture, addressed to Ann and Bob.
    pub capital_call_ann: FakeMessageRef,
    pub capital_call_bob: FakeMessageRef,
}

/// Message-IDs (dedup keys) of the seeded thread.
pub const THREAD_IDS: [&str; 3] = ["t1-1@acme.com", "t1-2@fund.com", "t1-3@acme.com"];
pub const ANN_ONLY_ID: &str = "ann-only-1@acme.com";
pub const COLD_ID: &str = "cold-1@cold.example";
pub const FREEMAIL_ID: &str = "free-1@gmail.com";
pub const CAPITAL_CALL_ID: &str = "CAF=q3-call-001@mail.investor.com";
pub const LATIN1_ID: &str = "latin1-1@investor.fr";

/// Distinct emails [`seed_mail`] stores (the malformed message is not one).
pub const SEEDED_EMAILS: i64 = 14;
/// Sightings: 13 in Ann's mailbox, 6 in Bob's.
pub const SEEDED_ANN_SIGHTINGS: i64 = 13;
pub const SEEDED_BOB_SIGHTINGS: i64 = 6;
/// Emails linked to an investor; the rest (cold, free-mail, Latin-1) are not.
pub const SEEDED_MATCHED: i64 = 11;

/// The standard mix, always added in the same order (so Gmail ids repeat
/// from one fake to the next):
/// - a thread Lee (Acme) → Ann cc Bob, Bob's reply (SENT in Bob's mailbox),
///   Lee's answer; every message in both mailboxes, in one thread per mailbox;
/// - Max (Acme) → Ann only;
/// - cold mail to Ann and free-mail to Bob (both unmatched);
/// - the eight `tests/fixtures/eml` messages in Ann's mailbox (multipart,
///   HTML-only, Latin-1, Windows-1252, attachments, encoded words, no
///   Message-ID, broken MIME), the multipart and no-Message-ID ones in Bob's too;
/// - a message with no header at all in Ann's mailbox (unparsable).
pub fn seed_mail(google: &FakeGoogle) -> Seeded {
    let thread = [
        Mail {
            from: "\"Lee Park\" <lee@acme.com>",
            to: &[ANN],
            cc: &[BOB],
            subject: "Fund IV allocation",
            message_id: THREAD_IDS[0],
            in_reply_to: None,
            references: &[],
            date: "2026-11-20T09:00:00Z",
            body: "Could we take a larger allocation in Fund IV?",
        },
        Mail {
            from: "\"Bob\" <bob@fund.com>",
            to: &["lee@acme.com"],
            cc: &[ANN],
            subject: "Re: Fund IV allocation",
            message_id: THREAD_IDS[1],
            in_reply_to: Some(THREAD_IDS[0]),
            references: &[THREAD_IDS[0]],
            date: "2026-11-20T10:00:00Z",
            body: "Yes, let us talk on Monday.",
        },
        Mail {
            from: "\"Lee Park\" <lee@acme.com>",
            to: &[BOB],
            cc: &[ANN],
            subject: "Re: Fund IV allocation",
            message_id: THREAD_IDS[2],
            in_reply_to: Some(THREAD_IDS[1]),
            references: &[THREAD_IDS[0], THREAD_IDS[1]],
            date: "2026-11-21T08:00:00Z",
            body: "Monday works. Talk then.",
        },
    ];
    let mut thread_ann: Vec<FakeMessageRef> = Vec::new();
    let mut thread_bob: Vec<FakeMessageRef> = Vec::new();
    for (n, mail) in thread.iter().enumerate() {
        let raw = mail.render();
        let in_thread = |refs: &[FakeMessageRef], labels: &[&str]| NewMessage {
            labels: labels.iter().map(|l| l.to_string()).collect(),
            thread_id: refs.first().map(|r| r.thread_id.clone()),
            ..NewMessage::new(raw.clone())
        };
        let ann = google.add_message_with(ANN, in_thread(&thread_ann, &["INBOX"]));
        let bob_labels: &[&str] = if n == 1 { &["SENT"] } else { &["INBOX"] };
        let bob = google.add_message_with(BOB, in_thread(&thread_bob, bob_labels));
        thread_ann.push(ann);
        thread_bob.push(bob);
    }
    let ann_only = google.add_message(
        ANN,
        Mail {
            from: "max@acme.com",
            to: &[ANN],
            cc: &[],
            subject: "Side letter question",
            message_id: ANN_ONLY_ID,
            in_reply_to: None,
            references: &[],
            date: "2026-11-22T09:00:00Z",
            body: "Is the MFN clause in the side letter final?",
        }
        .render(),
    );
    google.add_message(
        ANN,
        Mail {
            from: "stranger@cold.example",
            to: &[ANN],
            cc: &[],
            subject: "Partnership opportunity",
            message_id: COLD_ID,
            in_reply_to: None,
            references: &[],
            date: "2026-11-22T10:00:00Z",
            body: "We would love to pitch you our deal-flow tool.",
        }
        .render(),
    );
    google.add_message(
        BOB,
        Mail {
            from: "someone@gmail.com",
            to: &[BOB],
            cc: &[],
            subject: "Dinner?",
            message_id: FREEMAIL_ID,
            in_reply_to: None,
            references: &[],
            date: "2026-11-22T11:00:00Z",
            body: "Are you free on Friday?",
        }
        .render(),
    );
    let capital_call_ann = google.add_message(ANN, fixture("multipart-alternative.eml"));
    let capital_call_bob = google.add_message(BOB, fixture("multipart-alternative.eml"));
    for name in [
        "html-only.eml",
        "latin1.eml",
        "windows-1252.eml",
        "attachments.eml",
        "encoded-words.eml",
        "broken-mime.eml",
    ] {
        google.add_message(ANN, fixture(name));
    }
    google.add_message(ANN, fixture("no-message-id.eml"));
    google.add_message(BOB, fixture("no-message-id.eml"));
    let malformed = google.add_message_with(
        ANN,
        NewMessage {
            internal_date: Some("2026-11-23T09:00:00Z".parse().expect("a timestamp")),
            ..NewMessage::new(b"just a line of text without any header\r\n".to_vec())
        },
    );
    Seeded {
        thread_ann,
        thread_bob,
        ann_only,
        malformed,
        capital_call_ann,
        capital_call_bob,
    }
}

/// Message `n` of a bulk load: from an Acme address every third message
/// (matched), from strangers otherwise, dated `n` minutes after 2026-11-01.
/// Its Message-ID (`bulk-<n>@example.net`) is the same in every mailbox, so
/// the same `n` in two mailboxes is one email seen twice.
pub fn bulk_message(n: usize, to: &str) -> NewMessage {
    bulk_message_with_id(n, to, &format!("bulk-{n}@example.net"))
}

/// [`bulk_message`] with a Message-ID of its own per mailbox
/// (`bulk-<n>.<local part of to>@example.net`): every mailbox holds
/// distinct emails.
pub fn distinct_bulk_message(n: usize, to: &str) -> NewMessage {
    let local = to.split('@').next().unwrap_or(to);
    bulk_message_with_id(n, to, &format!("bulk-{n}.{local}@example.net"))
}

fn bulk_message_with_id(n: usize, to: &str, message_id: &str) -> NewMessage {
    let from = if n.is_multiple_of(3) {
        format!("partner{n}@acme.com")
    } else {
        format!("sender{n}@elsewhere.example")
    };
    let date = Timestamp::from_second(1_793_491_200 + 60 * n as i64).expect("a timestamp");
    let raw = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Update {n}\r\nDate: {}\r\nMessage-ID: <{message_id}>\r\n\r\nBody of update {n}.\r\n",
        jiff::fmt::rfc2822::to_string(&date.to_zoned_datetime(jiff::tz::TimeZone::UTC))
            .expect("an RFC 2822 date"),
    );
    NewMessage {
        internal_date: Some(date),
        ..NewMessage::new(raw.into_bytes())
    }
}

/// A re-match service as a replica runs it.
pub type RematchReplica = mailroom_domain::trust::RematchService<
    dyn mailroom_ports::TrustStore,
    dyn mailroom_ports::gmail::MailboxReader,
    dyn mailroom_ports::parse::MessageParser,
    dyn mailroom_ports::Clock,
>;

impl CaptureTeam {
    /// Another replica's re-match over the app's database and clock, with
    /// its own Gmail client (so its own quota limiter), named `config.holder`;
    /// the team's internal domain is filled in.
    pub fn rematch_replica(&self, config: mailroom_domain::trust::RematchConfig) -> RematchReplica {
        self.rematch_replica_on(config, self.app.clock.clone())
    }

    /// [`CaptureTeam::rematch_replica`] reading the time from `clock`.
    pub fn rematch_replica_on(
        &self,
        config: mailroom_domain::trust::RematchConfig,
        clock: Arc<dyn mailroom_ports::Clock>,
    ) -> RematchReplica {
        let reader: Arc<dyn mailroom_ports::gmail::MailboxReader> =
            Arc::new(mailroom_adapters::gmail::mailbox::GmailMailbox::new(
                self.google.token_provider(),
                self.google.gmail_config(),
            ));
        let parser: Arc<dyn mailroom_ports::parse::MessageParser> =
            Arc::new(mailroom_adapters::parser::MailParser::default());
        mailroom_domain::trust::RematchService::new(
            self.app.state.trust.clone(),
            reader,
            parser,
            clock,
            mailroom_domain::trust::RematchConfig {
                internal_domains: vec![
                    mailroom_ports::Domain::parse("fund.com").expect("a domain"),
                ],
                ..config
            },
        )
    }

    /// After a `mailroom` process was killed: on PostgreSQL its server
    /// sessions finish the statement they were running (a COMMIT already sent
    /// commits) and only then notice the closed socket and roll back anything
    /// else. Waits until no session but idle ones (the test's own pools) is
    /// left on the database; nothing to wait for on SQLite.
    pub async fn dead_sessions_gone(&self, backend: Backend) {
        if backend != Backend::Postgres {
            return;
        }
        wait_until(
            Duration::from_secs(30),
            "the dead sessions to end",
            || async {
                self.count(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                     AND pid <> pg_backend_pid() AND state <> 'idle'",
                )
                .await
                    == 0
            },
        )
        .await;
    }
}

/// Polls `done` every few milliseconds until it holds, for at most `limit`.
///
/// # Panics
/// When `limit` passes first.
pub async fn wait_until<F, Fut>(limit: Duration, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
