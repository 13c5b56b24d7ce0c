//! `kill -9` during a sync, with the real binary: `mailroom serve` starts
//! syncing both mailboxes against the fake Google at once (its scheduler's
//! first cycle), is killed with SIGKILL part-way, and is started again on the
//! same database. The database must end exactly as an undisturbed run leaves
//! it: the same emails, sightings, investor links and proposals, nothing
//! duplicated or lost. Both for a first sync and for an incremental one
//! (the cursor must not move past uncommitted mail). On SQLite and PostgreSQL.
//!
//! The dead process's mailbox leases are not released by anyone; the test
//! sets their expiry in the past, which is what 15 minutes of waiting does.
//! A restart before that is refused the mailbox (checked too).

use std::time::Duration;

use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{
    ANN, CaptureTeam, Dump, SEEDED_ANN_SIGHTINGS, SEEDED_BOB_SIGHTINGS, bulk_message, seed_mail,
    wait_until,
};
use mailroom_tests::fake_google::Endpoint;
use mailroom_tests::service::Service;

/// Bulk messages on top of [`seed_mail`] in Ann's mailbox: enough that the
/// Gmail client's quota pacing keeps a first sync running for seconds.
const BULK: usize = 150;
const ALL_SIGHTINGS: i64 = SEEDED_ANN_SIGHTINGS + BULK as i64 + SEEDED_BOB_SIGHTINGS;

async fn seeded_team(backend: Backend) -> CaptureTeam {
    let team = CaptureTeam::start(backend).await;
    seed_mail(&team.google);
    for n in 0..BULK {
        team.google.add_message_with(ANN, bulk_message(n, ANN));
    }
    team
}

/// What an undisturbed run stores: the same seeded fake, synced once.
async fn undisturbed(backend: Backend) -> Dump {
    let team = seeded_team(backend).await;
    team.sync_both().await;
    team.dump().await
}

async fn sightings(team: &CaptureTeam) -> i64 {
    team.count("SELECT COUNT(*) FROM email_account_messages")
        .await
}

async fn leased(team: &CaptureTeam) -> i64 {
    team.count("SELECT COUNT(*) FROM email_accounts WHERE lease_holder IS NOT NULL")
        .await
}

async fn synced(team: &CaptureTeam) -> i64 {
    team.count(
        "SELECT COUNT(*) FROM email_accounts \
         WHERE sync_state = 'idle' AND history_id IS NOT NULL AND lease_holder IS NULL",
    )
    .await
}

async fn killed_mid_sync_then_restarted_ends_as_an_undisturbed_run(backend: Backend) {
    let expected = undisturbed(backend).await;
    let team = seeded_team(backend).await;
    let env = team.service_env();

    let mut first = Service::start(&env).await;
    wait_until(
        Duration::from_secs(60),
        "the first sync to fetch",
        || async { team.google.calls(Endpoint::MessagesGet) >= 40 },
    )
    .await;
    first.kill9();
    team.dead_sessions_gone(backend).await;

    let partial = sightings(&team).await;
    assert!(
        partial > 0 && partial < ALL_SIGHTINGS,
        "the killed run stored part of the mail: {partial} of {ALL_SIGHTINGS}"
    );
    assert!(
        leased(&team).await > 0,
        "the dead process still holds a mailbox lease"
    );

    // Before the lease lapses, a new process may not touch the mailbox.
    let early = Service::start(&env).await;
    early
        .wait_for_log(
            "mailbox skipped: a sync is running",
            Duration::from_secs(30),
        )
        .await;
    let early_log = early.log();
    drop(early);
    assert_eq!(
        sightings(&team).await,
        partial,
        "nothing synced meanwhile:\n{early_log}"
    );

    team.rows(
        "UPDATE email_accounts SET lease_expires_at = '2000-01-01T00:00:00.000000Z' \
         WHERE lease_holder IS NOT NULL",
    )
    .await;
    let restarted = Service::start(&env).await;
    wait_until(
        Duration::from_secs(120),
        "both mailboxes to sync",
        || async { synced(&team).await == 2 },
    )
    .await;
    drop(restarted);

    assert_eq!(sightings(&team).await, ALL_SIGHTINGS);
    let got = team.dump().await;
    assert_eq!(got.emails, expected.emails);
    assert_eq!(got.sightings, expected.sightings);
    assert_eq!(got.links, expected.links);
    assert_eq!(got.proposals, expected.proposals);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_sync_killed_with_sigkill_then_restarted_ends_as_an_undisturbed_run() {
    killed_mid_sync_then_restarted_ends_as_an_undisturbed_run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_sync_killed_with_sigkill_then_restarted_ends_as_an_undisturbed_run() {
    killed_mid_sync_then_restarted_ends_as_an_undisturbed_run(Backend::Postgres).await;
}

async fn ann_cursor(team: &CaptureTeam) -> Option<String> {
    let rows = team
        .rows("SELECT history_id FROM email_accounts WHERE email_address = 'ann@fund.com'")
        .await;
    rows[0]
        .try_get::<Option<String>>("", "history_id")
        .expect("a cursor column")
}

async fn an_incremental_sync_killed_then_restarted_ends_as_an_undisturbed_run(backend: Backend) {
    const EXTRA: usize = 120;
    let add_extra = |team: &CaptureTeam| {
        for n in BULK..BULK + EXTRA {
            team.google.add_message_with(ANN, bulk_message(n, ANN));
        }
    };
    let expected = {
        let team = seeded_team(backend).await;
        team.sync_both().await;
        add_extra(&team);
        team.sync_both().await;
        team.dump().await
    };
    let team = seeded_team(backend).await;
    team.sync_both().await;
    let before = sightings(&team).await;
    let cursor = ann_cursor(&team).await;
    assert!(cursor.is_some(), "the first sync stored a cursor");
    add_extra(&team);
    let env = team.service_env();

    let start = team.google.calls(Endpoint::MessagesGet);
    let mut first = Service::start(&env).await;
    wait_until(
        Duration::from_secs(60),
        "the incremental sync to fetch",
        || async { team.google.calls(Endpoint::MessagesGet) >= start + 20 },
    )
    .await;
    first.kill9();
    team.dead_sessions_gone(backend).await;

    let partial = sightings(&team).await - before;
    assert!(
        partial > 0 && partial < EXTRA as i64,
        "the killed run stored part of the new mail: {partial} of {EXTRA}"
    );
    assert_eq!(
        ann_cursor(&team).await,
        cursor,
        "the cursor did not move past uncommitted mail"
    );

    team.rows(
        "UPDATE email_accounts SET lease_expires_at = '2000-01-01T00:00:00.000000Z' \
         WHERE lease_holder IS NOT NULL",
    )
    .await;
    let restarted = Service::start(&env).await;
    wait_until(Duration::from_secs(120), "the new mail to sync", || async {
        synced(&team).await == 2 && ann_cursor(&team).await != cursor
    })
    .await;
    drop(restarted);

    assert_eq!(sightings(&team).await, before + EXTRA as i64);
    let got = team.dump().await;
    assert_eq!(got.emails, expected.emails);
    assert_eq!(got.sightings, expected.sightings);
    assert_eq!(got.links, expected.links);
    assert_eq!(got.proposals, expected.proposals);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_incremental_sync_killed_with_sigkill_then_restarted_ends_as_an_undisturbed_run()
{
    an_incremental_sync_killed_then_restarted_ends_as_an_undisturbed_run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_incremental_sync_killed_with_sigkill_then_restarted_ends_as_an_undisturbed_run()
 {
    an_incremental_sync_killed_then_restarted_ends_as_an_undisturbed_run(Backend::Postgres).await;
}
