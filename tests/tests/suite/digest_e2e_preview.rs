//! `GET /api/admin/digest/preview` through the running app (R-DIG-1, docs/requirements.md HTTP API):
//! the digest of any window, built and never sent.

use crate::digest_e2e_common::{
    ACME_SUBJECT, ANN, BETA_SUBJECT, BOB, Env, SEEDED_SUBJECT, assert_seeded_digest_body, get,
    outbox_messages, seed_fund,
};
use mailroom_domain::digest::compose::NO_ACTIVITY_NOTE;
use mailroom_tests::app::{Backend, TestApp, spawn_app_with};
use mailroom_tests::smtp_server::{SmtpServer, SmtpServerConfig};
use serde_json::Value;

async fn preview(app: &TestApp, since: Option<&str>, until: Option<&str>) -> (u16, Value) {
    let query: Vec<String> = [("since", since), ("until", until)]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
        .collect();
    get(
        app,
        &format!("/api/admin/digest/preview?{}", query.join("&")),
        ANN,
    )
    .await
}

/// A preview window and what its digest holds.
struct Case {
    since: Option<&'static str>,
    until: Option<&'static str>,
    emails: u64,
    users: u64,
    /// The seeded subjects the body shows; the others must be absent.
    subjects: &'static [&'static str],
}

impl Case {
    fn new(
        since: Option<&'static str>,
        until: Option<&'static str>,
        emails: u64,
        users: u64,
        subjects: &'static [&'static str],
    ) -> Case {
        Case {
            since,
            until,
            emails,
            users,
            subjects,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_builds_the_windows_digest_and_sends_nothing() {
    let smtp = SmtpServer::start(SmtpServerConfig::default());
    let app = spawn_app_with(Backend::Sqlite, &Env::new().smtp(&smtp).pairs()).await;
    seed_fund(&app).await;

    let cases = [
        // no window given: the 24 hours before the clock (12:00 UTC)
        Case::new(None, None, 2, 2, &[ACME_SUBJECT, BETA_SUBJECT]),
        Case::new(
            Some("2026-11-23T12:00:00Z"),
            Some("2026-11-24T12:00:00Z"),
            2,
            2,
            &[ACME_SUBJECT, BETA_SUBJECT],
        ),
        // 10:00 leaves Bob's 10:30 reply out
        Case::new(
            Some("2026-11-24T00:00:00Z"),
            Some("2026-11-24T10:00:00Z"),
            1,
            2,
            &[ACME_SUBJECT],
        ),
        // the window is (since, until]: 09:00 is out, 10:30 is in
        Case::new(
            Some("2026-11-24T09:00:00Z"),
            Some("2026-11-24T10:30:00Z"),
            1,
            1,
            &[BETA_SUBJECT],
        ),
    ];
    for case in cases {
        let (status, digest) = preview(&app, case.since, case.until).await;
        let name = format!("{:?}..{:?}", case.since, case.until);
        assert_eq!(status, 200, "{name}: {digest}");
        assert_eq!(digest["email_count"], case.emails, "{name}: {digest}");
        assert_eq!(digest["user_count"], case.users, "{name}: {digest}");
        assert_eq!(digest["has_activity"], true, "{name}");
        let body = digest["body"].as_str().expect("a body");
        for subject in [ACME_SUBJECT, BETA_SUBJECT] {
            assert_eq!(
                body.contains(subject),
                case.subjects.contains(&subject),
                "{name}: {subject}:\n{body}"
            );
        }
        if let (Some(since), Some(until)) = (case.since, case.until) {
            assert_eq!(digest["since"], since, "{name}");
            assert_eq!(digest["until"], until, "{name}");
        }
    }

    let (_, full) = preview(&app, None, None).await;
    assert_eq!(full["subject"], SEEDED_SUBJECT);
    assert_eq!(full["investor_count"], 2);
    assert_seeded_digest_body(full["body"].as_str().expect("a body"));

    assert!(smtp.messages().is_empty(), "a preview sends nothing");
    assert!(outbox_messages(app.outbox.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_window_previews_the_no_activity_note() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    seed_fund(&app).await;

    let (status, digest) = preview(
        &app,
        Some("2026-01-01T00:00:00Z"),
        Some("2026-01-02T00:00:00Z"),
    )
    .await;

    assert_eq!(status, 200, "{digest}");
    assert_eq!(digest["has_activity"], false);
    assert_eq!(digest["email_count"], 0);
    assert_eq!(digest["investor_count"], 0);
    assert!(
        digest["body"]
            .as_str()
            .expect("a body")
            .contains(NO_ACTIVITY_NOTE)
    );
    assert!(outbox_messages(app.outbox.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_that_does_not_move_forward_is_the_empty_digest() {
    // `since` at or after `until` is a window holding nothing: every value
    // the document allows is accepted, and the answer is the empty digest.
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    seed_fund(&app).await;

    for (since, until) in [
        ("2026-11-24T12:00:00Z", "2026-11-24T12:00:00Z"),
        ("2026-11-24T12:00:00Z", "2026-11-23T12:00:00Z"),
    ] {
        let (status, answer) = preview(&app, Some(since), Some(until)).await;
        assert_eq!(status, 200, "{since}..{until}: {answer}");
        assert_eq!(answer["has_activity"], false, "{answer}");
        assert_eq!(answer["email_count"], 0, "{answer}");
    }
    // Only `since`, after the clock: the default `until` (now) is before it.
    let (status, answer) = preview(&app, Some("2026-11-25T00:00:00Z"), None).await;
    assert_eq!(status, 200);
    assert_eq!(answer["email_count"], 0, "{answer}");
    // Not a timestamp at all: the request is malformed.
    let (status, _) = preview(&app, Some("yesterday"), None).await;
    assert_eq!(status, 400);
    assert!(outbox_messages(app.outbox.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_active_admins_may_preview() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    seed_fund(&app).await;

    let (status, _) = get(&app, "/api/admin/digest/preview", BOB).await;

    assert_eq!(status, 403);
}
