//! The re-match and the audit spend the sync's Gmail quota, on SQLite and
//! PostgreSQL: with the fake Google enforcing Gmail's per-user quota (250
//! units a second), a sync, a re-match and an audit repair of the same
//! mailbox run at once, each with dozens of messages to fetch, and the fake
//! answers no 429, because all three go through the Gmail client's one
//! quota limiter for that mailbox (alone, each runs at the limiter's full
//! rate, so three limiters, or a limiter set above the quota, draw 429s).
//! And an audit reads every page of `messages.list` (500 ids a page).

use std::time::Duration;

use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{
    ANN, BOB, CaptureTeam, bulk_message, directory_with_pat, pat_update,
};
use mailroom_tests::fake_google::{Endpoint, NewMessage};
use reqwest::StatusCode;
use serde_json::json;

const PAT: usize = 40;
const LATE: usize = 40;

async fn sync_rematch_and_audit_share_one_quota(backend: Backend) {
    let team = CaptureTeam::start(backend).await;
    for n in 0..PAT {
        let raw = pat_update(n, "2026-11-20T09:00:00Z");
        team.google.add_message_with(ANN, NewMessage::new(raw));
    }
    let (status, body) = team.sync_http(team.ann_box).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rematch = team.app.state.rematch.clone().expect("Gmail is configured");
    rematch.run_to_end(100).await.unwrap();

    // Pat joins the directory (40 messages to fetch again) and 40 new
    // messages arrive (for the sync, and missing for the audit's repair);
    // Gmail's quota is on.
    let (status, body) = team
        .put(ANN, "/api/admin/directory", directory_with_pat())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for n in 0..LATE {
        team.google.add_message_with(ANN, bulk_message(n, ANN));
    }
    let gets = team.google.calls(Endpoint::MessagesGet);
    team.google.set_rate_limit(true);

    let repair = format!("/api/email/accounts/{}/audit/repair", team.ann_box);
    let started = std::time::Instant::now();
    let (synced, rematched, repaired) = tokio::join!(
        team.sync_http(team.ann_box),
        rematch.run_to_end(100),
        team.post(ANN, &repair, json!({})),
    );
    let elapsed = started.elapsed();
    let (status, body) = synced;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rematched = rematched.expect("the re-match runs");
    let (status, body) = repaired;
    assert_eq!(status, StatusCode::OK, "{body}");

    assert_eq!(
        team.google.quota_rejections(),
        0,
        "one limiter for the three: Gmail's quota was never exceeded"
    );
    let spent = team.google.calls(Endpoint::MessagesGet) - gets;
    assert!(
        spent >= LATE + PAT,
        "the sync's and the re-match's fetches at least: {spent}"
    );
    // At most 250 units (50 gets) a second.
    assert!(
        elapsed >= Duration::from_millis(spent as u64 * 1000 / 50 - 1000),
        "{spent} gets paced together in {elapsed:?}"
    );
    assert_eq!(rematched.fetched, PAT as u64);
    assert_eq!(
        team.count("SELECT COUNT(*) FROM emails WHERE dedup_key LIKE 'bulk-%'")
            .await,
        LATE as i64,
        "each new message stored once, by whichever got it first"
    );
    let (status, audit) = team
        .get(ANN, &format!("/api/email/accounts/{}/audit", team.ann_box))
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    assert_eq!(
        audit["in_gmail"].as_u64(),
        Some((PAT + LATE) as u64),
        "{audit}"
    );
    assert_eq!(audit["captured"], audit["in_gmail"], "{audit}");
    assert_eq!(team.google.quota_rejections(), 0);
}

/// Bob's mailbox, never synced, holds 510 messages: two pages.
async fn the_audit_reads_every_page_of_the_listing(backend: Backend) {
    let team = CaptureTeam::start(backend).await;
    for n in 0..510 {
        team.google.add_message_with(BOB, bulk_message(n, BOB));
    }
    let lists = team.google.calls(Endpoint::MessagesList);
    let (status, audit) = team
        .get(ANN, &format!("/api/email/accounts/{}/audit", team.bob_box))
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    assert_eq!(team.google.calls(Endpoint::MessagesList) - lists, 2);
    assert_eq!(
        (
            audit["in_gmail"].as_u64(),
            audit["captured"].as_u64(),
            audit["missing"]["count"].as_u64()
        ),
        (Some(510), Some(0), Some(510)),
        "{audit}"
    );
    assert_eq!(
        audit["missing"]["examples"].as_array().map(Vec::len),
        Some(10)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_rematch_and_audit_share_one_quota_sqlite() {
    sync_rematch_and_audit_share_one_quota(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_rematch_and_audit_share_one_quota_postgres() {
    sync_rematch_and_audit_share_one_quota(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_reads_every_page_of_the_listing_sqlite() {
    the_audit_reads_every_page_of_the_listing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_reads_every_page_of_the_listing_postgres() {
    the_audit_reads_every_page_of_the_listing(Backend::Postgres).await;
}
