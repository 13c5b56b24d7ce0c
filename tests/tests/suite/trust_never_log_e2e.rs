//! The never-log list end to end, on SQLite and PostgreSQL: after a sync
//! from the fake Google, an entry added over the API hides the mail from
//! `GET /api/email/activity` (list and search) and from the digest preview,
//! and the purge erases its stored content, attachment names included (read
//! back from the database).

use jiff::SignedDuration;
use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{ANN, CaptureTeam, seed_mail};
use reqwest::StatusCode;
use serde_json::{Value, json};

const KEY: &str = "attach-1@investor.com";
const SUBJECT: &str = "Signed side letter";

async fn activity(team: &CaptureTeam, q: &str) -> String {
    let (status, body) = team
        .get(ANN, &format!("/api/email/activity?limit=200{q}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.to_string()
}

async fn preview(team: &CaptureTeam) -> Value {
    let until = team.app.clock.now_for_test() + SignedDuration::from_hours(1);
    let (status, body) = team
        .get(
            ANN,
            &format!("/api/admin/digest/preview?since=2000-01-01T00:00:00Z&until={until}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Rows of the email whose stored content still mentions the side letter.
async fn traces(team: &CaptureTeam) -> i64 {
    team.count(&format!(
        "SELECT COUNT(*) FROM emails WHERE dedup_key = '{KEY}' AND (content_stored = TRUE \
         OR subject IS NOT NULL OR snippet IS NOT NULL OR body IS NOT NULL \
         OR attachments_json IS NOT NULL)"
    ))
    .await
}

async fn a_never_log_entry_hides_synced_mail_everywhere_and_erases_its_attachments(
    backend: Backend,
) {
    let team = CaptureTeam::start(backend).await;
    seed_mail(&team.google);
    team.sync_both().await;

    // Before: listed, searchable, in the digest, attachment names stored.
    assert!(activity(&team, "").await.contains(SUBJECT));
    assert!(activity(&team, "&q=side").await.contains(SUBJECT));
    let before = preview(&team).await;
    assert!(
        before["body"].as_str().unwrap().contains(SUBJECT),
        "{before}"
    );
    let names = team
        .rows(&format!(
            "SELECT attachments_json FROM emails WHERE dedup_key = '{KEY}'"
        ))
        .await[0]
        .try_get::<Option<String>>("", "attachments_json")
        .unwrap()
        .unwrap_or_default();
    assert!(
        names.contains("side-letter.pdf") && names.contains("écusson.png"),
        "{names}"
    );

    let (status, body) = team
        .post(
            ANN,
            "/api/admin/never-log",
            json!({"value": "lp@investor.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The fixtures hold four messages from lp@investor.com, all matched.
    let purged = body["purged"]["emails_purged"].as_u64().unwrap();
    assert_eq!(purged, 4, "{body}");

    assert!(!activity(&team, "").await.contains(SUBJECT));
    assert!(!activity(&team, "&q=side").await.contains(SUBJECT));
    assert!(!activity(&team, "&q=lp%40investor.com").await.contains(KEY));
    let after = preview(&team).await;
    assert!(
        !after["body"].as_str().unwrap().contains(SUBJECT),
        "{after}"
    );
    assert_eq!(
        after["email_count"].as_u64().unwrap() + purged,
        before["email_count"].as_u64().unwrap(),
        "{after}"
    );
    assert_eq!(traces(&team).await, 0, "the content is erased");
    assert_eq!(
        team.count(
            "SELECT COUNT(*) FROM emails WHERE attachments_json LIKE '%side-letter%' \
             OR attachments_json LIKE '%cusson%' OR subject = 'Signed side letter' \
             OR body LIKE '%signed side letter%' OR snippet LIKE '%signed side letter%'"
        )
        .await,
        0,
        "no trace of it in any stored email"
    );
    assert_eq!(
        team.count(&format!(
            "SELECT COUNT(*) FROM emails WHERE dedup_key = '{KEY}'"
        ))
        .await,
        1,
        "the metadata stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_never_log_entry_hides_synced_mail_everywhere_and_erases_its_attachments_sqlite() {
    a_never_log_entry_hides_synced_mail_everywhere_and_erases_its_attachments(Backend::Sqlite)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_never_log_entry_hides_synced_mail_everywhere_and_erases_its_attachments_postgres() {
    a_never_log_entry_hides_synced_mail_everywhere_and_erases_its_attachments(Backend::Postgres)
        .await;
}
