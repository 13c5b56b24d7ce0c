//! `kill -9` during a re-match, with the real binary: 60 metadata-only
//! emails from Pat, whom a directory update then adds, so `mailroom serve`
//! starts re-matching them at once: one batch, fetched one by one from a
//! slow fake Gmail. The process is killed with SIGKILL half way through the
//! batch and started again on the same database once its job lease has
//! lapsed. Every email must end fetched, linked and proposed exactly once:
//! the links and proposals are counted in the database (none missing, none
//! twice), and the restarted process fetches exactly the emails whose
//! capture the killed one had not committed. On SQLite and PostgreSQL.

use std::time::Duration;

use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{ANN, CaptureTeam, directory_with_pat, pat_update, wait_until};
use mailroom_tests::fake_google::{Endpoint, NewMessage};
use mailroom_tests::service::Service;
use reqwest::StatusCode;

const PAT_EMAILS: i64 = 60;
const NEW_LP: i64 = 4;

async fn count(team: &CaptureTeam, sql: &str) -> i64 {
    team.count(sql).await
}

async fn full_pat_emails(team: &CaptureTeam) -> i64 {
    count(
        team,
        "SELECT COUNT(*) FROM emails WHERE from_email = 'pat@newlp.example' \
         AND content_stored = TRUE AND body IS NOT NULL",
    )
    .await
}

async fn a_rematch_killed_half_way_then_restarted_does_everything_exactly_once(backend: Backend) {
    let team = CaptureTeam::start(backend).await;
    for n in 0..PAT_EMAILS {
        let raw = pat_update(
            n,
            &format!("2026-11-{:02}T{:02}:00:00Z", 1 + n / 24, n % 24),
        );
        team.google.add_message_with(ANN, NewMessage::new(raw));
    }
    team.sync_both().await;
    assert_eq!(
        full_pat_emails(&team).await,
        0,
        "Pat is unknown: metadata only"
    );
    let (status, body) = team
        .put(ANN, "/api/admin/directory", directory_with_pat())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // 60 fetches of 50 ms each: the batch takes seconds.
    team.google.set_get_delay(Duration::from_millis(50));
    let env = team.service_env();

    let start = team.google.calls(Endpoint::MessagesGet);
    let mut first = Service::start(&env).await;
    wait_until(Duration::from_secs(60), "the re-match to fetch", || async {
        team.google.calls(Endpoint::MessagesGet) >= start + 20
    })
    .await;
    first.kill9();
    let at_kill = team.google.calls(Endpoint::MessagesGet);
    team.dead_sessions_gone(backend).await;

    let done_before = full_pat_emails(&team).await;
    assert!(
        done_before > 0 && done_before < PAT_EMAILS,
        "the killed run completed part of the batch: {done_before} of {PAT_EMAILS}"
    );
    assert_eq!(
        count(
            &team,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'rematch' AND state = 'running' \
             AND cursor_id = 0 AND lease_holder IS NOT NULL"
        )
        .await,
        1,
        "the dead process holds the job, its batch not written"
    );

    // What waiting out the 5-minute lease does.
    team.rows(
        "UPDATE jobs SET lease_expires_at = '2000-01-01T00:00:00.000000Z' \
         WHERE lease_holder IS NOT NULL",
    )
    .await;
    let restarted = Service::start(&env).await;
    wait_until(
        Duration::from_secs(120),
        "the re-match to finish",
        || async {
            count(
                &team,
                "SELECT COUNT(*) FROM jobs WHERE kind = 'rematch' AND state = 'done'",
            )
            .await
                == 1
        },
    )
    .await;
    drop(restarted);

    assert_eq!(
        team.google.calls(Endpoint::MessagesGet) - at_kill,
        (PAT_EMAILS - done_before) as usize,
        "the restart fetched exactly the emails the killed run had not stored"
    );
    assert_eq!(full_pat_emails(&team).await, PAT_EMAILS);
    assert_eq!(
        count(
            &team,
            "SELECT COUNT(*) FROM emails WHERE from_email = 'pat@newlp.example'"
        )
        .await,
        PAT_EMAILS,
        "one email row per message"
    );
    for table in ["email_investor_links", "activity_proposals"] {
        let rows = count(
            &team,
            &format!("SELECT COUNT(*) FROM {table} WHERE investor_id = {NEW_LP}"),
        )
        .await;
        let emails = count(
            &team,
            &format!("SELECT COUNT(DISTINCT email_id) FROM {table} WHERE investor_id = {NEW_LP}"),
        )
        .await;
        assert_eq!((rows, emails), (PAT_EMAILS, PAT_EMAILS), "{table}");
    }
    let (status, jobs) = team.get(ANN, "/api/admin/jobs").await;
    assert_eq!(status, StatusCode::OK, "{jobs}");
    let job = &jobs["items"][0];
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["scanned"], job["total"], "{job}");
    assert_eq!(
        (job["fetched"].as_i64(), job["skipped"].as_i64()),
        (Some(PAT_EMAILS - done_before), Some(0)),
        "the restarted run counts its own fetches: {job}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_rematch_killed_with_sigkill_half_way_then_restarted_does_everything_exactly_once()
{
    a_rematch_killed_half_way_then_restarted_does_everything_exactly_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_rematch_killed_with_sigkill_half_way_then_restarted_does_everything_exactly_once()
 {
    a_rematch_killed_half_way_then_restarted_does_everything_exactly_once(Backend::Postgres).await;
}
