//! R-CAP-2 end to end: incremental sync from the stored historyId picks up
//! new mail and soft-deletes deleted mail per mailbox; an expired historyId
//! falls back to a full sync that duplicates nothing.

use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{
    ANN, BOB, CAPITAL_CALL_ID, CaptureTeam, Mail, THREAD_IDS, seed_mail,
};
use mailroom_tests::fake_google::{Endpoint, NewMessage};
use reqwest::StatusCode;
use serde_json::Value;

/// The activity list (one page is enough here), by subject.
async fn activity(team: &CaptureTeam) -> Vec<Value> {
    let (status, body) = team.get(ANN, "/api/email/activity?limit=200").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().expect("items").clone()
}

fn mailboxes_of(items: &[Value], subject: &str, sent_at_prefix: &str) -> Option<Vec<String>> {
    items
        .iter()
        .find(|i| {
            i["subject"] == subject
                && i["sent_at"]
                    .as_str()
                    .is_some_and(|s| s.starts_with(sent_at_prefix))
        })
        .map(|i| {
            let mut boxes: Vec<String> = i["mailboxes"]
                .as_array()
                .expect("mailboxes")
                .iter()
                .map(|m| m["email_address"].as_str().unwrap().to_string())
                .collect();
            boxes.sort();
            boxes
        })
}

fn lee_follow_up() -> Vec<u8> {
    Mail {
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
    .render()
}

async fn sighting_live(team: &CaptureTeam, dedup_key: &str) -> Vec<(String, bool)> {
    let rows = team
        .rows(&format!(
            "SELECT a.email_address, (s.deleted_at IS NULL) AS live FROM email_account_messages s \
             JOIN email_accounts a ON a.id = s.account_id JOIN emails e ON e.id = s.email_id \
             WHERE e.dedup_key = '{dedup_key}' ORDER BY a.email_address"
        ))
        .await;
    rows.iter()
        .map(|r| {
            (
                r.try_get::<String>("", "email_address").unwrap(),
                r.try_get::<bool>("", "live").unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_sync_captures_new_mail_and_soft_deletes_deleted_mail() {
    let team = CaptureTeam::start(Backend::Sqlite).await;
    let seeded = seed_mail(&team.google);
    team.sync_both().await;
    let before = activity(&team).await;
    assert!(mailboxes_of(&before, "Q3 capital call", "2024").is_some());
    let emails_before = team.count("SELECT COUNT(*) FROM emails").await;

    // New mail in both mailboxes, in the existing threads.
    let follow_up = lee_follow_up();
    for (mailbox, thread) in [
        (ANN, &seeded.thread_ann[0].thread_id),
        (BOB, &seeded.thread_bob[0].thread_id),
    ] {
        team.google.add_message_with(
            mailbox,
            NewMessage {
                thread_id: Some(thread.clone()),
                ..NewMessage::new(follow_up.clone())
            },
        );
    }
    // Deleted from every mailbox that held it, and from one of two.
    assert!(team.google.delete_message(ANN, &seeded.capital_call_ann.id));
    assert!(team.google.delete_message(BOB, &seeded.capital_call_bob.id));
    assert!(team.google.delete_message(ANN, &seeded.thread_ann[0].id));
    // Added and deleted between two syncs: never fetched.
    let fleeting = team.google.add_message(
        ANN,
        Mail {
            from: "lee@acme.com",
            to: &[ANN],
            cc: &[],
            subject: "Oops",
            message_id: "fleeting@acme.com",
            in_reply_to: None,
            references: &[],
            date: "2026-11-23T09:00:00Z",
            body: "Sent too early.",
        }
        .render(),
    );
    assert!(team.google.delete_message(ANN, &fleeting.id));
    let gets_before = team.google.calls(Endpoint::MessagesGet);

    let [ann, bob] = team.sync_both().await;

    assert_eq!(ann["full"], false, "{ann}");
    assert_eq!(ann["fetched"], 1, "{ann}");
    assert_eq!(bob["fetched"], 1, "{bob}");
    assert_eq!(team.google.calls(Endpoint::MessagesGet), gets_before + 2);
    assert_eq!(
        team.count("SELECT COUNT(*) FROM emails").await,
        emails_before + 1,
        "the follow-up is one email however many mailboxes saw it"
    );

    let after = activity(&team).await;
    assert_eq!(
        mailboxes_of(&after, "Q3 capital call", "2024"),
        None,
        "deleted from every mailbox: no longer activity"
    );
    assert_eq!(
        mailboxes_of(&after, "Fund IV allocation", "2026-11-20T09"),
        Some(vec![BOB.to_string()]),
        "one live sighting keeps the email listed"
    );
    assert_eq!(
        mailboxes_of(&after, "Re: Fund IV allocation", "2026-11-23"),
        Some(vec![ANN.to_string(), BOB.to_string()])
    );
    assert_eq!(after.len(), before.len(), "one gone, one new");

    // Soft delete lives on the sighting; the email row stays.
    assert_eq!(
        sighting_live(&team, CAPITAL_CALL_ID).await,
        vec![(ANN.to_string(), false), (BOB.to_string(), false)]
    );
    assert_eq!(
        sighting_live(&team, THREAD_IDS[0]).await,
        vec![(ANN.to_string(), false), (BOB.to_string(), true)]
    );
    assert_eq!(
        team.count("SELECT COUNT(*) FROM emails WHERE dedup_key = 'fleeting@acme.com'")
            .await,
        0
    );

    // The account list counts live sightings only.
    let (_, accounts) = team.get(ANN, "/api/email/accounts").await;
    let count = |address: &str| {
        accounts["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["email_address"] == address)
            .map(|a| a["message_count"].as_u64().unwrap())
    };
    assert_eq!(count(ANN), Some(13 - 2 + 1));
    assert_eq!(count(BOB), Some(6 - 1 + 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_history_id_falls_back_to_a_full_sync_without_duplicates() {
    let team = CaptureTeam::start(Backend::Sqlite).await;
    seed_mail(&team.google);
    team.sync_both().await;
    let counts = || async {
        (
            team.count("SELECT COUNT(*) FROM emails").await,
            team.count("SELECT COUNT(*) FROM email_account_messages")
                .await,
            team.count("SELECT COUNT(*) FROM email_investor_links")
                .await,
            team.count("SELECT COUNT(*) FROM activity_proposals").await,
        )
    };
    let before = counts().await;
    team.google.add_message(ANN, lee_follow_up());
    team.google.expire_history(ANN);
    let lists_before = team.google.calls(Endpoint::MessagesList);
    // The malformed message's first retry is due an hour after it failed.
    team.app.clock.advance(jiff::SignedDuration::from_hours(1));

    let (status, ann) = team.sync_http(team.ann_box).await;

    assert_eq!(status, StatusCode::OK, "{ann}");
    assert_eq!(ann["full"], true, "{ann}");
    // Known messages are not downloaded again. The malformed one has no
    // sighting and its retry is due, so a full sync tries it again and
    // records it again.
    assert_eq!(ann["fetched"], 2, "{ann}");
    assert_eq!(ann["captured"], 1, "{ann}");
    assert_eq!(ann["errors"], 1, "{ann}");
    assert_eq!(
        team.count("SELECT COUNT(*) FROM capture_errors WHERE occurrences = 2")
            .await,
        1
    );
    assert_eq!(team.google.calls(Endpoint::MessagesList), lists_before + 1);
    assert_eq!(
        counts().await,
        (before.0 + 1, before.1 + 1, before.2 + 1, before.3 + 1),
        "one new email, sighting, link and proposal; nothing duplicated"
    );
    let (_, accounts) = team.get(ANN, "/api/email/accounts").await;
    let ann_account = accounts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email_address"] == ANN)
        .unwrap()
        .clone();
    assert_eq!(ann_account["history_id"], team.google.history_id(ANN));
    assert_eq!(ann_account["sync_state"], "idle");

    // The new cursor works: the next run is incremental again.
    let (status, again) = team.sync_http(team.ann_box).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["full"], false, "{again}");
    assert_eq!(counts().await.0, before.0 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_made_while_the_history_was_expired_is_still_applied() {
    let team = CaptureTeam::start(Backend::Sqlite).await;
    let seeded = seed_mail(&team.google);
    team.sync_both().await;
    let live = |id: String| {
        let team = &team;
        async move {
            team.count(&format!(
                "SELECT COUNT(*) FROM email_account_messages \
                 WHERE gmail_message_id = '{id}' AND deleted_at IS NULL"
            ))
            .await
        }
    };
    assert_eq!(live(seeded.ann_only.id.clone()).await, 1);
    let still_there = seeded.thread_ann[0].id.clone();

    // The message is deleted, and the history that would report it expires.
    assert!(team.google.delete_message(ANN, &seeded.ann_only.id));
    team.google.expire_history(ANN);
    let (status, ann) = team.sync_http(team.ann_box).await;

    assert_eq!(status, StatusCode::OK, "{ann}");
    assert_eq!(ann["full"], true, "{ann}");
    assert_eq!(
        live(seeded.ann_only.id.clone()).await,
        0,
        "the deleted message's sighting is soft-deleted"
    );
    assert_eq!(
        live(still_there).await,
        1,
        "messages Gmail still has stay live"
    );
}
