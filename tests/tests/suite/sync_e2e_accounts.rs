//! docs/requirements.md HTTP API to end: `GET /api/email/accounts` shows each
//! mailbox's sync state, cursor, live message count and last error, and the
//! error is a fixed, redacted text (R-HARD-4): no token, assertion or
//! upstream body reaches the API.

use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{
    ANN, BOB, CaptureTeam, SEEDED_ANN_SIGHTINGS, SEEDED_BOB_SIGHTINGS, seed_mail,
};
use mailroom_tests::fake_google::{Endpoint, Fault};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn accounts(team: &CaptureTeam) -> (String, Vec<Value>) {
    let (status, body) = team.get(ANN, "/api/email/accounts").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        body.to_string(),
        body["items"].as_array().expect("a list").clone(),
    )
}

fn find<'a>(list: &'a [Value], address: &str) -> &'a Value {
    list.iter()
        .find(|a| a["email_address"] == address)
        .unwrap_or_else(|| panic!("no mailbox {address}"))
}

/// No secret and no upstream text in what the API showed.
fn assert_redacted(team: &CaptureTeam, text: &str) {
    for forbidden in [
        "ya29.",
        "Bearer",
        "eyJ",
        "Invalid Credentials",
        "Backend Error",
    ] {
        assert!(!text.contains(forbidden), "{forbidden} leaked: {text}");
    }
    for assertion in team.google.assertions() {
        assert!(!text.contains(&assertion), "an assertion leaked: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mailbox_list_shows_sync_state_counts_and_a_redacted_last_error() {
    let team = CaptureTeam::start(Backend::Sqlite).await;
    let (_, fresh) = accounts(&team).await;
    assert_eq!(find(&fresh, ANN)["sync_state"], "new");
    assert_eq!(find(&fresh, ANN)["history_id"], Value::Null);
    assert_eq!(find(&fresh, ANN)["user_email"], ANN);
    seed_mail(&team.google);
    team.sync_both().await;

    let (_, synced) = accounts(&team).await;
    let ann = find(&synced, ANN);
    assert_eq!(ann["sync_state"], "idle", "{ann}");
    assert_eq!(ann["enabled"], true);
    assert_eq!(ann["history_id"], team.google.history_id(ANN));
    assert_eq!(ann["message_count"], SEEDED_ANN_SIGHTINGS);
    assert_eq!(ann["last_error"], Value::Null);
    assert_eq!(ann["last_synced_at"], "2026-11-24T12:00:00Z");
    assert_eq!(find(&synced, BOB)["message_count"], SEEDED_BOB_SIGHTINGS);

    // Google refuses every token (delegation revoked) for Ann's sync, and
    // answers 500 to every history call of Bob's.
    team.google.reject_all_tokens(true);
    let (status, body) = team.sync_http(team.ann_box).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(body["error"], "gmail_failed", "{body}");
    assert_redacted(&team, &body.to_string());
    team.google.reject_all_tokens(false);
    team.google.push_faults(
        Endpoint::HistoryList,
        std::iter::repeat_n(Fault::Status(500), 4),
    );
    let (status, body) = team.sync_http(team.bob_box).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_redacted(&team, &body.to_string());

    let (text, failed) = accounts(&team).await;
    assert_redacted(&team, &text);
    let ann = find(&failed, ANN);
    assert_eq!(ann["sync_state"], "error", "{ann}");
    assert_eq!(
        ann["last_error"],
        "domain-wide delegation is not granted for this service account or scope"
    );
    assert_eq!(
        ann["history_id"],
        find(&synced, ANN)["history_id"],
        "the cursor did not move"
    );
    assert_eq!(
        ann["message_count"], SEEDED_ANN_SIGHTINGS,
        "nothing was lost"
    );
    assert_eq!(ann["last_synced_at"], "2026-11-24T12:00:00Z");
    let bob = find(&failed, BOB);
    assert_eq!(bob["sync_state"], "error", "{bob}");
    assert_eq!(bob["last_error"], "Gmail is unavailable");

    // The next good run clears the error.
    team.sync_both().await;
    let (_, recovered) = accounts(&team).await;
    for address in [ANN, BOB] {
        let a = find(&recovered, address);
        assert_eq!(a["sync_state"], "idle", "{a}");
        assert_eq!(a["last_error"], Value::Null, "{a}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_mailbox_is_listed_as_such_and_not_synced() {
    let team = CaptureTeam::start(Backend::Sqlite).await;
    seed_mail(&team.google);
    let request = team
        .app
        .http
        .patch(
            team.app
                .url(&format!("/api/email/accounts/{}", team.bob_box)),
        )
        .bearer_auth(team.app.token(ANN))
        .json(&json!({"enabled": false}));
    let response = request.send().await.expect("the app answers");
    assert_eq!(response.status(), StatusCode::OK);

    let (status, _) = team.sync_http(team.bob_box).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let results = team
        .app
        .state
        .sync
        .as_ref()
        .expect("sync is wired")
        .run_once()
        .await;

    assert_eq!(results.len(), 1, "only Ann's mailbox is synced");
    let (_, list) = accounts(&team).await;
    let bob = find(&list, BOB);
    assert_eq!(bob["enabled"], false);
    assert_eq!(bob["sync_state"], "new");
    assert_eq!(bob["message_count"], 0);
    assert_eq!(find(&list, ANN)["sync_state"], "idle");
}
