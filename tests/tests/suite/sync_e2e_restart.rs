//! R-CAP-2 "a crash loses and duplicates nothing", end to end: a sync task
//! aborted part-way (the process killed), then a new process on the same
//! database (another lease holder) finishing the job, compared with a run
//! that was never interrupted.
//!
//! The dead process's mailbox lease is not released. The restarted process
//! is refused (`Busy`) until the lease lapses on the app's clock
//! (15 minutes after the dead run started), then it syncs normally.

use std::time::Duration;

use jiff::SignedDuration;
use mailroom_domain::capture::SyncError;
use mailroom_ports::AccountId;
use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{ANN, CaptureTeam, Dump, bulk_message, seed_mail, wait_until};
use mailroom_tests::fake_google::Endpoint;

/// Bulk messages on top of [`seed_mail`] in Ann's mailbox: enough that the
/// quota limiter (≈45 fetches a second) keeps a full sync running for seconds.
const BULK: usize = 150;

/// The lease the app's wiring gives a sync run.
const LEASE: SignedDuration = SignedDuration::from_mins(15);

async fn seeded_team() -> CaptureTeam {
    let team = CaptureTeam::start(Backend::Sqlite).await;
    seed_mail(&team.google);
    for n in 0..BULK {
        team.google.add_message_with(ANN, bulk_message(n, ANN));
    }
    team
}

async fn reference_dump(extra: usize) -> Dump {
    let team = seeded_team().await;
    team.sync_both().await;
    for n in BULK..BULK + extra {
        team.google.add_message_with(ANN, bulk_message(n, ANN));
    }
    if extra > 0 {
        team.sync_both().await;
    }
    team.dump().await
}

/// Starts a sync of `account` in the app's own process, lets it fetch at
/// least `fetches` more messages, and aborts it there.
async fn kill_mid_sync(team: &CaptureTeam, account: i64, fetches: usize) {
    let sync = team.app.state.sync.clone().expect("sync is wired");
    let start = team.google.calls(Endpoint::MessagesGet);
    let task = tokio::spawn(async move { sync.sync_account(AccountId(account)).await });
    wait_until(Duration::from_secs(30), "fetches to start", || async {
        team.google.calls(Endpoint::MessagesGet) >= start + fetches
    })
    .await;
    task.abort();
    let ended = task.await;
    assert!(
        ended.as_ref().is_err_and(|e| e.is_cancelled()),
        "the sync was still running when it was killed: {ended:?}"
    );
}

async fn account(team: &CaptureTeam, address: &str) -> serde_json::Value {
    let (_, accounts) = team.get(ANN, "/api/email/accounts").await;
    accounts["items"]
        .as_array()
        .expect("accounts")
        .iter()
        .find(|a| a["email_address"] == address)
        .expect("the mailbox")
        .clone()
}

async fn sightings(team: &CaptureTeam) -> i64 {
    team.count(&format!(
        "SELECT COUNT(*) FROM email_account_messages WHERE account_id = {}",
        team.ann_box
    ))
    .await
}

/// A new process on the team's database must wait out the dead run's lease.
async fn restart_after_the_lease_lapses(
    team: &CaptureTeam,
) -> std::sync::Arc<mailroom_app::state::Syncs> {
    let restarted = team.restart("restarted-replica").await;
    let sync = restarted.sync.clone().expect("sync is wired");
    let refused = sync.sync_account(AccountId(team.ann_box)).await;
    assert!(
        matches!(refused, Err(SyncError::Busy)),
        "the dead run's lease still stands: {refused:?}"
    );
    team.app.clock.advance(LEASE + SignedDuration::from_secs(1));
    sync
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_killed_part_way_is_finished_by_the_next_process_without_loss_or_duplicates() {
    let expected = reference_dump(0).await;
    let team = seeded_team().await;
    let total = 13 + BULK as i64;

    kill_mid_sync(&team, team.ann_box, 30).await;

    let partial = sightings(&team).await;
    assert!(
        partial > 0 && partial < total,
        "the killed run stored part of the mailbox: {partial}"
    );
    let dead = account(&team, ANN).await;
    assert_eq!(dead["history_id"], serde_json::Value::Null, "no cursor yet");
    assert_eq!(dead["sync_state"], "syncing");

    let sync = restart_after_the_lease_lapses(&team).await;
    let report = sync
        .sync_account(AccountId(team.ann_box))
        .await
        .expect("the lapsed lease is taken over");
    sync.sync_account(AccountId(team.bob_box))
        .await
        .expect("Bob's mailbox syncs");

    assert!(report.full, "{report:?}");
    assert_eq!(i64::from(report.captured), total - partial, "{report:?}");
    assert_eq!(sightings(&team).await, total);
    assert_eq!(team.dump().await, expected);
    let done = account(&team, ANN).await;
    assert_eq!(done["sync_state"], "idle");
    assert_eq!(done["history_id"], team.google.history_id(ANN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_sync_killed_part_way_resumes_from_the_stored_cursor() {
    const EXTRA: usize = 120;
    let expected = reference_dump(EXTRA).await;
    let team = seeded_team().await;
    team.sync_both().await;
    let cursor = account(&team, ANN).await["history_id"].clone();
    let before = sightings(&team).await;
    for n in BULK..BULK + EXTRA {
        team.google.add_message_with(ANN, bulk_message(n, ANN));
    }

    kill_mid_sync(&team, team.ann_box, 20).await;

    let partial = sightings(&team).await - before;
    assert!(
        partial > 0 && partial < EXTRA as i64,
        "the killed run stored part of the new mail: {partial}"
    );
    assert_eq!(
        account(&team, ANN).await["history_id"],
        cursor,
        "the cursor did not move past uncommitted mail"
    );

    let sync = restart_after_the_lease_lapses(&team).await;
    let report = sync
        .sync_account(AccountId(team.ann_box))
        .await
        .expect("the lapsed lease is taken over");

    assert!(!report.full, "{report:?}");
    assert_eq!(
        i64::from(report.captured),
        EXTRA as i64 - partial,
        "{report:?}"
    );
    assert_eq!(i64::from(report.skipped), partial, "{report:?}");
    assert_eq!(team.dump().await, expected);
}
