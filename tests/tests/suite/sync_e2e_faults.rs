//! R-CAP-2 under a misbehaving Gmail, end to end: with a fifth of Gmail's
//! answers failing, repeated sync cycles converge to what a clean run
//! stores; and a normal sync stays under Gmail's per-user quota.

use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{
    ANN, BOB, CaptureTeam, Mail, Seeded, THREAD_IDS, bulk_message, seed_mail,
};
use mailroom_tests::fake_google::{Endpoint, FakeGoogle, FakeGoogleConfig, Fault};
use reqwest::StatusCode;

/// Mail that arrives and is deleted after the first sync, the same in every fake.
fn change_mail(google: &FakeGoogle, seeded: &Seeded) {
    let follow_up = Mail {
        from: "lee@acme.com",
        to: &[ANN, BOB],
        cc: &[],
        subject: "Re: Fund IV allocation",
        message_id: "t1-4@acme.com",
        in_reply_to: Some(THREAD_IDS[2]),
        references: &THREAD_IDS,
        date: "2026-11-23T08:00:00Z",
        body: "Following up on the allocation.",
    }
    .render();
    google.add_message(ANN, follow_up.clone());
    google.add_message(BOB, follow_up);
    assert!(google.delete_message(ANN, &seeded.capital_call_ann.id));
    assert!(google.delete_message(BOB, &seeded.thread_bob[2].id));
}

/// Runs the scheduler's step until every mailbox synced cleanly; returns how
/// many cycles had a failed mailbox.
async fn cycles_until_clean(team: &CaptureTeam) -> usize {
    let sync = team.app.state.sync.as_ref().expect("sync is wired");
    for failed in 0..40 {
        let results = sync.run_once().await;
        assert_eq!(results.len(), 2, "both mailboxes are synced");
        if results.iter().all(|(_, r)| r.is_ok()) {
            return failed;
        }
    }
    panic!("the sync did not converge in 40 cycles");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_gmail_converges_to_the_state_of_a_clean_run() {
    let clean = CaptureTeam::start(Backend::Sqlite).await;
    let clean_seed = seed_mail(&clean.google);
    clean.sync_both().await;
    let clean_first = clean.dump().await;
    change_mail(&clean.google, &clean_seed);
    clean.sync_both().await;
    let clean_second = clean.dump().await;

    // One retry per call, so failures do reach the sync; 20% of calls fail.
    let flaky = CaptureTeam::start_with(
        Backend::Sqlite,
        FakeGoogleConfig {
            seed: 2024,
            ..FakeGoogleConfig::default()
        },
        |c| mailroom_adapters::gmail::GmailConfig {
            max_attempts: 2,
            ..c
        },
    )
    .await;
    let flaky_seed = seed_mail(&flaky.google);
    flaky.google.set_failure_rate(0.2);
    // Twice as many errors as fetches can be in flight (4 per mailbox):
    // some fetch meets one on both of its attempts, so the first cycle
    // fails, whatever the random draws.
    flaky.google.push_faults(
        Endpoint::MessagesGet,
        std::iter::repeat_n(Fault::Status(500), 16),
    );

    let failed_first = cycles_until_clean(&flaky).await;
    assert!(failed_first >= 1, "the first cycle hit the injected errors");
    assert_eq!(flaky.dump().await, clean_first);

    change_mail(&flaky.google, &flaky_seed);
    // Both attempts of both mailboxes' history calls.
    flaky.google.push_faults(
        Endpoint::HistoryList,
        std::iter::repeat_n(Fault::Status(429), 4),
    );
    let failed_second = cycles_until_clean(&flaky).await;
    assert!(failed_second >= 1, "the injected 429s stopped a cycle");
    assert_eq!(flaky.dump().await, clean_second);
    assert!(
        flaky.google.calls(Endpoint::MessagesGet) > clean.google.calls(Endpoint::MessagesGet),
        "failed fetches were repeated"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_sync_never_meets_gmails_per_user_rate_limit() {
    let team = CaptureTeam::start_with(
        Backend::Sqlite,
        FakeGoogleConfig {
            rate_limit: true,
            units_per_second: 250,
            ..FakeGoogleConfig::default()
        },
        |c| c,
    )
    .await;
    for n in 0..300 {
        team.google.add_message_with(ANN, bulk_message(n, ANN));
    }

    let (status, report) = team.sync_http(team.ann_box).await;

    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["captured"], 300, "{report}");
    // Every call the fake counted is one the sync needed: a 429 (or any
    // other failure) would have been retried and counted again.
    assert_eq!(team.google.calls(Endpoint::Profile), 1);
    assert_eq!(team.google.calls(Endpoint::MessagesList), 1);
    assert_eq!(team.google.calls(Endpoint::MessagesGet), 300);
}
