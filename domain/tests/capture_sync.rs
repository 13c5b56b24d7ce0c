//! Mailbox sync (R-CAP-2) against mocked ports: full, incremental, expired history, failures.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::executor::block_on;
use jiff::{SignedDuration, Timestamp};
use mailroom_domain::capture::{RetryPolicy, SyncConfig, SyncError, SyncReport, SyncService};
use mailroom_ports::gmail::{
    GmailError, HistoryPage, MessagePage, MessageRef, Profile, RawMessage,
};
use mailroom_ports::parse::ParseError;
use mailroom_ports::records::{
    CaptureOutcome, CaptureRequest, ContactEmail, EmailAccount, MatchDirectory, NamedAddress,
    ParsedMessage, SyncRecord, SyncState,
};
use mailroom_ports::{
    AccountId, ContactId, Domain, EmailAddress, EmailId, InvestorId, MockClock, MockMailboxReader,
    MockMessageParser, MockStore, UserId,
};
use mockall::predicate::{always, eq};

const MAILBOX: &str = "me@fund.com";

fn now() -> Timestamp {
    "2025-06-01T12:00:00Z".parse().unwrap()
}

fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

fn account(id: i64, history_id: Option<&str>, enabled: bool) -> EmailAccount {
    EmailAccount {
        id: AccountId(id),
        user_id: UserId(1),
        user_email: addr(MAILBOX),
        email_address: addr(MAILBOX),
        enabled,
        history_id: history_id.map(str::to_string),
        sync_state: SyncState::Idle,
        last_error: None,
        last_synced_at: None,
        message_count: 0,
    }
}

fn config() -> SyncConfig {
    SyncConfig {
        backfill_days: 30,
        internal_domains: vec![Domain::parse("fund.com").unwrap()],
        fetch_concurrency: 4,
        account_concurrency: 2,
        holder: "replica-a".into(),
        lease: Duration::from_secs(600),
        retry: RetryPolicy::default(),
    }
}

/// Everything the mocked store was asked to write.
#[derive(Default, Clone)]
struct Log {
    captures: Arc<Mutex<Vec<CaptureRequest>>>,
    syncs: Arc<Mutex<Vec<SyncRecord>>>,
    capture_errors: Arc<Mutex<Vec<(String, String)>>>,
    deletes: Arc<Mutex<Vec<String>>>,
    releases: Arc<Mutex<u32>>,
    /// What `live_gmail_ids` answers.
    live: Arc<Mutex<Vec<String>>>,
}

impl Log {
    fn captured_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .captures
            .lock()
            .unwrap()
            .iter()
            .map(|c| c.gmail_message_id.clone())
            .collect();
        ids.sort();
        ids
    }

    fn cursors(&self) -> Vec<Option<String>> {
        self.syncs
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.history_id.clone())
            .collect()
    }

    fn last_sync(&self) -> SyncRecord {
        self.syncs
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a sync record")
    }
}

/// A store holding `account`, whose mailbox already has sightings of `known`.
/// Ann (ann@acme.com) is a contact of investor 1.
fn store(account: EmailAccount, known: &[&str], log: &Log) -> MockStore {
    store_with(account, known, log, true)
}

/// [`store`], where `deletes_allowed: false` makes any soft delete fail the test.
fn store_with(
    account: EmailAccount,
    known: &[&str],
    log: &Log,
    deletes_allowed: bool,
) -> MockStore {
    store_with_leases(account, known, log, deletes_allowed, &[true])
}

/// [`store_with`], answering the lease calls with `leases` in order (each
/// call must come; no more).
fn store_with_leases(
    account: EmailAccount,
    known: &[&str],
    log: &Log,
    deletes_allowed: bool,
    leases: &[bool],
) -> MockStore {
    let mut store = MockStore::new();
    let id = account.id;
    store
        .expect_get_account()
        .with(eq(id))
        .returning(move |_| Ok(account.clone()));
    let answers = Arc::new(Mutex::new(std::collections::VecDeque::from(
        leases.to_vec(),
    )));
    store
        .expect_try_lease_account()
        .withf(move |a, holder, at, until| {
            *a == id
                && holder == "replica-a"
                && *at == now()
                && *until == now() + SignedDuration::from_secs(600)
        })
        .times(leases.len())
        .returning(move |_, _, _, _| {
            Ok(answers.lock().unwrap().pop_front().expect("a lease answer"))
        });
    let releases = log.releases.clone();
    store
        .expect_release_account()
        .withf(move |a, holder| *a == id && holder == "replica-a")
        .times(1)
        .returning(move |_, _| {
            *releases.lock().unwrap() += 1;
            Ok(())
        });
    store
        .expect_own_addresses()
        .times(1)
        .returning(|| Ok(vec![addr(MAILBOX)]));
    store.expect_match_directory().times(1).returning(|| {
        Ok(MatchDirectory {
            contact_emails: vec![ContactEmail {
                email: addr("ann@acme.com"),
                contact_id: ContactId(10),
                investor_id: InvestorId(1),
            }],
            investor_domains: vec![],
            never_log: Vec::new(),
        })
    });
    let live = log.live.clone();
    store
        .expect_live_gmail_ids()
        .with(eq(id))
        .returning(move |_| Ok(live.lock().unwrap().clone()));
    let known: Vec<String> = known.iter().map(|k| k.to_string()).collect();
    store
        .expect_known_gmail_ids()
        .returning(move |_, ids| Ok(ids.iter().filter(|i| known.contains(i)).cloned().collect()));
    store.expect_capture_attempts().returning(|_, _| Ok(vec![]));
    let captures = log.captures.clone();
    store.expect_capture().returning(move |req| {
        let mut captures = captures.lock().unwrap();
        captures.push(req);
        Ok(CaptureOutcome {
            email_id: EmailId(captures.len() as i64),
            new_email: true,
            new_sighting: true,
            proposals_created: 0,
        })
    });
    let syncs = log.syncs.clone();
    store
        .expect_record_sync()
        .with(eq(id), always())
        .returning(move |_, r| {
            syncs.lock().unwrap().push(r);
            Ok(())
        });
    let errors = log.capture_errors.clone();
    store
        .expect_record_capture_error()
        .returning(move |_, gid, text, _| {
            errors
                .lock()
                .unwrap()
                .push((gid.to_string(), text.to_string()));
            Ok(())
        });
    if deletes_allowed {
        let deletes = log.deletes.clone();
        store
            .expect_soft_delete_sighting()
            .returning(move |_, gid, _| {
                deletes.lock().unwrap().push(gid.to_string());
                Ok(true)
            });
    } else {
        store.expect_soft_delete_sighting().never();
    }
    store
}

/// Raw bytes are `sender` (or `BAD` for a message that fails to parse).
fn parser() -> MockMessageParser {
    let mut parser = MockMessageParser::new();
    parser.expect_parse().returning(|raw| {
        let text = String::from_utf8(raw.to_vec()).unwrap();
        if text == "BAD" {
            return Err(ParseError::Malformed(
                "unexpected byte near 'Dear Ann, our secret terms'".into(),
            ));
        }
        Ok(ParsedMessage {
            message_id: Some(format!("{}@mail", text.replace('@', "."))),
            from: Some(NamedAddress {
                name: None,
                email: addr(&text),
            }),
            to: vec![NamedAddress {
                name: None,
                email: addr(MAILBOX),
            }],
            subject: Some("Fund III".into()),
            text_body: Some("body".into()),
            snippet: Some("body".into()),
            fingerprint: "fp".into(),
            ..Default::default()
        })
    });
    parser
}

fn clock() -> MockClock {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(now());
    clock
}

/// A reader whose mailbox holds these messages: id → (sender or BAD, labels).
fn reader_with(
    messages: &[(&str, &str, &[&str])],
    fetches: &Arc<Mutex<HashMap<String, u32>>>,
) -> MockMailboxReader {
    let mut reader = MockMailboxReader::new();
    let stored: HashMap<String, (String, Vec<String>)> = messages
        .iter()
        .map(|(id, body, labels)| {
            (
                id.to_string(),
                (
                    body.to_string(),
                    labels.iter().map(|l| l.to_string()).collect(),
                ),
            )
        })
        .collect();
    let fetches = fetches.clone();
    reader
        .expect_fetch_raw()
        .withf(|mailbox, _| mailbox == &addr(MAILBOX))
        .returning(move |_, id| {
            *fetches.lock().unwrap().entry(id.to_string()).or_default() += 1;
            let (body, labels) = stored.get(id).cloned().ok_or(GmailError::NotFound)?;
            Ok(RawMessage {
                id: id.to_string(),
                thread_id: format!("t-{id}"),
                label_ids: labels,
                history_id: None,
                internal_date: Some(now()),
                size_estimate: 100,
                raw: body.into_bytes(),
            })
        });
    reader
}

fn refs(ids: &[&str]) -> Vec<MessageRef> {
    ids.iter()
        .map(|id| MessageRef {
            id: id.to_string(),
            thread_id: format!("t-{id}"),
        })
        .collect()
}

fn expect_full_listing(reader: &mut MockMailboxReader, history_id: &str, pages: Vec<Vec<&str>>) {
    let history_id = history_id.to_string();
    reader.expect_profile().times(1).returning(move |m| {
        Ok(Profile {
            email_address: m.clone(),
            history_id: history_id.clone(),
        })
    });
    let after = now() - SignedDuration::from_hours(24 * 30);
    let count = pages.len();
    for (i, ids) in pages.into_iter().enumerate() {
        let token = (i > 0).then(|| format!("p{i}"));
        let next = (i + 1 < count).then(|| format!("p{}", i + 1));
        let ids: Vec<String> = ids.into_iter().map(str::to_string).collect();
        reader
            .expect_list_messages()
            .withf(move |m, a, t| m == &addr(MAILBOX) && *a == Some(after) && *t == token)
            .times(1)
            .returning(move |_, _, _| {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                Ok(MessagePage {
                    messages: refs(&ids),
                    next_page_token: next.clone(),
                })
            });
    }
}

type Service = SyncService<MockStore, MockMailboxReader, MockMessageParser, MockClock>;

fn service(store: MockStore, reader: MockMailboxReader) -> Service {
    SyncService::new(
        Arc::new(store),
        Arc::new(reader),
        Arc::new(parser()),
        Arc::new(clock()),
        config(),
    )
}

#[test]
fn first_sync_captures_each_listed_message_once_and_stores_the_profile_cursor() {
    let log = Log::default();
    let fetches = Arc::default();
    let mut reader = reader_with(
        &[
            ("g1", "ann@acme.com", &["INBOX"]),
            ("g2", "ann@acme.com", &["INBOX"]),
            ("g3", "bob@else.org", &["INBOX"]),
        ],
        &fetches,
    );
    // g2 is listed on both pages (Gmail pages can overlap while mail arrives).
    expect_full_listing(
        &mut reader,
        "1000",
        vec![vec!["g1", "g2"], vec!["g2", "g3"]],
    );
    reader.expect_list_history().never();
    let svc = service(store(account(1, None, true), &[], &log), reader);

    let report = block_on(svc.sync_account(AccountId(1))).unwrap();

    assert_eq!(log.captured_ids(), vec!["g1", "g2", "g3"]);
    assert!(
        fetches.lock().unwrap().values().all(|&n| n == 1),
        "{:?}",
        fetches.lock().unwrap()
    );
    assert_eq!(
        report,
        SyncReport {
            fetched: 3,
            captured: 3,
            matched: 2,
            skipped: 0,
            errors: 0,
            full: true
        }
    );
    let last = log.last_sync();
    assert_eq!(
        (last.history_id.as_deref(), last.state, last.last_error),
        (Some("1000"), SyncState::Idle, None)
    );
    assert_eq!(*log.releases.lock().unwrap(), 1);
}

#[test]
fn unmatched_mail_is_captured_without_its_content() {
    let log = Log::default();
    let mut reader = reader_with(
        &[
            ("g1", "ann@acme.com", &["INBOX"]),
            ("g2", "bob@else.org", &["INBOX"]),
        ],
        &Arc::default(),
    );
    expect_full_listing(&mut reader, "1000", vec![vec!["g1", "g2"]]);
    let svc = service(store(account(1, None, true), &[], &log), reader);

    block_on(svc.sync_account(AccountId(1))).unwrap();

    let captures = log.captures.lock().unwrap();
    let by_id = |id: &str| {
        captures
            .iter()
            .find(|c| c.gmail_message_id == id)
            .unwrap()
            .clone()
    };
    let matched = by_id("g1");
    assert_eq!(matched.links.len(), 1);
    assert_eq!(
        matched.content.and_then(|c| c.subject).as_deref(),
        Some("Fund III")
    );
    let unmatched = by_id("g2");
    assert!(unmatched.links.is_empty());
    assert_eq!(unmatched.content, None);
    assert_eq!(unmatched.header.from_email, Some(addr("bob@else.org")));
}

#[test]
fn already_captured_messages_are_neither_fetched_nor_captured_again() {
    let log = Log::default();
    let fetches: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let mut reader = reader_with(
        &[("g1", "ann@acme.com", &[]), ("g2", "ann@acme.com", &[])],
        &fetches,
    );
    expect_full_listing(&mut reader, "1000", vec![vec!["g1", "g2"]]);
    let svc = service(store(account(1, None, true), &["g1"], &log), reader);

    let report = block_on(svc.sync_account(AccountId(1))).unwrap();

    assert_eq!(log.captured_ids(), vec!["g2"]);
    assert!(!fetches.lock().unwrap().contains_key("g1"));
    assert_eq!((report.captured, report.skipped), (1, 1));
}

#[test]
fn incremental_sync_captures_added_mail_soft_deletes_deleted_mail_and_stores_the_last_cursor() {
    let log = Log::default();
    let fetches: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let mut reader = reader_with(
        &[
            ("g5", "ann@acme.com", &["INBOX"]),
            ("g6", "me@fund.com", &["SENT"]),
            ("g7", "ann@acme.com", &[]),
        ],
        &fetches,
    );
    reader.expect_profile().never();
    reader.expect_list_messages().never();
    reader
        .expect_list_history()
        .withf(|m, start, token| m == &addr(MAILBOX) && start == "500" && token.is_none())
        .times(1)
        .returning(|_, _, _| {
            Ok(HistoryPage {
                added: refs(&["g5", "g7"]),
                deleted: refs(&["g1"]),
                history_id: "550".into(),
                next_page_token: Some("h2".into()),
            })
        });
    reader
        .expect_list_history()
        .withf(|_, start, token| start == "500" && token.as_deref() == Some("h2"))
        .times(1)
        .returning(|_, _, _| {
            Ok(HistoryPage {
                added: refs(&["g6"]),
                deleted: refs(&["g7"]),
                history_id: "560".into(),
                next_page_token: None,
            })
        });
    let svc = service(store(account(1, Some("500"), true), &[], &log), reader);

    let report = block_on(svc.sync_account(AccountId(1))).unwrap();

    assert_eq!(log.captured_ids(), vec!["g5", "g6"]);
    let sent = log
        .captures
        .lock()
        .unwrap()
        .iter()
        .find(|c| c.gmail_message_id == "g6")
        .unwrap()
        .is_sent;
    assert!(sent, "the SENT label marks the sighting as sent");
    // g7 came and went within the window: deleted, never fetched.
    assert!(!fetches.lock().unwrap().contains_key("g7"));
    let mut deletes = log.deletes.lock().unwrap().clone();
    deletes.sort();
    assert_eq!(deletes, vec!["g1", "g7"]);
    assert_eq!(log.last_sync().history_id.as_deref(), Some("560"));
    assert!(!report.full);
    assert_eq!(report.captured, 2);
}

#[test]
fn an_expired_history_id_falls_back_to_a_full_sync_without_duplicates() {
    let log = Log::default();
    let fetches: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let mut reader = reader_with(
        &[("g1", "ann@acme.com", &[]), ("g2", "ann@acme.com", &[])],
        &fetches,
    );
    reader
        .expect_list_history()
        .times(1)
        .returning(|_, _, _| Err(GmailError::HistoryExpired));
    expect_full_listing(&mut reader, "9000", vec![vec!["g1", "g2"]]);
    let svc = service(store(account(1, Some("500"), true), &["g1"], &log), reader);

    let report = block_on(svc.sync_account(AccountId(1))).unwrap();

    assert!(report.full);
    assert_eq!(log.captured_ids(), vec!["g2"]);
    assert!(!fetches.lock().unwrap().contains_key("g1"));
    assert_eq!(log.last_sync().history_id.as_deref(), Some("9000"));
}

#[test]
fn a_gmail_error_mid_sync_stops_it_and_never_advances_the_cursor() {
    let log = Log::default();
    let mut reader = MockMailboxReader::new();
    reader.expect_list_history().returning(|_, _, _| {
        Ok(HistoryPage {
            added: refs(&["g5"]),
            deleted: refs(&["g1"]),
            history_id: "560".into(),
            next_page_token: None,
        })
    });
    reader.expect_fetch_raw().times(1).returning(|_, _| {
        Err(GmailError::Unavailable(
            "503 upstream body with ya29.token".into(),
        ))
    });
    // A stopped sync applies none of what its cursor covers, deletions included.
    let svc = service(
        store_with(account(1, Some("500"), true), &[], &log, false),
        reader,
    );

    let err = block_on(svc.sync_account(AccountId(1))).unwrap_err();

    assert!(
        matches!(err, SyncError::Gmail(GmailError::Unavailable(_))),
        "{err:?}"
    );
    assert!(
        log.cursors().iter().all(Option::is_none),
        "{:?}",
        log.cursors()
    );
    let last = log.last_sync();
    assert_eq!(last.state, SyncState::Error);
    let text = last.last_error.expect("the error is recorded");
    assert!(
        !text.contains("ya29") && !text.contains("upstream"),
        "{text}"
    );
    assert!(log.captures.lock().unwrap().is_empty());
    assert_eq!(
        *log.releases.lock().unwrap(),
        1,
        "the lease is released after an error"
    );
}

#[test]
fn a_store_error_mid_sync_stops_it_and_never_advances_the_cursor() {
    let log = Log::default();
    let mut reader = reader_with(&[("g1", "ann@acme.com", &[])], &Arc::default());
    expect_full_listing(&mut reader, "1000", vec![vec!["g1"]]);
    let mut store = MockStore::new();
    store
        .expect_get_account()
        .returning(|_| Ok(account(1, None, true)));
    store
        .expect_try_lease_account()
        .returning(|_, _, _, _| Ok(true));
    store
        .expect_release_account()
        .times(1)
        .returning(|_, _| Ok(()));
    store.expect_own_addresses().returning(|| Ok(vec![]));
    store
        .expect_match_directory()
        .returning(|| Ok(MatchDirectory::default()));
    store.expect_known_gmail_ids().returning(|_, _| Ok(vec![]));
    store.expect_capture_attempts().returning(|_, _| Ok(vec![]));
    store.expect_capture().returning(|_| {
        Err(mailroom_ports::StoreError::Unavailable(
            "postgres://user:pw@db".into(),
        ))
    });
    let syncs = log.syncs.clone();
    store.expect_record_sync().returning(move |_, r| {
        syncs.lock().unwrap().push(r);
        Ok(())
    });
    let svc = service(store, reader);

    let err = block_on(svc.sync_account(AccountId(1))).unwrap_err();

    assert!(matches!(err, SyncError::Store(_)), "{err:?}");
    assert!(
        log.cursors().iter().all(Option::is_none),
        "{:?}",
        log.cursors()
    );
    let last = log.last_sync();
    assert_eq!(last.state, SyncState::Error);
    assert!(!last.last_error.unwrap().contains("pw@db"));
}

#[test]
fn a_parse_error_is_recorded_redacted_and_the_sync_goes_on() {
    let log = Log::default();
    let mut reader = reader_with(
        &[("g1", "BAD", &[]), ("g2", "ann@acme.com", &[])],
        &Arc::default(),
    );
    expect_full_listing(&mut reader, "1000", vec![vec!["g1", "g2"]]);
    let svc = service(store(account(1, None, true), &[], &log), reader);

    let report = block_on(svc.sync_account(AccountId(1))).unwrap();

    assert_eq!(log.captured_ids(), vec!["g2"]);
    assert_eq!(
        *log.capture_errors.lock().unwrap(),
        vec![("g1".to_string(), "message is malformed".to_string())]
    );
    assert_eq!((report.fetched, report.captured, report.errors), (2, 1, 1));
    assert_eq!(log.last_sync().history_id.as_deref(), Some("1000"));
}

#[test]
fn messages_gone_from_gmail_drafts_and_spam_are_skipped() {
    let log = Log::default();
    let mut reader = reader_with(
        &[
            ("g1", "ann@acme.com", &["DRAFT"]),
            ("g2", "ann@acme.com", &["SPAM"]),
            ("g3", "ann@acme.com", &["INBOX"]),
        ],
        &Arc::default(),
    );
    // g9 is listed but deleted before it is fetched: Gmail answers 404.
    expect_full_listing(&mut reader, "1000", vec![vec!["g1", "g2", "g3", "g9"]]);
    let svc = service(store(account(1, None, true), &[], &log), reader);

    let report = block_on(svc.sync_account(AccountId(1))).unwrap();

    assert_eq!(log.captured_ids(), vec!["g3"]);
    assert_eq!(
        report,
        SyncReport {
            fetched: 3,
            captured: 1,
            matched: 1,
            skipped: 3,
            errors: 0,
            full: true
        }
    );
}

#[test]
fn a_mailbox_whose_lease_is_held_elsewhere_is_busy_and_untouched() {
    let mut store = MockStore::new();
    store
        .expect_get_account()
        .returning(|_| Ok(account(1, Some("500"), true)));
    store
        .expect_try_lease_account()
        .times(1)
        .returning(|_, _, _, _| Ok(false));
    store.expect_release_account().never();
    store.expect_record_sync().never();
    let mut reader = MockMailboxReader::new();
    reader.expect_list_history().never();
    reader.expect_profile().never();
    let svc = service(store, reader);

    let err = block_on(svc.sync_account(AccountId(1))).unwrap_err();

    assert!(matches!(err, SyncError::Busy), "{err:?}");
}

#[test]
fn disabled_and_unknown_mailboxes_are_refused_before_any_lease() {
    let mut store = MockStore::new();
    store
        .expect_get_account()
        .with(eq(AccountId(1)))
        .returning(|_| Ok(account(1, None, false)));
    store
        .expect_get_account()
        .with(eq(AccountId(2)))
        .returning(|_| Err(mailroom_ports::StoreError::NotFound("account 2".into())));
    store.expect_try_lease_account().never();
    let svc = service(store, MockMailboxReader::new());

    assert!(matches!(
        block_on(svc.sync_account(AccountId(1))),
        Err(SyncError::Disabled)
    ));
    assert!(matches!(
        block_on(svc.sync_account(AccountId(2))),
        Err(SyncError::NotFound)
    ));
}

#[test]
fn run_once_syncs_every_enabled_mailbox_and_reports_each() {
    let mut store = MockStore::new();
    let accounts = vec![
        account(3, Some("30"), true),
        account(1, Some("10"), true),
        account(2, Some("20"), false),
    ];
    let listed = accounts.clone();
    store
        .expect_list_accounts()
        .times(1)
        .returning(move || Ok(listed.clone()));
    store
        .expect_get_account()
        .returning(move |id| Ok(accounts.iter().find(|a| a.id == id).unwrap().clone()));
    store
        .expect_try_lease_account()
        .times(2)
        .returning(|id, _, _, _| Ok(id == AccountId(1)));
    store
        .expect_release_account()
        .with(eq(AccountId(1)), always())
        .times(1)
        .returning(|_, _| Ok(()));
    store.expect_own_addresses().returning(|| Ok(vec![]));
    store
        .expect_match_directory()
        .returning(|| Ok(MatchDirectory::default()));
    store.expect_known_gmail_ids().returning(|_, _| Ok(vec![]));
    store.expect_capture_attempts().returning(|_, _| Ok(vec![]));
    store
        .expect_record_sync()
        .with(eq(AccountId(1)), always())
        .times(2)
        .returning(|_, _| Ok(()));
    let mut reader = MockMailboxReader::new();
    reader
        .expect_list_history()
        .withf(|_, start, _| start == "10")
        .times(1)
        .returning(|_, _, _| {
            Ok(HistoryPage {
                history_id: "11".into(),
                ..Default::default()
            })
        });
    let svc = service(store, reader);

    let results = block_on(svc.run_once());

    let summary: Vec<(AccountId, String)> = results
        .into_iter()
        .map(|(id, r)| {
            (
                id,
                r.map(|rep| format!("{rep:?}"))
                    .unwrap_or_else(|e| format!("{e:?}")),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (AccountId(1), format!("{:?}", SyncReport::default())),
            (AccountId(3), "Busy".to_string())
        ]
    );
}

#[test]
fn sync_futures_can_be_spawned_on_a_multithreaded_runtime() {
    fn assert_send<T: Send>(_: &T) {}
    type Dyn = SyncService<
        dyn mailroom_ports::Store,
        dyn mailroom_ports::gmail::MailboxReader,
        dyn mailroom_ports::parse::MessageParser,
        dyn mailroom_ports::Clock,
    >;
    let store: Arc<dyn mailroom_ports::Store> = Arc::new(MockStore::new());
    let reader: Arc<dyn mailroom_ports::gmail::MailboxReader> = Arc::new(MockMailboxReader::new());
    let parser: Arc<dyn mailroom_ports::parse::MessageParser> = Arc::new(MockMessageParser::new());
    let clock: Arc<dyn mailroom_ports::Clock> = Arc::new(MockClock::new());
    let svc: Dyn = SyncService::new(store, reader, parser, clock, config());
    let one = svc.sync_account(AccountId(1));
    assert_send(&one);
    let all = svc.run_once();
    assert_send(&all);
}

#[test]
fn a_long_sync_renews_its_lease_between_batches_and_stops_when_it_loses_it() {
    // 1,200 messages are three batches of 500: the lease is taken, then
    // renewed before the second batch and lost before the third.
    let ids: Vec<String> = (0..1200).map(|i| format!("m{i:04}")).collect();
    let senders: Vec<(&str, &str, &[&str])> = ids
        .iter()
        .map(|id| (id.as_str(), "ann@acme.com", &["INBOX"][..]))
        .collect();
    let log = Log::default();
    let fetches = Arc::default();
    let mut reader = reader_with(&senders, &fetches);
    expect_full_listing(
        &mut reader,
        "900",
        vec![ids.iter().map(String::as_str).collect()],
    );
    let store = store_with_leases(
        account(7, None, true),
        &[],
        &log,
        true,
        &[true, true, false],
    );

    let result = block_on(service(store, reader).sync_account(AccountId(7)));

    assert!(matches!(result, Err(SyncError::Busy)), "{result:?}");
    assert_eq!(
        log.captured_ids().len(),
        1000,
        "two batches were captured before the lease was lost"
    );
    assert_eq!(log.last_sync().state, SyncState::Error);
    assert!(
        log.cursors().iter().all(Option::is_none),
        "a run that lost its lease never moves the cursor: {:?}",
        log.cursors()
    );
}

#[test]
fn after_an_expired_history_only_sightings_gmail_no_longer_has_are_soft_deleted() {
    // Live sightings: g1 (listed again), old1 (older than the backfill, still
    // in Gmail) and gone1 (deleted while the history was expired).
    let log = Log::default();
    *log.live.lock().unwrap() = vec!["g1".into(), "gone1".into(), "old1".into()];
    let fetches: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let mut reader = reader_with(
        &[
            ("g1", "ann@acme.com", &[]),
            ("g2", "ann@acme.com", &[]),
            ("old1", "ann@acme.com", &[]),
        ],
        &fetches,
    );
    reader
        .expect_list_history()
        .times(1)
        .returning(|_, _, _| Err(GmailError::HistoryExpired));
    expect_full_listing(&mut reader, "9000", vec![vec!["g1", "g2"]]);
    let svc = service(store(account(1, Some("500"), true), &["g1"], &log), reader);

    let report = block_on(svc.sync_account(AccountId(1))).unwrap();

    assert!(report.full);
    assert_eq!(*log.deletes.lock().unwrap(), vec!["gone1".to_string()]);
    assert_eq!(
        log.captured_ids(),
        vec!["g2"],
        "a still-present old message is not captured again"
    );
    assert!(
        !fetches.lock().unwrap().contains_key("g1"),
        "listed sightings need no lookup"
    );
    assert_eq!(log.last_sync().history_id.as_deref(), Some("9000"));
}
