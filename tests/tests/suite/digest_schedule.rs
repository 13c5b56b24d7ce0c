//! The digest scheduler (R-DIG-4) through the real store and the outbox
//! transport, driven by the test clock: no sleeping.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use mailroom_app::state::AppState;
use mailroom_domain::digest::service::ScheduleOutcome;
use mailroom_ports::records::Role;
use mailroom_tests::app::{Backend, TestClock, build_state, spawn_app_with, test_config};
use mailroom_tests::db::TestDb;
use serde_json::json;

fn eml_count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
        .unwrap_or(0)
}

async fn enable(state: &AppState, hour: i64) {
    state
        .store
        .put_setting("digest_policy", json!({"enabled": true, "send_hour": hour}))
        .await
        .unwrap();
}

async fn add_admin(state: &AppState) {
    let update = serde_json::from_value(json!({
        "users": [{"email": "admin@fund.com", "display_name": "Admin", "role": "admin", "is_active": true}]
    }))
    .unwrap();
    state.store.upsert_directory(update).await.unwrap();
}

#[tokio::test]
async fn the_scheduler_sends_once_a_day_at_the_hour_and_only_when_enabled() {
    let app = spawn_app_with(Backend::Sqlite, &[("CRM_TIMEZONE", "America/New_York")]).await;
    app.add_users(&[("admin@fund.com", Role::Admin, true)])
        .await;
    let digest = &app.state.digest;
    // 17:00 in New York on 24 Nov 2026 (UTC-5).
    app.clock.set("2026-11-24T22:00:00Z".parse().unwrap());
    assert!(matches!(
        digest.run_once().await.unwrap(),
        ScheduleOutcome::Disabled
    ));
    enable(&app.state, 18).await;
    assert!(matches!(
        digest.run_once().await.unwrap(),
        ScheduleOutcome::NotYet
    ));
    assert_eq!(eml_count(app.outbox.path()), 0);

    app.clock.set("2026-11-24T23:00:00Z".parse().unwrap()); // 18:00 local
    assert!(matches!(
        digest.run_once().await.unwrap(),
        ScheduleOutcome::Sent { .. }
    ));
    assert_eq!(eml_count(app.outbox.path()), 1);
    let state = app.state.store.digest_state().await.unwrap();
    assert_eq!(
        state.last_sent_at,
        Some("2026-11-24T23:00:00Z".parse::<Timestamp>().unwrap())
    );
    assert_eq!(state.last_sent_date.unwrap().to_string(), "2026-11-24");

    app.clock.set("2026-11-25T04:30:00Z".parse().unwrap()); // 23:30 local, same day
    assert!(matches!(
        digest.run_once().await.unwrap(),
        ScheduleOutcome::AlreadySent
    ));
    assert_eq!(eml_count(app.outbox.path()), 1);
}

#[tokio::test]
async fn two_missed_days_roll_into_one_digest_covering_both() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    app.add_users(&[("admin@fund.com", Role::Admin, true)])
        .await;
    enable(&app.state, 18).await;
    app.clock.set("2026-11-20T18:05:00Z".parse().unwrap());
    assert!(matches!(
        app.state.digest.run_once().await.unwrap(),
        ScheduleOutcome::Sent { .. }
    ));
    // The service was down for two days; it comes back on the 23rd at 19:00.
    app.clock.set("2026-11-23T19:00:00Z".parse().unwrap());
    match app.state.digest.run_once().await.unwrap() {
        ScheduleOutcome::Sent { since, until, .. } => {
            assert_eq!(since, "2026-11-20T18:05:00Z".parse::<Timestamp>().unwrap());
            assert_eq!(until, "2026-11-23T19:00:00Z".parse::<Timestamp>().unwrap());
        }
        other => panic!("expected one catch-up digest, got {other:?}"),
    }
    assert_eq!(eml_count(app.outbox.path()), 2);
}

#[tokio::test]
async fn a_failed_send_keeps_the_cursor_and_is_retried_later_not_every_minute() {
    let db = TestDb::sqlite().await;
    let parent = tempfile::tempdir().unwrap();
    // A regular file where the outbox folder should be: every send fails.
    let outbox = parent.path().join("outbox");
    std::fs::write(&outbox, b"not a folder").unwrap();
    let config = test_config(&db.url, &outbox, &[]);
    let clock = TestClock::new("2026-11-24T18:00:00Z".parse().unwrap());
    let state = build_state(&config, clock.clone(), "replica-a").await;
    add_admin(&state).await;
    enable(&state, 18).await;

    assert!(matches!(
        state.digest.run_once().await.unwrap(),
        ScheduleOutcome::Failed { .. }
    ));
    assert_eq!(
        state.store.digest_state().await.unwrap().last_sent_at,
        None,
        "a failed send moves no cursor"
    );
    clock.advance(SignedDuration::from_mins(1));
    assert!(
        !matches!(
            state.digest.run_once().await.unwrap(),
            ScheduleOutcome::Sent { .. } | ScheduleOutcome::Failed { .. }
        ),
        "no retry a minute later: the backoff holds it"
    );

    std::fs::remove_file(&outbox).unwrap();
    std::fs::create_dir(&outbox).unwrap();
    clock.advance(SignedDuration::from_hours(3));
    assert!(matches!(
        state.digest.run_once().await.unwrap(),
        ScheduleOutcome::Sent { .. }
    ));
    assert_eq!(eml_count(&outbox), 1);
    assert!(
        state
            .store
            .digest_state()
            .await
            .unwrap()
            .last_sent_at
            .is_some()
    );
}

#[tokio::test]
async fn two_replicas_on_one_postgres_send_exactly_once_a_day_for_a_week() {
    let db = TestDb::postgres().await;
    let outbox = tempfile::tempdir().unwrap();
    let config = test_config(
        &db.url,
        outbox.path(),
        &[("CRM_TIMEZONE", "America/New_York")],
    );
    // Midnight on 1 Nov 2026 in New York (EDT), the day clocks fall back.
    let clock = TestClock::new("2026-11-01T04:00:00Z".parse().unwrap());
    let a = build_state(&config, clock.clone(), "replica-a").await;
    let b = build_state(&config, clock.clone(), "replica-b").await;
    add_admin(&a).await;
    enable(&a, 18).await;

    let start: Timestamp = "2026-11-01T04:00:00Z".parse().unwrap();
    let end = start + SignedDuration::from_hours(24 * 7);
    let mut sends = 0;
    while clock.now_for_test() < end {
        let (ra, rb) = tokio::join!(a.digest.run_once(), b.digest.run_once());
        for r in [ra, rb] {
            if matches!(r.unwrap(), ScheduleOutcome::Sent { .. }) {
                sends += 1;
            }
        }
        clock.advance(SignedDuration::from_mins(20));
    }
    assert_eq!(
        sends, 7,
        "one digest per local day, whichever replica sends it"
    );
    assert_eq!(eml_count(outbox.path()), 7);
    let _keep: Arc<TestClock> = clock;
}
