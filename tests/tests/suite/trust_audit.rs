//! The completeness audit against the fake Google, on SQLite and PostgreSQL:
//! 100% after a clean sync; then a message dropped from the store, a
//! sighting Gmail no longer has, a parse failure and matched mail without
//! content are found, and a repair fixes all but the parse failure. Each
//! audit reads one page of `messages.list` and fetches only what it checks.

use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{ANN, BOB, CaptureTeam, Mail};
use mailroom_tests::fake_google::{Endpoint, FakeMessageRef, NewMessage};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn add(team: &CaptureTeam, from: &str, id: &str, date: &str) -> FakeMessageRef {
    let raw = Mail {
        from,
        to: &[ANN],
        cc: &[],
        subject: &format!("Subject of {id}"),
        message_id: id,
        in_reply_to: None,
        references: &[],
        date,
        body: "Body text.",
    }
    .render();
    team.google.add_message_with(ANN, NewMessage::new(raw))
}

async fn audit(team: &CaptureTeam) -> Value {
    let path = format!("/api/email/accounts/{}/audit", team.ann_box);
    let (status, body) = team.get(ANN, &path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn counts(a: &Value) -> (u64, u64, u64, u64, u64, u64) {
    let n = |k: &str| a[k]["count"].as_u64().unwrap();
    (
        a["in_gmail"].as_u64().unwrap(),
        a["captured"].as_u64().unwrap(),
        n("missing"),
        n("extra"),
        n("failed"),
        n("content_missing"),
    )
}

async fn the_audit_finds_and_repairs_what_capture_missed(backend: Backend) {
    let team = CaptureTeam::start(backend).await;
    let lee1 = add(
        &team,
        "lee@acme.com",
        "lee-1@acme.com",
        "2026-11-10T09:00:00Z",
    );
    let lee2 = add(
        &team,
        "lee@acme.com",
        "lee-2@acme.com",
        "2026-11-11T09:00:00Z",
    );
    add(
        &team,
        "cold@cold.example",
        "cold-1@cold.example",
        "2026-11-12T09:00:00Z",
    );
    add(
        &team,
        "cold@cold.example",
        "cold-2@cold.example",
        "2026-11-13T09:00:00Z",
    );
    let (status, body) = team.sync_http(team.ann_box).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (lists, gets) = (
        team.google.calls(Endpoint::MessagesList),
        team.google.calls(Endpoint::MessagesGet),
    );
    let clean = audit(&team).await;
    assert_eq!(counts(&clean), (4, 4, 0, 0, 0, 0), "{clean}");
    assert_eq!(clean["complete_percent"], 100.0);
    assert!(
        clean["summary"]
            .as_str()
            .unwrap()
            .starts_with("complete 100.0% (4 / 4) at "),
        "{clean}"
    );
    assert_eq!(team.google.calls(Endpoint::MessagesList) - lists, 1);
    assert_eq!(team.google.calls(Endpoint::MessagesGet) - gets, 0);

    // A parse failure, an extra sighting, a dropped sighting, lost content.
    team.google.add_message_with(
        ANN,
        NewMessage {
            internal_date: Some("2026-11-14T09:00:00Z".parse().unwrap()),
            ..NewMessage::new(b"just a line of text without any header\r\n".to_vec())
        },
    );
    let gone = add(
        &team,
        "cold@cold.example",
        "gone@cold.example",
        "2026-11-15T09:00:00Z",
    );
    let (status, body) = team.sync_http(team.ann_box).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(team.google.delete_message(ANN, &gone.id));
    team.rows(&format!(
        "DELETE FROM email_account_messages WHERE gmail_message_id = '{}'",
        lee1.id
    ))
    .await;
    team.rows(&format!(
        "UPDATE emails SET subject = NULL, snippet = NULL, body = NULL, \
         attachments_json = NULL, content_stored = FALSE WHERE id = (SELECT email_id \
         FROM email_account_messages WHERE gmail_message_id = '{}')",
        lee2.id
    ))
    .await;

    let (lists, gets) = (
        team.google.calls(Endpoint::MessagesList),
        team.google.calls(Endpoint::MessagesGet),
    );
    let found = audit(&team).await;
    // Gmail lists the four, the malformed one (the deleted one is gone);
    // three of them are captured.
    assert_eq!(counts(&found), (5, 3, 1, 1, 1, 1), "{found}");
    assert_eq!(found["missing"]["examples"], json!([lee1.id]));
    assert_eq!(found["extra"]["examples"], json!([gone.id]));
    assert_eq!(found["content_missing"]["examples"], json!([lee2.id]));
    assert!(
        found["failed"]["examples"][0]["error"].is_string(),
        "{found}"
    );
    assert_eq!(found["repair"], Value::Null);
    assert_eq!(team.google.calls(Endpoint::MessagesList) - lists, 1);
    assert_eq!(
        team.google.calls(Endpoint::MessagesGet) - gets,
        1,
        "only the unlisted live sighting is looked up"
    );
    assert_eq!(
        team.count("SELECT COUNT(*) FROM email_account_messages WHERE deleted_at IS NOT NULL")
            .await,
        0,
        "an audit without repair changes nothing"
    );

    let path = format!("/api/email/accounts/{}/audit/repair", team.ann_box);
    let (status, repaired) = team.post(ANN, &path, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{repaired}");
    assert_eq!(
        repaired["repair"],
        json!({"captured": 1, "refetched": 1, "soft_deleted": 1, "unparsable": 0})
    );
    assert_eq!(repaired["captured"], 4);

    let after = audit(&team).await;
    assert_eq!(counts(&after), (5, 4, 0, 0, 1, 0), "{after}");
    assert_eq!(
        team.count(
            "SELECT COUNT(*) FROM emails WHERE content_stored = TRUE AND subject LIKE 'Subject of lee-%'"
        )
        .await,
        2
    );
    assert_eq!(
        team.count("SELECT COUNT(*) FROM activity_proposals").await,
        2,
        "one proposal per matched email, none twice"
    );

    let (status, _) = team.get(ANN, "/api/email/accounts/999/audit").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let own = format!("/api/email/accounts/{}/audit", team.ann_box);
    let (status, body) = team.get(BOB, &own).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a member may not audit: {body}"
    );
    let (status, body) = team.post(BOB, &path, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let anonymous = team.app.http.get(team.app.url(&own)).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_finds_and_repairs_what_capture_missed_sqlite() {
    the_audit_finds_and_repairs_what_capture_missed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_finds_and_repairs_what_capture_missed_postgres() {
    the_audit_finds_and_repairs_what_capture_missed(Backend::Postgres).await;
}

/// The scheduled audit records a figure for each mailbox that is due, skips
/// the ones audited within the interval and the ones whose lease is held
/// (a sync, or another replica), and the mailbox list shows the figure.
async fn the_scheduled_audit_runs_when_due_under_the_lease_and_shows_in_the_list(backend: Backend) {
    use jiff::SignedDuration;
    use mailroom_domain::trust::audit::{AuditSchedule, ScheduledAudit};
    use mailroom_ports::AccountId;

    let team = CaptureTeam::start(backend).await;
    add(
        &team,
        "lee@acme.com",
        "lee-1@acme.com",
        "2026-11-10T09:00:00Z",
    );
    add(
        &team,
        "cold@cold.example",
        "cold-1@cold.example",
        "2026-11-12T09:00:00Z",
    );
    let (status, body) = team.sync_http(team.ann_box).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, listed) = team.get(ANN, "/api/email/accounts").await;
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["audit"].is_null()),
        "no audit yet: {listed}"
    );

    let state = &team.app.state;
    let audits = state.audit.clone().expect("Gmail is configured");
    let schedule = AuditSchedule {
        every: SignedDuration::from_hours(24),
        ..state.audit_schedule.clone()
    };
    let outcome = |results: &[(AccountId, Result<ScheduledAudit, _>)], id: i64| match &results
        .iter()
        .find(|(a, _)| a.0 == id)
        .expect("mailbox")
        .1
    {
        Ok(o) => o.clone(),
        Err(e) => panic!("audit of {id} failed: {e}"),
    };

    let lists = team.google.calls(Endpoint::MessagesList);
    let first = audits.run_due(&schedule).await.unwrap();
    match outcome(&first, team.ann_box) {
        ScheduledAudit::Audited(f) => assert_eq!((f.in_gmail, f.captured), (2, 2)),
        other => panic!("{other:?}"),
    }
    let listed_calls = team.google.calls(Endpoint::MessagesList) - lists;
    assert_eq!(
        listed_calls,
        first.len(),
        "one messages.list page per enabled mailbox"
    );

    let (_, listed) = team.get(ANN, "/api/email/accounts").await;
    let ann = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == team.ann_box)
        .unwrap()
        .clone();
    assert_eq!(ann["audit"]["in_gmail"], 2, "{ann}");
    assert_eq!(ann["audit"]["complete_percent"], 100.0);
    assert!(
        ann["audit"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("complete 100.0% (2 / 2) at "),
        "{ann}"
    );

    // Within the interval: nothing is due, Gmail is not called.
    let lists = team.google.calls(Endpoint::MessagesList);
    team.app.clock.advance(SignedDuration::from_hours(23));
    let second = audits.run_due(&schedule).await.unwrap();
    assert_eq!(outcome(&second, team.ann_box), ScheduledAudit::NotDue);
    assert_eq!(team.google.calls(Endpoint::MessagesList), lists);

    // Due, but a sync (another holder) holds the mailbox lease.
    team.app.clock.advance(SignedDuration::from_hours(2));
    let now = state.clock.now();
    assert!(
        state
            .store
            .try_lease_account(
                AccountId(team.ann_box),
                "a-sync-elsewhere",
                now,
                now.saturating_add(SignedDuration::from_mins(5)).unwrap(),
            )
            .await
            .unwrap()
    );
    let third = audits.run_due(&schedule).await.unwrap();
    assert_eq!(outcome(&third, team.ann_box), ScheduledAudit::Busy);
    state
        .store
        .release_account(AccountId(team.ann_box), "a-sync-elsewhere")
        .await
        .unwrap();

    // Free again: audited, with the new message counted as missing.
    add(
        &team,
        "cold@cold.example",
        "cold-2@cold.example",
        "2026-11-13T09:00:00Z",
    );
    let fourth = audits.run_due(&schedule).await.unwrap();
    match outcome(&fourth, team.ann_box) {
        ScheduledAudit::Audited(f) => assert_eq!((f.in_gmail, f.captured), (3, 2)),
        other => panic!("{other:?}"),
    }
    assert!(
        state
            .store
            .try_lease_account(
                AccountId(team.ann_box),
                "a-sync-elsewhere",
                now,
                now.saturating_add(SignedDuration::from_mins(5)).unwrap(),
            )
            .await
            .unwrap(),
        "the audit released its lease"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_audit_runs_when_due_under_the_lease_and_shows_in_the_list_sqlite() {
    the_scheduled_audit_runs_when_due_under_the_lease_and_shows_in_the_list(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_audit_runs_when_due_under_the_lease_and_shows_in_the_list_postgres() {
    the_scheduled_audit_runs_when_due_under_the_lease_and_shows_in_the_list(Backend::Postgres)
        .await;
}

/// A message that never parses is downloaded at most five times however
/// many full syncs run (a doubling wait from an hour between attempts), and
/// the audit still reports it with its error.
async fn a_permanently_broken_message_is_downloaded_a_bounded_number_of_times(backend: Backend) {
    use jiff::SignedDuration;

    let team = CaptureTeam::start(backend).await;
    add(
        &team,
        "lee@acme.com",
        "lee-1@acme.com",
        "2026-11-10T09:00:00Z",
    );
    let broken = team.google.add_message_with(
        ANN,
        NewMessage {
            internal_date: Some("2026-11-14T09:00:00Z".parse().unwrap()),
            ..NewMessage::new(b"just a line of text without any header\r\n".to_vec())
        },
    );
    let gets = team.google.calls(Endpoint::MessagesGet);
    let (status, body) = team.sync_http(team.ann_box).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["errors"], 1, "{body}");
    assert_eq!(team.google.calls(Endpoint::MessagesGet) - gets, 2);

    // Each full sync below also finds one new message (a change, so that
    // the stored history id can expire), downloaded once.
    let mut n = 0;
    let mut new_message_and_expired_history = || {
        n += 1;
        add(
            &team,
            "cold@cold.example",
            &format!("cold-{n}@cold.example"),
            "2026-11-12T09:00:00Z",
        );
        team.google.expire_history(ANN);
    };

    // A full sync right away: the broken message waits for its retry.
    let gets = team.google.calls(Endpoint::MessagesGet);
    new_message_and_expired_history();
    let (status, body) = team.sync_http(team.ann_box).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["full"], true, "{body}");
    assert_eq!(
        team.google.calls(Endpoint::MessagesGet) - gets,
        1,
        "only the new message; the broken one is not downloaded again within the hour: {body}"
    );

    // Eight more full syncs, a day apart: four more attempts, then none.
    let gets = team.google.calls(Endpoint::MessagesGet);
    for _ in 0..8 {
        team.app.clock.advance(SignedDuration::from_hours(24));
        new_message_and_expired_history();
        let (status, body) = team.sync_http(team.ann_box).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["full"], true, "{body}");
    }
    assert_eq!(
        team.google.calls(Endpoint::MessagesGet) - gets,
        8 + 4,
        "eight new messages and four more attempts: five downloads of the broken one in all"
    );
    assert_eq!(
        team.count(&format!(
            "SELECT occurrences FROM capture_errors WHERE gmail_message_id = '{}'",
            broken.id
        ))
        .await,
        5
    );

    let report = audit(&team).await;
    assert_eq!(report["failed"]["count"], 1, "{report}");
    assert_eq!(
        report["failed"]["examples"][0]["gmail_message_id"],
        broken.id
    );
    assert!(report["failed"]["examples"][0]["error"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanently_broken_message_is_downloaded_a_bounded_number_of_times_sqlite() {
    a_permanently_broken_message_is_downloaded_a_bounded_number_of_times(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanently_broken_message_is_downloaded_a_bounded_number_of_times_postgres() {
    a_permanently_broken_message_is_downloaded_a_bounded_number_of_times(Backend::Postgres).await;
}
