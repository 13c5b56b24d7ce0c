//! One sync per mailbox: concurrent requests for the same mailbox, and the
//! scheduler beside them, never run two syncs of it at once (the store lease
//! keeps other replicas out; the in-process guard covers this one).

use std::time::Duration;

use mailroom_ports::AccountId;
use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{CaptureTeam, seed_mail, wait_until};
use mailroom_tests::fake_google::{Endpoint, FakeGoogleConfig, Fault};
use reqwest::StatusCode;

/// A team whose first Gmail profile call is held back for a while, so a
/// sync is reliably under way while the test sends more requests.
async fn team_with_a_slow_first_sync() -> CaptureTeam {
    let fake = FakeGoogleConfig {
        hang: Duration::from_secs(2),
        ..FakeGoogleConfig::default()
    };
    let team = CaptureTeam::start_with(Backend::Sqlite, fake, |c| c).await;
    seed_mail(&team.google);
    team.google.push_faults(Endpoint::Profile, [Fault::Hang]);
    team
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_concurrent_sync_requests_run_one_sync_and_the_others_get_409() {
    let team = team_with_a_slow_first_sync().await;
    let mailbox = team.ann_box;

    let first = team.sync_http(mailbox);
    let others = async {
        wait_until(
            Duration::from_secs(10),
            "the first sync to start",
            || async { team.google.calls(Endpoint::Profile) >= 1 },
        )
        .await;
        tokio::join!(team.sync_http(mailbox), team.sync_http(mailbox))
    };
    let ((first_status, first_body), ((s2, b2), (s3, b3))) = tokio::join!(first, others);

    assert_eq!(first_status, StatusCode::OK, "{first_body}");
    for (status, body) in [(s2, b2), (s3, b3)] {
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"], "sync_running", "{body}");
    }
    assert_eq!(
        team.google.calls(Endpoint::Profile),
        1,
        "Gmail saw one sync's requests"
    );
    assert_eq!(team.google.calls(Endpoint::MessagesList), 1);

    // Once the run is over, the mailbox syncs again (incrementally).
    let (status, body) = team.sync_http(mailbox).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["full"], false, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_skips_a_mailbox_a_request_is_syncing() {
    let team = team_with_a_slow_first_sync().await;
    let sync = team.app.state.sync.clone().expect("Gmail is configured");

    let request = team.sync_http(team.ann_box);
    let scheduler = async {
        wait_until(
            Duration::from_secs(10),
            "the request's sync to start",
            || async { team.google.calls(Endpoint::Profile) >= 1 },
        )
        .await;
        assert!(sync.is_running(AccountId(team.ann_box)));
        sync.run_once().await
    };
    let ((status, body), cycle) = tokio::join!(request, scheduler);

    assert_eq!(status, StatusCode::OK, "{body}");
    let synced: Vec<i64> = cycle.iter().map(|(id, _)| id.0).collect();
    assert_eq!(synced, vec![team.bob_box], "only Bob's mailbox was due");
    assert!(cycle[0].1.is_ok(), "{:?}", cycle[0].1);
    assert_eq!(
        team.google.calls(Endpoint::Profile),
        2,
        "one full sync per mailbox"
    );
}
