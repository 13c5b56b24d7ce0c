//! `mailroom capture import`: `.eml` files, folders and mbox files go
//! through the sync's capture path, idempotently, on SQLite and PostgreSQL.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sea_orm::{ConnectionTrait, Statement};

use mailroom_adapters::clock::SystemClock;
use mailroom_adapters::parser::MailParser;
use mailroom_adapters::store::SeaStore;
use mailroom_app::import::{ImportError, ImportOptions, ImportReport, import_paths};
use mailroom_ports::records::{ActivityQuery, Direction, ProposalStatus};
use mailroom_ports::{EmailAddress, Store};
use mailroom_tests::db::TestDb;
use mailroom_tests::db::seed::{self, ACME, addr};
use mailroom_tests::on_both_databases;

on_both_databases!(
    importing_a_folder_twice_changes_nothing_the_second_time,
    imported_matched_mail_gets_a_pending_proposal,
    mail_imported_as_sent_is_outbound_and_marked_sent,
    importing_into_an_unknown_mailbox_is_refused_and_stores_nothing,
);

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/eml")
}

fn message(id: &str, from: &str, to: &str, subject: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Mon, 02 Jun 2025 09:00:00 +0000\r\n\
         Message-ID: <{id}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Hello about {subject}.\r\n"
    )
}

/// A folder with a matched and an unmatched message, a malformed file, a
/// file of another kind (ignored) and, in a subfolder, an mbox of two.
fn corpus(dir: &Path) {
    std::fs::write(
        dir.join("matched.eml"),
        message("imp-1@acme.com", "lee@acme.com", "ann@fund.com", "Fund IV"),
    )
    .unwrap();
    std::fs::write(
        dir.join("unmatched.EML"),
        message("imp-2@else.org", "x@else.org", "ann@fund.com", "Lunch"),
    )
    .unwrap();
    std::fs::write(dir.join("broken.eml"), b"\x00\x01\x02 not a message at all").unwrap();
    std::fs::write(
        dir.join("notes.txt"),
        b"From: lee@acme.com\n\nnot imported\n",
    )
    .unwrap();
    let sub = dir.join("export");
    std::fs::create_dir(&sub).unwrap();
    let mbox = format!(
        "From lee@acme.com Mon Jun  2 09:00:00 2025\n{}\nFrom max@acme.com Mon Jun  2 10:00:00 2025\n{}",
        message(
            "imp-3@acme.com",
            "max@acme.com",
            "ann@fund.com",
            "Q2 numbers"
        )
        .replace("\r\n", "\n"),
        message("imp-4@beta.vc", "pat@beta.vc", "ann@fund.com", "Intro").replace("\r\n", "\n"),
    );
    std::fs::write(sub.join("takeout.mbox"), mbox).unwrap();
}

async fn count(store: &SeaStore, sql: &str) -> i64 {
    let conn = store.connection();
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// Row counts of everything a capture writes.
async fn snapshot(store: &SeaStore) -> Vec<i64> {
    let mut out = Vec::new();
    for table in [
        "emails",
        "email_account_messages",
        "email_investor_links",
        "activity_proposals",
        "capture_errors",
    ] {
        out.push(count(store, &format!("SELECT COUNT(*) FROM {table}")).await);
    }
    out
}

async fn import(
    store: &Arc<SeaStore>,
    mailbox: &str,
    sent: bool,
    paths: &[PathBuf],
) -> Result<ImportReport, ImportError> {
    let options = ImportOptions {
        sent,
        ..ImportOptions::default()
    };
    let mailbox: EmailAddress = addr(mailbox);
    import_paths(
        store.clone(),
        Arc::new(MailParser::default()),
        Arc::new(SystemClock),
        &mailbox,
        &options,
        paths,
    )
    .await
}

async fn importing_a_folder_twice_changes_nothing_the_second_time(db: &TestDb) {
    let store = Arc::new(db.store().await);
    seed::team(&store).await;
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let paths = vec![dir.path().to_path_buf(), fixtures()];

    let first = import(&store, "ann@fund.com", false, &paths).await.unwrap();
    let after_first = snapshot(&store).await;
    let second = import(&store, "ann@fund.com", false, &paths).await.unwrap();
    let after_second = snapshot(&store).await;

    // 4 files here (notes.txt is skipped) + 8 fixtures; 5 + 8 messages.
    assert_eq!(first.files, 12, "{}", db.backend());
    assert_eq!(first.messages, 13);
    assert_eq!(first.errors, 1, "the malformed file");
    assert_eq!(first.captured, 12);
    assert_eq!(first.matched, 3, "lee@ and max@acme.com, pat@beta.vc");
    assert_eq!(first.duplicates, 0);
    assert_eq!(second.captured, 0);
    assert_eq!(second.matched, 0);
    assert_eq!(second.proposals, 0);
    assert_eq!(second.duplicates, 12);
    assert_eq!(second.errors, 1, "the malformed file is skipped again");
    assert_eq!(after_first, after_second, "{}", db.backend());
    assert_eq!(after_first[1], 12, "one sighting per captured message");
}

async fn imported_matched_mail_gets_a_pending_proposal(db: &TestDb) {
    let store = Arc::new(db.store().await);
    seed::team(&store).await;
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());

    let report = import(
        &store,
        "ann@fund.com",
        false,
        &[dir.path().join("matched.eml")],
    )
    .await
    .unwrap();

    assert_eq!(
        (report.captured, report.matched, report.proposals),
        (1, 1, 1)
    );
    let proposals = store
        .list_proposals(Some(ProposalStatus::Pending), None)
        .await
        .unwrap();
    assert_eq!(proposals.len(), 1, "{}", db.backend());
    assert_eq!(proposals[0].investor_id, ACME);
    assert_eq!(proposals[0].subject.as_deref(), Some("Fund IV"));
    assert_eq!(proposals[0].direction, Direction::Inbound);
}

async fn mail_imported_as_sent_is_outbound_and_marked_sent(db: &TestDb) {
    let store = Arc::new(db.store().await);
    let team = seed::team(&store).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sent.eml");
    std::fs::write(
        &file,
        message(
            "imp-sent@fund.com",
            "ann@fund.com",
            "lee@acme.com",
            "Our reply",
        ),
    )
    .unwrap();

    let report = import(&store, "ann@fund.com", true, &[file]).await.unwrap();

    assert_eq!((report.captured, report.matched), (1, 1));
    let page = store
        .query_activity(ActivityQuery {
            investor_id: None,
            account_id: None,
            direction: None,
            q: None,
            since: None,
            until: None,
            limit: 10,
            cursor: None,
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1, "{}", db.backend());
    assert_eq!(page.items[0].direction, Direction::Outbound);
    let sightings = &page.items[0].mailboxes;
    assert_eq!(sightings.len(), 1);
    assert_eq!(sightings[0].account_id, team.ann_box);
    assert!(sightings[0].is_sent, "--sent marks the sighting as sent");
}

async fn importing_into_an_unknown_mailbox_is_refused_and_stores_nothing(db: &TestDb) {
    let store = Arc::new(db.store().await);
    seed::team(&store).await;
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let before = snapshot(&store).await;

    let error = import(
        &store,
        "nobody@fund.com",
        false,
        &[dir.path().to_path_buf()],
    )
    .await
    .unwrap_err();

    assert!(matches!(error, ImportError::NoSuchMailbox(_)), "{error}");
    assert!(
        error.to_string().contains("POST /api/email/accounts"),
        "{error}"
    );
    assert_eq!(snapshot(&store).await, before);
}
