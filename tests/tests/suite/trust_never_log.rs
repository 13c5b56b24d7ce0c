//! The never-log list: adding an entry purges what is stored for its mail
//! (read back from the database), removes pending proposals, keeps approved
//! activities unless asked, blocks future matching, and hides the mail from
//! the activity list, its search and the digest; on SQLite and PostgreSQL,
//! through the store and through the HTTP API.

use mailroom_adapters::store::SeaStore;
use mailroom_domain::capture::matcher_for;
use mailroom_ports::EmailId;
use mailroom_ports::records::{ActivityQuery, Decision, DraftRecord, EmailHeader, ProposalStatus};
use mailroom_ports::trust::NeverLogTarget;
use mailroom_ports::{Store, StoreError, TrustStore};
use mailroom_tests::app::{Backend, TestApp, spawn_app_with};
use mailroom_tests::db::TestDb;
use mailroom_tests::db::seed::{self, ACME, LEE, MAX, Msg, Team, addr, ts};
use mailroom_tests::on_both_databases;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

on_both_databases!(
    an_address_entry_purges_content_and_pending_proposals_but_keeps_approved_activities,
    a_domain_entry_with_purge_activities_removes_activities_and_covers_subdomains,
    a_listed_address_never_matches_again_until_its_entry_is_removed,
    the_api_adds_lists_and_removes_entries_with_exact_statuses,
    the_store_refuses_content_for_listed_mail_whatever_the_callers_matcher_said,
    adding_an_entry_erases_the_subject_of_reply_drafts_to_its_mail,
    the_funds_own_addresses_are_refused_with_422_and_nothing_is_purged,
);

async fn scalar(store: &SeaStore, sql: &str) -> i64 {
    let conn = store.connection();
    conn.query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

/// Whether any content column of the email with this dedup key is set.
async fn content_left(store: &SeaStore, dedup_key: &str) -> i64 {
    scalar(
        store,
        &format!(
            "SELECT COUNT(*) FROM emails WHERE dedup_key = '{dedup_key}' AND \
             (content_stored = TRUE OR subject IS NOT NULL OR snippet IS NOT NULL \
             OR body IS NOT NULL OR attachments_json IS NOT NULL)"
        ),
    )
    .await
}

fn query(q: Option<&str>) -> ActivityQuery {
    ActivityQuery {
        investor_id: None,
        account_id: None,
        direction: None,
        q: q.map(str::to_string),
        limit: 50,
        cursor: None,
        since: None,
        until: None,
    }
}

async fn listed_subjects(store: &SeaStore, q: Option<&str>) -> Vec<String> {
    let mut subjects: Vec<String> = store
        .query_activity(query(q))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|i| i.subject)
        .collect();
    subjects.sort();
    subjects
}

async fn digest_emails(store: &SeaStore) -> usize {
    let mut ids: Vec<i64> = store
        .digest_rows(
            ts("2025-01-01T00:00:00Z"),
            ts("2026-01-01T00:00:00Z"),
            ts("2025-01-01T00:00:00Z"),
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.email_id.0)
        .collect();
    ids.sort();
    ids.dedup();
    ids.len()
}

/// Three matched emails seen by Ann: Lee's "Pending" (a pending proposal),
/// Lee's "Approved" (approved: an activity) and Max's "Other".
async fn three_emails(store: &SeaStore) -> Team {
    let team = seed::team(store).await;
    let lee = |key: &str, subject: &str, at: &str| {
        Msg::new(key, "lee@acme.com", &["ann@fund.com"], at)
            .subject(subject)
            .link(ACME, Some(LEE), "lee@acme.com")
    };
    for (msg, gmail) in [
        (
            lee("p@acme.com", "Pending quarterly", "2025-06-01T09:00:00Z"),
            "g1",
        ),
        (
            lee("a@acme.com", "Approved quarterly", "2025-06-02T09:00:00Z"),
            "g2",
        ),
        (
            Msg::new(
                "o@acme.com",
                "max@acme.com",
                &["ann@fund.com"],
                "2025-06-03T09:00:00Z",
            )
            .subject("Other quarterly")
            .link(ACME, Some(MAX), "max@acme.com"),
            "g3",
        ),
    ] {
        store
            .capture(msg.seen_by(team.ann_box, gmail, false))
            .await
            .unwrap();
    }
    let approved = store
        .list_proposals(Some(ProposalStatus::Pending), None)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.subject.as_deref() == Some("Approved quarterly"))
        .expect("a proposal on the approved email");
    store
        .apply_decision(
            approved.id,
            Decision::Approve,
            team.ann.id,
            ts("2025-06-04T09:00:00Z"),
        )
        .await
        .unwrap();
    team
}

async fn an_address_entry_purges_content_and_pending_proposals_but_keeps_approved_activities(
    db: &TestDb,
) {
    let store = db.store().await;
    three_emails(&store).await;
    assert_eq!(listed_subjects(&store, Some("quarterly")).await.len(), 3);
    assert_eq!(digest_emails(&store).await, 3);

    let target = NeverLogTarget::parse("Lee@Acme.com").unwrap();
    let (entry, outcome) = store
        .add_never_log(&target, false, ts("2025-07-01T00:00:00Z"))
        .await
        .unwrap();

    assert_eq!(entry.target.value(), "lee@acme.com");
    assert_eq!(
        (
            outcome.emails_purged,
            outcome.proposals_removed,
            outcome.activities_removed
        ),
        (2, 1, 0)
    );
    assert_eq!(
        content_left(&store, "p@acme.com").await,
        0,
        "{}",
        db.backend()
    );
    assert_eq!(content_left(&store, "a@acme.com").await, 0);
    assert_eq!(
        content_left(&store, "o@acme.com").await,
        1,
        "other mail untouched"
    );
    assert_eq!(
        scalar(
            &store,
            "SELECT COUNT(*) FROM activity_proposals p JOIN emails e ON e.id = p.email_id \
             WHERE e.dedup_key = 'p@acme.com'"
        )
        .await,
        0,
        "the pending proposal is gone"
    );
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM activities").await,
        1,
        "the approved activity stays"
    );
    assert_eq!(
        scalar(
            &store,
            "SELECT COUNT(*) FROM email_investor_links l JOIN emails e ON e.id = l.email_id \
             WHERE e.from_email = 'lee@acme.com'"
        )
        .await,
        0
    );
    assert_eq!(listed_subjects(&store, None).await, vec!["Other quarterly"]);
    assert_eq!(
        listed_subjects(&store, Some("quarterly")).await,
        vec!["Other quarterly"],
        "the search index follows"
    );
    assert!(listed_subjects(&store, Some("pending")).await.is_empty());
    assert_eq!(
        digest_emails(&store).await,
        1,
        "the digest no longer counts it"
    );

    let again = store
        .add_never_log(&target, false, ts("2025-07-01T00:00:00Z"))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(store.never_log_entries().await.unwrap().len(), 1);
}

async fn a_domain_entry_with_purge_activities_removes_activities_and_covers_subdomains(
    db: &TestDb,
) {
    let store = db.store().await;
    let team = three_emails(&store).await;
    let sub = Msg::new(
        "eu@acme.com",
        "kim@eu.acme.com",
        &["ann@fund.com"],
        "2025-06-05T09:00:00Z",
    )
    .link(ACME, None, "kim@eu.acme.com");
    store
        .capture(sub.seen_by(team.ann_box, "g4", false))
        .await
        .unwrap();
    let unrelated = Msg::new(
        "x@notacme.com",
        "zed@notacme.com",
        &["ann@fund.com"],
        "2025-06-05T10:00:00Z",
    )
    .link(seed::BETA, None, "zed@notacme.com");
    store
        .capture(unrelated.seen_by(team.ann_box, "g5", false))
        .await
        .unwrap();

    let (_, outcome) = store
        .add_never_log(
            &NeverLogTarget::parse("acme.com").unwrap(),
            true,
            ts("2025-07-01T00:00:00Z"),
        )
        .await
        .unwrap();

    assert_eq!(
        (
            outcome.emails_purged,
            outcome.proposals_removed,
            outcome.activities_removed
        ),
        (4, 3, 1),
        "{}",
        db.backend()
    );
    assert_eq!(scalar(&store, "SELECT COUNT(*) FROM activities").await, 0);
    assert_eq!(
        scalar(
            &store,
            "SELECT COUNT(*) FROM activity_proposals p JOIN emails e ON e.id = p.email_id \
             WHERE e.dedup_key <> 'x@notacme.com'"
        )
        .await,
        0
    );
    assert_eq!(
        content_left(&store, "eu@acme.com").await,
        0,
        "a subdomain is covered"
    );
    assert_eq!(
        content_left(&store, "x@notacme.com").await,
        1,
        "notacme.com is not a subdomain of acme.com"
    );
}

fn header(from: &str) -> EmailHeader {
    EmailHeader {
        dedup_key: "k@x".into(),
        message_id: None,
        from_email: Some(addr(from)),
        from_name: None,
        to: vec![addr("ann@fund.com")],
        cc: vec![],
        reply_to: vec![],
        in_reply_to: None,
        references: vec![],
        sent_at: ts("2025-08-01T00:00:00Z"),
        size: 1,
    }
}

async fn a_listed_address_never_matches_again_until_its_entry_is_removed(db: &TestDb) {
    let store = db.store().await;
    seed::team(&store).await;
    let (entry, _) = store
        .add_never_log(
            &NeverLogTarget::parse("lee@acme.com").unwrap(),
            false,
            ts("2025-07-01T00:00:00Z"),
        )
        .await
        .unwrap();

    let matcher = matcher_for(&store, &[]).await.unwrap();
    assert!(matcher.match_header(&header("lee@acme.com")).is_empty());
    let mut cc = header("max@acme.com");
    cc.cc = vec![addr("lee@acme.com")];
    assert!(
        matcher.match_header(&cc).is_empty(),
        "a listed address in Cc keeps the whole email out"
    );
    assert_eq!(matcher.match_header(&header("max@acme.com")).len(), 1);

    store.remove_never_log(entry.id).await.unwrap();
    let matcher = matcher_for(&store, &[]).await.unwrap();
    assert_eq!(matcher.match_header(&header("lee@acme.com")).len(), 1);
    let missing = store.remove_never_log(entry.id).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app
        .http
        .request(method, app.url(path))
        .bearer_auth(app.token("admin@fund.com"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn the_api_adds_lists_and_removes_entries_with_exact_statuses(db: &TestDb) {
    let backend = match db.backend() {
        "sqlite" => Backend::Sqlite,
        _ => Backend::Postgres,
    };
    let app = spawn_app_with(backend, &[]).await;
    app.add_users(&[("admin@fund.com", mailroom_ports::records::Role::Admin, true)])
        .await;
    use reqwest::Method;

    let (status, body) = send(
        &app,
        Method::POST,
        "/api/admin/never-log",
        Some(json!({"value": "Firm.COM", "purge_activities": true})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["entry"]["kind"], "domain");
    assert_eq!(body["entry"]["value"], "firm.com");
    assert_eq!(body["purged"]["emails_purged"], 0);
    let id = body["entry"]["id"].as_i64().unwrap();

    let (status, body) = send(
        &app,
        Method::POST,
        "/api/admin/never-log",
        Some(json!({"value": "firm.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "conflict");

    let (status, body) = send(
        &app,
        Method::POST,
        "/api/admin/never-log",
        Some(json!({"value": "not an address@"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(!body["message"].as_str().unwrap().contains("not an address"));

    let (status, body) = send(
        &app,
        Method::POST,
        "/api/admin/never-log",
        Some(json!({"value": "a@b.com", "extra": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (status, body) = send(&app, Method::GET, "/api/admin/never-log", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"].as_array().unwrap().len(), 1, "{body}");

    let path = format!("/api/admin/never-log/{id}");
    let (status, body) = send(&app, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["entry"]["value"], "firm.com");
    assert_eq!(body["rematch"]["kind"], "rematch");
    assert_eq!(body["rematch"]["state"], "pending");
    let (status, body) = send(&app, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = send(&app, Method::DELETE, "/api/admin/never-log/abc", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, body) = send(&app, Method::GET, "/api/admin/never-log", None).await;
    assert_eq!(body, json!({"items": [], "next_cursor": null}));

    // The other way round: a mailbox an entry covers is not added.
    let (status, body) = send(
        &app,
        Method::POST,
        "/api/admin/never-log",
        Some(json!({"value": "home.example"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = send(
        &app,
        Method::POST,
        "/api/email/accounts",
        Some(json!({"user_email": "admin@fund.com", "email_address": "Admin@Home.example"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "conflict", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("never-log entry home.example"),
        "{message}"
    );
    assert!(
        !message.to_lowercase().contains("admin@home"),
        "no echo: {message}"
    );
    let (_, accounts) = send(&app, Method::GET, "/api/email/accounts", None).await;
    assert_eq!(accounts["items"], json!([]), "nothing added");
    let (status, body) = send(
        &app,
        Method::POST,
        "/api/email/accounts",
        Some(json!({"user_email": "admin@fund.com", "email_address": "admin@fund.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// An entry covering a team mailbox or an internal domain would erase and
/// hold back the fund's own mail: 422 with the reason, no entry, no purge.
async fn the_funds_own_addresses_are_refused_with_422_and_nothing_is_purged(db: &TestDb) {
    let backend = match db.backend() {
        "sqlite" => Backend::Sqlite,
        _ => Backend::Postgres,
    };
    let app = spawn_app_with(backend, &[("CRM_INTERNAL_DOMAINS", "fund.com")]).await;
    let store = app.db.store().await;
    let team = seed::team(&store).await;
    app.add_users(&[("admin@fund.com", mailroom_ports::records::Role::Admin, true)])
        .await;
    // A captured mailbox outside the internal domain (a founder's own).
    store
        .create_account(&addr("ann@fund.com"), &addr("founder@personal.example"))
        .await
        .unwrap();
    let lee = Msg::new(
        "lee-1",
        "lee@acme.com",
        &["ann@fund.com"],
        "2026-11-20T09:00:00Z",
    )
    .subject("Allocation")
    .link(ACME, Some(LEE), "lee@acme.com");
    store
        .capture(lee.seen_by(team.ann_box, "g-lee-1", false))
        .await
        .unwrap();
    let stored = content_left(&store, "lee-1").await;
    assert_eq!(stored, 1, "the email's content is stored");

    for (value, says) in [
        ("ann@fund.com", "captured mailboxes"),
        ("Dan@Fund.com", "internal domain"),
        ("x@eu.fund.com", "internal domain"),
        ("fund.com", "CRM_INTERNAL_DOMAINS"),
        ("eu.fund.com", "CRM_INTERNAL_DOMAINS"),
        ("founder@personal.example", "captured mailboxes"),
        ("personal.example", "founder@personal.example"),
    ] {
        let (status, body) = send(
            &app,
            reqwest::Method::POST,
            "/api/admin/never-log",
            Some(json!({"value": value, "purge_activities": true})),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{value}: {body}");
        assert_eq!(body["error"], "conflict", "{value}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(says), "{value}: {message}");
        assert!(message.contains("own mail"), "{value}: {message}");
    }
    let (_, body) = send(&app, reqwest::Method::GET, "/api/admin/never-log", None).await;
    assert_eq!(body["items"], json!([]), "nothing was added");
    assert_eq!(content_left(&store, "lee-1").await, 1, "nothing was purged");

    // An outside address next to them still goes in.
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/admin/never-log",
        Some(json!({"value": "other@personal.example"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// A sync builds its matcher when it starts; an entry added while it runs
/// must still keep that run's later captures metadata-only. The requests
/// below carry links and content as a stale matcher would have made them.
async fn the_store_refuses_content_for_listed_mail_whatever_the_callers_matcher_said(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    store
        .add_never_log(
            &NeverLogTarget::parse("lee@acme.com").unwrap(),
            false,
            ts("2025-07-01T00:00:00Z"),
        )
        .await
        .unwrap();

    let from_lee = Msg::new(
        "late@acme.com",
        "lee@acme.com",
        &["ann@fund.com"],
        "2025-07-02T09:00:00Z",
    )
    .subject("Late secret")
    .link(ACME, Some(LEE), "lee@acme.com");
    let outcome = store
        .capture(from_lee.seen_by(team.ann_box, "g-late", false))
        .await
        .unwrap();
    assert!(
        outcome.new_email && outcome.new_sighting,
        "{}",
        db.backend()
    );
    assert_eq!(outcome.proposals_created, 0, "{}", db.backend());

    // Lee only in Cc of Max's mail: the whole email stays out.
    let mut cc_lee = Msg::new(
        "cc@acme.com",
        "max@acme.com",
        &["ann@fund.com"],
        "2025-07-02T10:00:00Z",
    )
    .subject("Cc secret")
    .link(ACME, Some(MAX), "max@acme.com")
    .seen_by(team.ann_box, "g-cc", false);
    cc_lee.header.cc = vec![addr("lee@acme.com")];
    assert_eq!(store.capture(cc_lee).await.unwrap().proposals_created, 0);

    // Unlisted mail in the same run is stored in full.
    let from_max = Msg::new(
        "max@acme.com",
        "max@acme.com",
        &["ann@fund.com"],
        "2025-07-02T11:00:00Z",
    )
    .subject("Open news")
    .link(ACME, Some(MAX), "max@acme.com");
    assert_eq!(
        store
            .capture(from_max.seen_by(team.ann_box, "g-max", false))
            .await
            .unwrap()
            .proposals_created,
        1
    );

    for key in ["late@acme.com", "cc@acme.com"] {
        assert_eq!(content_left(&store, key).await, 0, "{key} {}", db.backend());
        assert_eq!(
            scalar(
                &store,
                &format!(
                    "SELECT COUNT(*) FROM email_investor_links l JOIN emails e \
                     ON e.id = l.email_id WHERE e.dedup_key = '{key}'"
                )
            )
            .await,
            0,
            "{key}: no links"
        );
        assert_eq!(
            scalar(
                &store,
                &format!(
                    "SELECT COUNT(*) FROM activity_proposals p JOIN emails e \
                     ON e.id = p.email_id WHERE e.dedup_key = '{key}'"
                )
            )
            .await,
            0,
            "{key}: no proposals"
        );
        assert_eq!(
            scalar(
                &store,
                &format!(
                    "SELECT COUNT(*) FROM email_account_messages s JOIN emails e \
                     ON e.id = s.email_id WHERE e.dedup_key = '{key}'"
                )
            )
            .await,
            1,
            "{key}: the sighting (metadata) is kept"
        );
    }
    assert_eq!(content_left(&store, "max@acme.com").await, 1);
    assert_eq!(listed_subjects(&store, None).await, vec!["Open news"]);

    // The re-match's write path checks too.
    let late_id = scalar(
        &store,
        "SELECT id FROM emails WHERE dedup_key = 'late@acme.com'",
    )
    .await;
    let created = store
        .link_email(
            EmailId(late_id),
            &from_lee.links,
            ts("2025-07-03T00:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(created, 0);
    assert_eq!(
        scalar(
            &store,
            &format!("SELECT COUNT(*) FROM email_investor_links WHERE email_id = {late_id}")
        )
        .await,
        0
    );
}

async fn adding_an_entry_erases_the_subject_of_reply_drafts_to_its_mail(db: &TestDb) {
    let store = db.store().await;
    let team = three_emails(&store).await;
    for (key, gmail_draft) in [("p@acme.com", "d1"), ("o@acme.com", "d2")] {
        let email_id = scalar(
            &store,
            &format!("SELECT id FROM emails WHERE dedup_key = '{key}'"),
        )
        .await;
        store
            .record_draft(DraftRecord {
                email_id: EmailId(email_id),
                account_id: team.ann_box,
                created_by: team.ann.id,
                gmail_draft_id: gmail_draft.into(),
                thread_id: format!("thread-{key}"),
                gmail_message_id: None,
                reply_all: false,
                to: vec![addr("lee@acme.com")],
                cc: vec![],
                subject: format!("Re: secret {key}"),
                created_at: ts("2025-06-10T00:00:00Z"),
            })
            .await
            .unwrap();
    }

    store
        .add_never_log(
            &NeverLogTarget::parse("lee@acme.com").unwrap(),
            false,
            ts("2025-07-01T00:00:00Z"),
        )
        .await
        .unwrap();

    assert_eq!(
        scalar(
            &store,
            "SELECT COUNT(*) FROM drafts WHERE subject LIKE '%secret%' AND email_id IN \
             (SELECT id FROM emails WHERE dedup_key = 'p@acme.com')"
        )
        .await,
        0,
        "{}",
        db.backend()
    );
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM drafts").await,
        2,
        "the draft rows stay"
    );
    assert_eq!(
        scalar(
            &store,
            "SELECT COUNT(*) FROM drafts WHERE subject = 'Re: secret o@acme.com'"
        )
        .await,
        1,
        "other mail's drafts untouched"
    );
}

/// On PostgreSQL a capture that starts while an entry is being added waits
/// for the addition to commit, then reads the entry: it cannot slip its
/// content in between the addition's purge and its commit. The addition is
/// played here by a transaction holding the same advisory lock (the key is
/// the store's `NEVER_LOG_LOCK`) with the entry inserted but not committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_during_an_uncommitted_addition_waits_and_then_holds_back_content() {
    use sea_orm::TransactionTrait;

    let db = TestDb::postgres().await;
    let store = db.store().await;
    let team = seed::team(&store).await;

    let adding = store.connection().begin().await.unwrap();
    adding
        .execute_unprepared("SELECT pg_advisory_xact_lock(7886487279536271980)")
        .await
        .unwrap();
    adding
        .execute_unprepared(
            "INSERT INTO never_log_entries (kind, value, created_at) \
             VALUES ('address', 'lee@acme.com', '2025-07-01T00:00:00Z')",
        )
        .await
        .unwrap();

    let request = Msg::new(
        "during@acme.com",
        "lee@acme.com",
        &["ann@fund.com"],
        "2025-07-02T09:00:00Z",
    )
    .subject("Racing secret")
    .link(ACME, Some(LEE), "lee@acme.com")
    .seen_by(team.ann_box, "g-race", false);
    let capturing = {
        let store = store.clone();
        tokio::spawn(async move { store.capture(request).await })
    };

    // The capture is waiting on the lock (polled, bounded: ~10 s).
    let mut waiting = false;
    for _ in 0..400 {
        if scalar(
            &store,
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
        )
        .await
            == 1
        {
            waiting = true;
            break;
        }
        assert!(!capturing.is_finished(), "the capture did not wait");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(waiting, "the capture never waited on the never-log lock");
    adding.commit().await.unwrap();

    let outcome = capturing.await.unwrap().unwrap();
    assert_eq!(outcome.proposals_created, 0);
    assert_eq!(content_left(&store, "during@acme.com").await, 0);
}
