//! The re-match when Gmail fails, against the fake Google on SQLite and
//! PostgreSQL: a mailbox whose Gmail fails (5xx, a refused token, a user
//! gone from Workspace) passes the turn to the next mailbox that has the
//! message; an email no mailbox can hand out is retried with a persisted,
//! doubling backoff that every replica respects, then skipped and recorded,
//! and the job goes on and finishes. `GET /api/admin/jobs` shows the
//! attempts, the backoff, the redacted error and the skipped email.

use std::time::Duration;

use jiff::SignedDuration;
use mailroom_domain::trust::{RematchConfig, StepOutcome};
use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{
    ANN, BOB, CaptureTeam, Mail, RematchReplica, directory_with_pat,
};
use mailroom_tests::fake_google::{FakeMessageRef, NewMessage};
use reqwest::StatusCode;
use serde_json::{Value, json};

const NEW_LP: i64 = 4;
const PAT: &str = "pat@newlp.example";

type Replica = RematchReplica;

/// A replica's re-match over the app's database and clock, with its own
/// Gmail client: three attempts per email, 30 s doubling backoff.
fn replica(team: &CaptureTeam, holder: &str) -> Replica {
    team.rematch_replica(RematchConfig {
        batch: 10,
        holder: holder.into(),
        max_attempts: 3,
        backoff: Duration::from_secs(30),
        max_backoff: Duration::from_secs(600),
        ..RematchConfig::default()
    })
}

/// Pat's message `n` (Pat is not in the directory yet) in `mailboxes`.
fn pat_message(team: &CaptureTeam, n: u32, mailboxes: &[&str]) -> Vec<FakeMessageRef> {
    let raw = Mail {
        from: PAT,
        to: &[ANN],
        cc: &[BOB],
        subject: &format!("Pat update {n}"),
        message_id: &format!("pat-{n}@newlp.example"),
        in_reply_to: None,
        references: &[],
        date: &format!("2026-11-1{n}T09:00:00Z"),
        body: "Numbers for the quarter.",
    }
    .render();
    mailboxes
        .iter()
        .map(|m| {
            team.google
                .add_message_with(m, NewMessage::new(raw.clone()))
        })
        .collect()
}

async fn widen(team: &CaptureTeam) {
    let (status, body) = team
        .put(ANN, "/api/admin/directory", directory_with_pat())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn rematch_job(team: &CaptureTeam) -> Value {
    let (status, body) = team.get(ANN, "/api/admin/jobs").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"]
        .as_array()
        .and_then(|jobs| jobs.iter().find(|j| j["kind"] == "rematch"))
        .unwrap_or_else(|| panic!("no re-match job in {body}"))
        .clone()
}

async fn full_pat_emails(team: &CaptureTeam) -> i64 {
    team.count(
        "SELECT COUNT(*) FROM emails WHERE from_email = 'pat@newlp.example' \
         AND content_stored = TRUE AND body IS NOT NULL",
    )
    .await
}

async fn new_lp_proposals(team: &CaptureTeam) -> i64 {
    team.count(&format!(
        "SELECT COUNT(*) FROM activity_proposals WHERE investor_id = {NEW_LP}"
    ))
    .await
}

async fn a_failing_mailbox_passes_the_turn_to_the_next_sighting(backend: Backend) {
    let team = CaptureTeam::start(backend).await;
    let five_hundred = pat_message(&team, 1, &[ANN, BOB]);
    let refused = pat_message(&team, 2, &[ANN, BOB]);
    pat_message(&team, 3, &[ANN, BOB]);
    team.sync_both().await;
    assert_eq!(
        full_pat_emails(&team).await,
        0,
        "Pat is unknown: metadata only"
    );
    widen(&team).await;
    // Ann's copies come first (her mailbox saw them first): one answers 500
    // whatever the retries, one 401 even with a fresh token.
    team.google.fail_message(&five_hundred[0].id, 500);
    team.google.fail_message(&refused[0].id, 401);

    let rematch = team.app.state.rematch.clone().expect("Gmail is configured");
    rematch.run_to_end(100).await.expect("no step fails");

    let job = rematch_job(&team).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(
        (
            job["matched"].as_u64(),
            job["fetched"].as_u64(),
            job["proposals"].as_u64(),
            job["skipped"].as_u64(),
            job["attempts"].as_u64()
        ),
        (Some(3), Some(3), Some(3), Some(0), Some(0)),
        "{job}"
    );
    assert_eq!(job["last_error"], Value::Null, "{job}");
    assert_eq!(
        full_pat_emails(&team).await,
        3,
        "each fetched from Bob's mailbox if not Ann's"
    );
    assert_eq!(new_lp_proposals(&team).await, 3);
}

async fn an_email_that_keeps_failing_backs_off_then_is_skipped(backend: Backend) {
    let team = CaptureTeam::start(backend).await;
    // Ann's mailbox is synced first, so the email only she has gets the
    // lowest id and is the first the re-match meets.
    pat_message(&team, 1, &[ANN]);
    pat_message(&team, 2, &[ANN, BOB]);
    pat_message(&team, 3, &[BOB]);
    team.sync_both().await;
    let stuck = team.email_id("pat-1@newlp.example").await;
    widen(&team).await;
    // Ann leaves the Workspace: her copies can no longer be fetched.
    team.google.remove_user(ANN);

    let a = replica(&team, "replica-a");
    let b = replica(&team, "replica-b");
    assert!(a.run_once().await.is_err(), "Pat's first email fails");
    let job = rematch_job(&team).await;
    assert_eq!(job["state"], "pending", "{job}");
    assert_eq!(job["attempts"], 1, "{job}");
    assert_eq!(job["skipped"], 0, "{job}");
    let error = job["last_error"].as_str().expect("an error").to_string();
    assert!(error.contains("no such user"), "{error}");
    let retry_at: jiff::Timestamp = job["retry_at"]
        .as_str()
        .expect("a backoff")
        .parse()
        .unwrap();
    assert_eq!(
        retry_at,
        team.app.clock.now_for_test() + SignedDuration::from_secs(30)
    );

    // The backoff is in the database: neither replica steps before it ends.
    assert_eq!(b.run_once().await.unwrap(), StepOutcome::Idle);
    assert_eq!(a.run_once().await.unwrap(), StepOutcome::Idle);
    team.app.clock.advance(SignedDuration::from_secs(31));
    assert!(b.run_once().await.is_err(), "second attempt");
    let job = rematch_job(&team).await;
    assert_eq!(job["attempts"], 2, "{job}");
    let retry_at: jiff::Timestamp = job["retry_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        retry_at,
        team.app.clock.now_for_test() + SignedDuration::from_secs(60),
        "the backoff doubles"
    );
    team.app.clock.advance(SignedDuration::from_secs(31));
    assert_eq!(a.run_once().await.unwrap(), StepOutcome::Idle);
    team.app.clock.advance(SignedDuration::from_secs(30));

    // The third failure is the last: the email is skipped, the job goes on.
    let skipped = a.run_once().await.expect("a skip is progress");
    assert!(
        matches!(skipped, StepOutcome::Progressed(p) if p.skipped == 1),
        "{skipped:?}"
    );
    let job = rematch_job(&team).await;
    assert_eq!(
        (job["attempts"].as_u64(), job["skipped"].as_u64()),
        (Some(0), Some(1)),
        "{job}"
    );
    assert_eq!(job["retry_at"], Value::Null, "{job}");
    assert_eq!(job["skipped_emails"][0]["email_id"], stuck, "{job}");
    let reason = job["skipped_emails"][0]["error"].as_str().unwrap();
    assert!(
        reason.contains("after 3 failed attempts") && reason.contains("no such user"),
        "{reason}"
    );

    a.run_to_end(10).await.expect("the rest goes through");
    let job = rematch_job(&team).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(
        (
            job["scanned"].as_u64(),
            job["fetched"].as_u64(),
            job["proposals"].as_u64(),
            job["skipped"].as_u64()
        ),
        (Some(3), Some(2), Some(2), Some(1)),
        "email 2 fetched from Bob's mailbox, email 3 from Bob's only: {job}"
    );
    assert_eq!(job["skipped_emails"].as_array().map(Vec::len), Some(1));
    assert_eq!(full_pat_emails(&team).await, 2);
    let text = job.to_string();
    for token in team.google.issued_tokens() {
        assert!(
            !text.contains(&token),
            "a token leaked into the job: {text}"
        );
    }

    // A new request gives the skipped email its chances again.
    team.google.add_user(ANN);
    let (status, body) = team
        .put(ANN, "/api/admin/directory", {
            let mut dir = directory_with_pat();
            dir["contacts"][3]["emails"]
                .as_array_mut()
                .unwrap()
                .push(json!("pat@else.example"));
            dir
        })
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let job = rematch_job(&team).await;
    assert_eq!(
        (job["skipped"].as_u64(), job["state"].as_str()),
        (Some(0), Some("pending"))
    );
    assert_eq!(job["skipped_emails"], json!([]));
    b.run_to_end(10).await.expect("Ann is back");
    assert_eq!(full_pat_emails(&team).await, 3);
    assert_eq!(new_lp_proposals(&team).await, 3);
}

/// Gmail unavailable for an email is an outage, not something about the
/// email: the job keeps backing off past the attempts that skip a broken
/// email, and once Gmail answers it goes on with nothing skipped. Here Ann
/// has left the Workspace (her copy can never be fetched) and Bob's copy
/// meets the outage: the outage is what counts.
async fn an_outage_is_waited_out_without_skipping_the_email_it_met(backend: Backend) {
    let team = CaptureTeam::start(backend).await;
    let down = pat_message(&team, 1, &[ANN, BOB]);
    pat_message(&team, 2, &[ANN, BOB]);
    team.sync_both().await;
    widen(&team).await;
    team.google.remove_user(ANN);
    team.google.fail_message(&down[1].id, 503);

    let a = replica(&team, "replica-a");
    // Three attempts would skip a broken email (max_attempts is 3 here).
    for attempt in 1..=4_u64 {
        assert!(a.run_once().await.is_err(), "attempt {attempt} fails");
        let job = rematch_job(&team).await;
        assert_eq!(job["attempts"], attempt, "{job}");
        assert_eq!(job["skipped"], 0, "an outage skips nothing: {job}");
        let retry_at: jiff::Timestamp = job["retry_at"].as_str().unwrap().parse().unwrap();
        team.app.clock.set(retry_at + SignedDuration::from_secs(1));
    }

    team.google.heal_message(&down[1].id);
    a.run_to_end(10).await.expect("Gmail answers again");
    let job = rematch_job(&team).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(
        (
            job["fetched"].as_u64(),
            job["proposals"].as_u64(),
            job["skipped"].as_u64(),
            job["attempts"].as_u64()
        ),
        (Some(2), Some(2), Some(0), Some(0)),
        "{job}"
    );
    assert_eq!(full_pat_emails(&team).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_waited_out_without_skipping_the_email_it_met_sqlite() {
    an_outage_is_waited_out_without_skipping_the_email_it_met(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_waited_out_without_skipping_the_email_it_met_postgres() {
    an_outage_is_waited_out_without_skipping_the_email_it_met(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_mailbox_passes_the_turn_to_the_next_sighting_sqlite() {
    a_failing_mailbox_passes_the_turn_to_the_next_sighting(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_mailbox_passes_the_turn_to_the_next_sighting_postgres() {
    a_failing_mailbox_passes_the_turn_to_the_next_sighting(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_that_keeps_failing_backs_off_then_is_skipped_sqlite() {
    an_email_that_keeps_failing_backs_off_then_is_skipped(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_that_keeps_failing_backs_off_then_is_skipped_postgres() {
    an_email_that_keeps_failing_backs_off_then_is_skipped(Backend::Postgres).await;
}
