//! Real-world hostile messages (`tests/fixtures/hostile/`, taken from
//! maintained mail libraries' published test suites, and the inputs the
//! fuzzer found): the parser answers every one without panicking, and a sync
//! of a mailbox holding all of them finishes, counts each, and leaves the
//! next sync and the activity list working.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use mailroom_adapters::parser::MailParser;
use mailroom_ports::parse::MessageParser;
use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{ANN, CaptureTeam};
use mailroom_tests::fake_google::NewMessage;
use reqwest::StatusCode;

/// Every file under `tests/fixtures/hostile/` except the README, sorted.
fn corpus() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.file_name().is_some_and(|n| n != "README.md") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hostile");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    files
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_parser_answers_every_hostile_message_without_panicking() {
    let files = corpus();
    assert!(files.len() >= 50, "the corpus is in place: {}", files.len());
    let parser = MailParser::default();
    let mut panicked = Vec::new();
    let mut parsed = 0;
    for path in &files {
        let raw = read(path);
        match catch_unwind(AssertUnwindSafe(|| parser.parse(&raw))) {
            Ok(Ok(message)) => {
                parsed += 1;
                // What the parser hands on must be storable text: no NUL
                // (PostgreSQL refuses it in text columns).
                for text in [&message.subject, &message.text_body, &message.snippet]
                    .into_iter()
                    .flatten()
                {
                    assert!(
                        !text.contains('\0'),
                        "NUL in parsed text of {}",
                        path.display()
                    );
                }
            }
            Ok(Err(_)) => {}
            Err(_) => panicked.push(path.display().to_string()),
        }
    }
    assert!(panicked.is_empty(), "the parser panicked on {panicked:?}");
    assert!(
        parsed > files.len() / 2,
        "most real-world messages parse: {parsed}"
    );
}

/// Each message as it is, and a copy that also names an investor's contact
/// in Cc, so the matched path (full content stored) runs on it too.
fn load_mailbox(team: &CaptureTeam) -> usize {
    let now = Timestamp::now();
    let mut added = 0;
    for (n, path) in corpus().iter().enumerate() {
        let raw = read(path);
        let mut matched = format!("Cc: Lee <lee@acme.com>\r\nX-Corpus-Copy: {n}\r\n").into_bytes();
        matched.extend_from_slice(&raw);
        for raw in [raw, matched] {
            team.google.add_message_with(
                ANN,
                NewMessage {
                    internal_date: Some(now),
                    ..NewMessage::new(raw)
                },
            );
            added += 1;
        }
    }
    added
}

async fn a_sync_of_the_hostile_corpus_finishes_and_counts_every_message(backend: Backend) {
    let team = CaptureTeam::start(backend).await;
    let added = load_mailbox(&team);

    let (status, body) = team.sync_http(team.ann_box).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let count = |k: &str| body[k].as_u64().unwrap_or_else(|| panic!("{k} in {body}"));
    assert_eq!(count("fetched"), added as u64, "{body}");
    assert_eq!(
        count("captured") + count("skipped") + count("errors"),
        count("fetched"),
        "every message is captured, skipped or recorded as an error: {body}"
    );
    assert!(
        count("matched") > 0,
        "the matched copies are stored: {body}"
    );

    // Nothing stopped: the next sync runs, and what was stored can be read.
    let (status, again) = team.sync_http(team.ann_box).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    let (status, accounts) = team.get(ANN, "/api/email/accounts").await;
    assert_eq!(status, StatusCode::OK, "{accounts}");
    assert!(
        !accounts.to_string().contains("\"error\""),
        "the mailbox is not left in error: {accounts}"
    );
    let (status, activity) = team.get(ANN, "/api/email/activity?limit=200").await;
    assert_eq!(status, StatusCode::OK, "{activity}");
    assert!(!activity["items"].as_array().expect("items").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_of_the_hostile_corpus_finishes_on_sqlite() {
    a_sync_of_the_hostile_corpus_finishes_and_counts_every_message(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_of_the_hostile_corpus_finishes_on_postgres() {
    a_sync_of_the_hostile_corpus_finishes_and_counts_every_message(Backend::Postgres).await;
}
