//! Shared arrangement for the digest end-to-end tests: a fund with LP mail in
//! the store, the env that points the app at real transports, HTTP calls, and
//! reading back what was delivered.

// Each digest_e2e_* test binary uses part of this module.
#![allow(dead_code)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use mail_parser::MessageParser;
use mailroom_ports::records::Role;
use mailroom_tests::app::TestApp;
use mailroom_tests::db::seed::{self, ACME, BETA, LEE, Msg, OLD, OLGA};
use mailroom_tests::fake_google::FakeGoogle;
use mailroom_tests::smtp_server::{SmtpServer, SmtpServerConfig};
use serde_json::Value;

/// Active admin with a mailbox; the first admin by id, so the default Gmail sender.
pub const ANN: &str = "ann@fund.com";
/// Active member with a mailbox.
pub const BOB: &str = "bob@fund.com";
/// Inactive member with a mailbox.
pub const CAT: &str = "cat@fund.com";
/// Active admin without a mailbox.
pub const DAN: &str = "dan@fund.com";
/// Inactive admin: never a recipient.
pub const ZED: &str = "zed@fund.com";
/// Who the digest should reach, in user-id order.
pub const ACTIVE_ADMINS: [&str; 2] = [ANN, DAN];
/// `CRM_DIGEST_SENDER` in the tests that set it.
pub const DIGEST_SENDER: &str = "digest@fund.com";

/// Every address the fund's data holds: team, investor contacts, LP senders.
pub const EVERY_KNOWN_ADDRESS: [&str; 10] = [
    ANN,
    BOB,
    CAT,
    DAN,
    ZED,
    DIGEST_SENDER,
    "lee@acme.com",
    "max@acme.com",
    "olga@old.com",
    "partner@beta.vc",
];

/// Subjects of mail that is in the send-now window (the app's clock shows
/// 2026-11-24T12:00Z) and must be in the digest.
pub const ACME_SUBJECT: &str = "Q4 capital call";
pub const BETA_SUBJECT: &str = "Beta follow-up";
/// Subjects that must never show: outside the window, an inactive user's
/// mailbox, and unmatched mail (stored without a subject anyway).
pub const OLD_SUBJECT: &str = "Last week's note";
pub const INACTIVE_SUBJECT: &str = "Cat's private thread";
pub const UNMATCHED_SUBJECT: &str = "Weekly newsletter";

/// The count-only lines the seeded window gives each active team member.
pub const ANN_LINE: &str = "Ann: 1 email (1 received, 0 sent) with 1 investor.";
pub const BOB_LINE: &str = "Bob: 2 emails (1 received, 1 sent) with 2 investors.";
/// The section headings of `domain::digest::compose`.
pub const BY_TEAM_MEMBER: &str = "BY TEAM MEMBER";
pub const BY_INVESTOR: &str = "BY INVESTOR";

/// Loads the store-test directory (Ann admin, Bob member, Cat inactive, three
/// investors and their contacts) plus Dan (admin) and Zed (inactive admin),
/// and captures LP mail around the send-now window:
/// - Lee (Acme) to Ann and Bob at 09:00, seen in both mailboxes: one email;
/// - Bob to Beta's partner at 10:30, from Bob's SENT: outbound;
/// - Lee to Ann four days earlier, Olga to inactive Cat, and a newsletter
///   nobody matched: none of them belongs in the digest.
pub async fn seed_fund(app: &TestApp) {
    let store = app.db.store().await;
    let team = seed::team(&store).await;
    app.add_users(&[(DAN, Role::Admin, true), (ZED, Role::Admin, false)])
        .await;

    let acme = Msg::new(
        "<q4-call@acme.com>",
        "lee@acme.com",
        &[ANN, BOB],
        "2026-11-24T09:00:00Z",
    )
    .subject(ACME_SUBJECT)
    .link(ACME, Some(LEE), "lee@acme.com");
    let beta = Msg::new(
        "<follow-up@fund.com>",
        BOB,
        &["partner@beta.vc"],
        "2026-11-24T10:30:00Z",
    )
    .subject(BETA_SUBJECT)
    .link(BETA, None, "partner@beta.vc");
    let old = Msg::new(
        "<last-week@acme.com>",
        "lee@acme.com",
        &[ANN],
        "2026-11-20T09:00:00Z",
    )
    .subject(OLD_SUBJECT)
    .link(ACME, Some(LEE), "lee@acme.com");
    let inactive = Msg::new(
        "<private@old.com>",
        "olga@old.com",
        &[CAT],
        "2026-11-24T08:00:00Z",
    )
    .subject(INACTIVE_SUBJECT)
    .link(OLD, Some(OLGA), "olga@old.com");
    let unmatched = Msg::new(
        "<weekly@news.example>",
        "news@news.example",
        &[ANN],
        "2026-11-24T07:00:00Z",
    )
    .subject(UNMATCHED_SUBJECT);

    let captures = [
        acme.seen_by(team.ann_box, "g-ann-1", false),
        acme.seen_by(team.bob_box, "g-bob-1", false),
        beta.seen_by(team.bob_box, "g-bob-2", true),
        old.seen_by(team.ann_box, "g-ann-2", false),
        inactive.seen_by(team.cat_box, "g-cat-1", false),
        unmatched.seen_by(team.ann_box, "g-ann-3", false),
    ];
    for capture in captures {
        mailroom_ports::Store::capture(&store, capture)
            .await
            .expect("seed capture");
    }
}

/// Asserts the body of the seeded send-now window: both sections, each
/// member's count line, each investor's line and subject, and nothing that
/// must stay out.
pub fn assert_seeded_digest_body(body: &str) {
    for expected in [
        "2 emails with 2 investors; 2 team members active.",
        BY_TEAM_MEMBER,
        ANN_LINE,
        BOB_LINE,
        BY_INVESTOR,
        "Acme Capital: 1 email (1 inbound, 0 outbound)",
        "Beta Ventures: 1 email (0 inbound, 1 outbound)",
        ACME_SUBJECT,
        BETA_SUBJECT,
        "Lee Park",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in:\n{body}");
    }
    assert!(
        body.find(BY_TEAM_MEMBER) < body.find(BY_INVESTOR),
        "the team section comes first:\n{body}"
    );
    for absent in [
        OLD_SUBJECT,
        INACTIVE_SUBJECT,
        UNMATCHED_SUBJECT,
        "Old LP",
        "Cat:",
    ] {
        assert!(!body.contains(absent), "unexpected {absent:?} in:\n{body}");
    }
}

/// The subject the seeded send-now window gets.
pub const SEEDED_SUBJECT: &str = "mailroom digest for Tue 24 Nov 2026: 2 emails, 2 investors";

/// Owned env pairs, since ports and paths are only known at run time.
#[derive(Debug, Default, Clone)]
pub struct Env(Vec<(&'static str, String)>);

impl Env {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.0.push((key, value.into()));
        self
    }

    /// SMTP through `server` with its own credentials, in plain text on loopback.
    pub fn smtp(self, server: &SmtpServer) -> Self {
        let credentials = SmtpServerConfig::default();
        self.smtp_with_password(server, &credentials.password)
    }

    pub fn smtp_with_password(self, server: &SmtpServer, password: &str) -> Self {
        let credentials = SmtpServerConfig::default();
        self.set("SMTP_HOST", "127.0.0.1")
            .set("SMTP_PORT", server.port().to_string())
            .set("SMTP_USERNAME", credentials.username.clone())
            .set("SMTP_PASSWORD", password)
            .set("SMTP_FROM", credentials.username)
            .set("SMTP_TLS", "none")
    }

    /// Gmail-DWD against `google`, with the key file at `key_file`.
    pub fn gmail(self, google: &FakeGoogle, key_file: &Path) -> Self {
        self.set(
            "GOOGLE_SERVICE_ACCOUNT_FILE",
            key_file.display().to_string(),
        )
        .set("GMAIL_API_BASE", google.base_url())
    }

    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
}

/// Writes `json` (a service-account key) to a temp file the app can read.
pub fn key_file(json: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("a temp key file");
    std::fs::write(file.path(), json).expect("write the key file");
    file
}

/// `POST path` as `caller` with a JSON body; the status and the JSON answer.
pub async fn post(app: &TestApp, path: &str, caller: &str, body: Value) -> (u16, Value) {
    let response = app
        .http
        .post(app.url(path))
        .bearer_auth(app.token(caller))
        .json(&body)
        .send()
        .await
        .expect("the app answers");
    read(response).await
}

/// `GET path` as `caller`.
pub async fn get(app: &TestApp, path: &str, caller: &str) -> (u16, Value) {
    let response = app
        .http
        .get(app.url(path))
        .bearer_auth(app.token(caller))
        .send()
        .await
        .expect("the app answers");
    read(response).await
}

/// The raw text of a `POST` answer, for checks on everything the client sees.
pub async fn post_text(app: &TestApp, path: &str, caller: &str, body: Value) -> (u16, String) {
    let response = app
        .http
        .post(app.url(path))
        .bearer_auth(app.token(caller))
        .json(&body)
        .send()
        .await
        .expect("the app answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a readable body"))
}

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("a readable body");
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: a JSON body ({e}): {text}"));
    (status, json)
}

/// The `recipients` array of a send answer.
pub fn recipients_of(answer: &Value) -> Vec<String> {
    answer["recipients"]
        .as_array()
        .unwrap_or_else(|| panic!("no recipients in {answer}"))
        .iter()
        .map(|r| r.as_str().expect("a string").to_string())
        .collect()
}

/// A delivered message, parsed.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: String,
    pub text: String,
}

impl Parsed {
    /// Everyone the headers address, lowercased.
    pub fn header_recipients(&self) -> Vec<String> {
        self.to
            .iter()
            .chain(&self.cc)
            .chain(&self.bcc)
            .map(|a| a.to_lowercase())
            .collect()
    }
}

pub fn parse(raw: &[u8]) -> Parsed {
    let message = MessageParser::default()
        .parse(raw)
        .expect("the delivered message parses");
    let addresses = |list: Option<&mail_parser::Address<'_>>| -> Vec<String> {
        list.map(|a| {
            a.iter()
                .filter_map(|addr| addr.address())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
    };
    Parsed {
        from: addresses(message.from()),
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        bcc: addresses(message.bcc()),
        subject: message.subject().unwrap_or_default().to_string(),
        // SMTP puts CRLF on the wire; the digest is composed with LF.
        text: message
            .body_text(0)
            .map(|t| t.replace("\r\n", "\n"))
            .unwrap_or_default(),
    }
}

/// The `.eml` files the outbox transport wrote, parsed, in name order.
pub fn outbox_messages(dir: &Path) -> Vec<Parsed> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("the outbox folder is readable")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| parse(&std::fs::read(p).expect("an .eml is readable")))
        .collect()
}

/// Every log line the app writes on this thread while the guard lives.
///
/// Only complete on a current-thread runtime, where the app's server and
/// every task it spawns run on the test's thread.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    pub fn start() -> (LogCapture, tracing::subscriber::DefaultGuard) {
        let capture = LogCapture::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(capture.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .finish();
        (capture, tracing::subscriber::set_default(subscriber))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log lock")).into_owned()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
