//! The re-match against the fake Google, on SQLite and PostgreSQL: a contact
//! added after the first sync turns its old metadata-only mail into full,
//! matched, proposed mail exactly once, even with the job stopped half way
//! and taken over by another replica; a second identical directory update
//! does nothing; removing a never-log entry brings its mail back.

use jiff::SignedDuration;
use mailroom_domain::trust::{RematchConfig, StepOutcome};
use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{
    ANN, CaptureTeam, LEE, Mail, RematchReplica, directory_with_pat,
};
use mailroom_tests::fake_google::{Endpoint, NewMessage};
use reqwest::StatusCode;
use serde_json::{Value, json};

const NEW_LP: i64 = 4;
const NEW_CONTACT: &str = "pat@newlp.example";

/// Five messages from Pat (unknown at first), one from Lee with Pat in Cc
/// (already matched to Acme), two cold messages.
fn seed(team: &CaptureTeam) {
    let add = |from: &str, cc: &[&str], id: &str, subject: &str, date: &str| {
        let raw = Mail {
            from,
            to: &[ANN],
            cc,
            subject,
            message_id: id,
            in_reply_to: None,
            references: &[],
            date,
            body: "Numbers for the quarter.",
        }
        .render();
        team.google.add_message_with(ANN, NewMessage::new(raw));
    };
    for i in 1..=5 {
        add(
            NEW_CONTACT,
            &[],
            &format!("pat-{i}@newlp.example"),
            &format!("Pat update {i}"),
            &format!("2026-11-1{i}T09:00:00Z"),
        );
    }
    add(
        "lee@acme.com",
        &[NEW_CONTACT],
        "lee-pat@acme.com",
        "Lee introduces Pat",
        "2026-11-16T09:00:00Z",
    );
    add(
        "someone@cold.example",
        &[],
        "cold-a@cold.example",
        "Cold A",
        "2026-11-17T09:00:00Z",
    );
    add(
        "other@cold.example",
        &[],
        "cold-b@cold.example",
        "Cold B",
        "2026-11-18T09:00:00Z",
    );
}

async fn jobs(team: &CaptureTeam) -> Value {
    let (status, body) = team.get(ANN, "/api/admin/jobs").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].clone()
}

async fn full_pat_emails(team: &CaptureTeam) -> i64 {
    team.count(
        "SELECT COUNT(*) FROM emails WHERE from_email = 'pat@newlp.example' \
         AND content_stored = TRUE AND subject LIKE 'Pat update %' AND body IS NOT NULL",
    )
    .await
}

/// Pat's emails holding any content column at all: a partial leak counts.
async fn pat_emails_with_any_content(team: &CaptureTeam) -> i64 {
    team.count(
        "SELECT COUNT(*) FROM emails WHERE from_email = 'pat@newlp.example' \
         AND (content_stored = TRUE OR subject IS NOT NULL OR snippet IS NOT NULL \
         OR body IS NOT NULL OR attachments_json IS NOT NULL)",
    )
    .await
}

async fn new_lp_proposals(team: &CaptureTeam) -> i64 {
    team.count(&format!(
        "SELECT COUNT(*) FROM activity_proposals WHERE investor_id = {NEW_LP} AND status = 'pending'"
    ))
    .await
}

/// A replica's re-match over the app's database and clock, with its own
/// Gmail client, in batches of `batch`.
fn replica(team: &CaptureTeam, holder: &str, batch: u32) -> RematchReplica {
    team.rematch_replica(RematchConfig {
        batch,
        holder: holder.into(),
        ..RematchConfig::default()
    })
}

async fn a_contact_added_after_the_first_sync_is_rematched_exactly_once(backend: Backend) {
    let team = CaptureTeam::start(backend).await;
    seed(&team);
    let (status, body) = team.sync_http(team.ann_box).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        pat_emails_with_any_content(&team).await,
        0,
        "Pat is unknown: metadata only"
    );
    assert_eq!(
        team.count("SELECT COUNT(*) FROM emails WHERE from_email = 'pat@newlp.example'")
            .await,
        5
    );
    // The team's first directory import widened matching from nothing, so
    // a run is pending; with the mail as it is, it finds nothing new.
    let app_rematch = team.app.state.rematch.clone().expect("Gmail is configured");
    let first = app_rematch.run_to_end(100).await.unwrap();
    assert_eq!((first.scanned, first.matched, first.fetched), (8, 0, 0));
    assert_eq!(jobs(&team).await[0]["state"], "done");

    let (status, body) = team
        .put(ANN, "/api/admin/directory", directory_with_pat())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let requested = jobs(&team).await;
    assert_eq!(requested[0]["kind"], "rematch");
    assert_eq!(requested[0]["state"], "pending");

    // Replica A does one batch of two and stops (killed): its lease stays.
    let gets_before = team.google.calls(Endpoint::MessagesGet);
    let a = replica(&team, "replica-a", 2);
    assert!(matches!(
        a.run_once().await.unwrap(),
        StepOutcome::Progressed(_)
    ));
    drop(a);
    let half = jobs(&team).await;
    assert_eq!(half[0]["state"], "running");
    assert_eq!(half[0]["scanned"], 2);
    assert_eq!(half[0]["total"], 8);

    // Replica B (a restarted process) waits for the lease, then resumes
    // from the stored cursor.
    let b = team.restart("replica-b").await;
    let b = b.rematch.clone().expect("Gmail is configured");
    assert!(matches!(b.run_once().await.unwrap(), StepOutcome::Idle));
    team.app.clock.advance(SignedDuration::from_secs(301));
    b.run_to_end(100).await.unwrap();

    let done = jobs(&team).await;
    assert_eq!(done[0]["state"], "done", "{done}");
    assert_eq!(
        (
            done[0]["scanned"].as_u64(),
            done[0]["matched"].as_u64(),
            done[0]["fetched"].as_u64(),
            done[0]["proposals"].as_u64()
        ),
        (Some(8), Some(6), Some(5), Some(6)),
        "{done}"
    );
    assert!(done[0]["finished_at"].is_string());
    assert_eq!(
        full_pat_emails(&team).await,
        5,
        "content fetched and stored"
    );
    assert_eq!(new_lp_proposals(&team).await, 6, "one per (email, New LP)");
    assert_eq!(
        team.count(&format!(
            "SELECT COUNT(*) FROM email_investor_links WHERE investor_id = {NEW_LP} \
             AND contact_id = 40"
        ))
        .await,
        6
    );
    assert_eq!(
        team.count(&format!(
            "SELECT COUNT(*) FROM activity_proposals p JOIN emails e ON e.id = p.email_id \
             WHERE e.dedup_key = 'lee-pat@acme.com' AND p.contact_id = {LEE}"
        ))
        .await,
        1,
        "the matched email keeps its Acme proposal and gains New LP's"
    );
    assert_eq!(
        team.count("SELECT COUNT(*) FROM emails WHERE content_stored = FALSE")
            .await,
        2,
        "the cold mail stays metadata only"
    );
    assert_eq!(
        team.google.calls(Endpoint::MessagesGet) - gets_before,
        5,
        "each metadata-only message fetched once, none twice"
    );

    // The same directory again widens nothing: no new run, nothing changes.
    let (status, body) = team
        .put(ANN, "/api/admin/directory", directory_with_pat())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(jobs(&team).await, done);
    assert!(matches!(b.run_once().await.unwrap(), StepOutcome::Idle));
    assert_eq!(new_lp_proposals(&team).await, 6);
}

async fn removing_a_never_log_entry_rematches_its_mail(backend: Backend) {
    let team = CaptureTeam::start(backend).await;
    seed(&team);
    let (status, body) = team
        .put(ANN, "/api/admin/directory", directory_with_pat())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = team
        .post(
            ANN,
            "/api/admin/never-log",
            json!({"value": "newlp.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["entry"]["id"].as_i64().unwrap();
    let (status, body) = team.sync_http(team.ann_box).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        pat_emails_with_any_content(&team).await,
        0,
        "never-logged: metadata only"
    );
    assert_eq!(new_lp_proposals(&team).await, 0);
    let rematch = team.app.state.rematch.clone().expect("Gmail is configured");
    rematch.run_to_end(100).await.unwrap();
    assert_eq!(
        pat_emails_with_any_content(&team).await,
        0,
        "the directory job finds nothing"
    );

    let request = team
        .app
        .http
        .delete(team.app.url(&format!("/api/admin/never-log/{id}")))
        .bearer_auth(team.app.token(ANN))
        .send()
        .await
        .unwrap();
    assert_eq!(request.status(), StatusCode::OK);
    let body: Value = request.json().await.unwrap();
    assert_eq!(body["rematch"]["state"], "pending", "{body}");
    rematch.run_to_end(100).await.unwrap();

    assert_eq!(full_pat_emails(&team).await, 5);
    assert_eq!(new_lp_proposals(&team).await, 6);
    assert_eq!(
        team.count(
            "SELECT COUNT(*) FROM activity_proposals p JOIN emails e ON e.id = p.email_id \
             WHERE e.dedup_key = 'lee-pat@acme.com'"
        )
        .await,
        2,
        "Lee's email, Cc Pat, was kept out too; now it has both proposals"
    );
}

/// A clock that moves 40 s each time it is read: a batch slower than its
/// lease allows, as the re-match sees it.
struct SlowClock(std::sync::Arc<mailroom_tests::app::TestClock>);

impl mailroom_ports::Clock for SlowClock {
    fn now(&self) -> jiff::Timestamp {
        self.0.advance(SignedDuration::from_secs(40));
        mailroom_ports::Clock::now(self.0.as_ref())
    }
}

/// A step ends by half its lease (150 s of 300), whatever is left of its
/// batch, and writes what it did while the lease is still its own; the next
/// steps go on from there, and every email is still fetched and proposed
/// exactly once.
async fn a_slow_step_ends_by_half_its_lease_and_the_next_goes_on(backend: Backend) {
    let team = CaptureTeam::start(backend).await;
    seed(&team);
    let (status, body) = team.sync_http(team.ann_box).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let app_rematch = team.app.state.rematch.clone().expect("Gmail is configured");
    app_rematch.run_to_end(100).await.unwrap();
    let (status, body) = team
        .put(ANN, "/api/admin/directory", directory_with_pat())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let gets_before = team.google.calls(Endpoint::MessagesGet);
    let slow = team.rematch_replica_on(
        RematchConfig {
            batch: 200,
            holder: "slow".into(),
            ..RematchConfig::default()
        },
        std::sync::Arc::new(SlowClock(team.app.clock.clone())),
    );
    let first = match slow.run_once().await.unwrap() {
        StepOutcome::Progressed(p) => p,
        other => panic!("the first step should stop early, not {other:?}"),
    };
    assert!(
        (1..8).contains(&first.scanned),
        "part of the 8 emails: {first:?}"
    );
    let half = jobs(&team).await;
    assert_eq!(
        half[0]["scanned"], first.scanned,
        "the step's work is written"
    );
    assert_eq!(half[0]["state"], "running");

    // The same replica goes on from the stored cursor until it is done.
    let rest = slow.run_to_end(100).await.unwrap();
    assert_eq!(first.scanned + rest.scanned, 8, "{first:?} then {rest:?}");
    let done = jobs(&team).await;
    assert_eq!(done[0]["state"], "done", "{done}");
    assert_eq!(full_pat_emails(&team).await, 5);
    assert_eq!(new_lp_proposals(&team).await, 6);
    assert_eq!(
        team.google.calls(Endpoint::MessagesGet) - gets_before,
        5,
        "each metadata-only message fetched once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_step_ends_by_half_its_lease_and_the_next_goes_on_sqlite() {
    a_slow_step_ends_by_half_its_lease_and_the_next_goes_on(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_step_ends_by_half_its_lease_and_the_next_goes_on_postgres() {
    a_slow_step_ends_by_half_its_lease_and_the_next_goes_on(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_added_after_the_first_sync_is_rematched_exactly_once_sqlite() {
    a_contact_added_after_the_first_sync_is_rematched_exactly_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_added_after_the_first_sync_is_rematched_exactly_once_postgres() {
    a_contact_added_after_the_first_sync_is_rematched_exactly_once(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_never_log_entry_rematches_its_mail_sqlite() {
    removing_a_never_log_entry_rematches_its_mail(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_never_log_entry_rematches_its_mail_postgres() {
    removing_a_never_log_entry_rematches_its_mail(Backend::Postgres).await;
}
