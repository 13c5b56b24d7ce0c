//! R-CAP-2/3/5/6 end to end: a first sync of two mailboxes through the real
//! wiring and the HTTP API captures every message once, stores matched mail
//! in full and unmatched mail as metadata only, and skips a malformed message.

use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{
    ANN, CAPITAL_CALL_ID, COLD_ID, CaptureTeam, FREEMAIL_ID, LATIN1_ID, MUNICH,
    SEEDED_ANN_SIGHTINGS, SEEDED_BOB_SIGHTINGS, SEEDED_EMAILS, SEEDED_MATCHED, THREAD_IDS,
    seed_mail,
};
use reqwest::StatusCode;

async fn column(team: &CaptureTeam, dedup_key: &str, column: &str) -> Option<String> {
    let rows = team
        .rows(&format!(
            "SELECT {column} FROM emails WHERE dedup_key = '{dedup_key}'"
        ))
        .await;
    assert_eq!(rows.len(), 1, "one email {dedup_key}");
    rows[0]
        .try_get::<Option<String>>("", column)
        .expect("a text column")
}

async fn first_sync_captures_every_message_once(backend: Backend) {
    let team = CaptureTeam::start(backend).await;
    let seeded = seed_mail(&team.google);

    let [ann, bob] = team.sync_both().await;

    assert_eq!(ann["fetched"], 14, "{ann}");
    assert_eq!(ann["captured"], 13, "{ann}");
    assert_eq!(ann["matched"], 11, "{ann}");
    assert_eq!(ann["errors"], 1, "the malformed message: {ann}");
    assert_eq!(ann["full"], true, "{ann}");
    assert_eq!(bob["fetched"], 6, "{bob}");
    assert_eq!(bob["captured"], 6, "{bob}");
    assert_eq!(bob["matched"], 5, "{bob}");
    assert_eq!(bob["errors"], 0, "{bob}");

    // One `emails` row per message, one sighting per mailbox that holds it.
    assert_eq!(
        team.count("SELECT COUNT(*) FROM emails").await,
        SEEDED_EMAILS
    );
    let sightings = |account: i64| {
        format!("SELECT COUNT(*) FROM email_account_messages WHERE account_id = {account}")
    };
    assert_eq!(
        team.count(&sightings(team.ann_box)).await,
        SEEDED_ANN_SIGHTINGS
    );
    assert_eq!(
        team.count(&sightings(team.bob_box)).await,
        SEEDED_BOB_SIGHTINGS
    );
    assert_eq!(
        team.count(
            "SELECT COUNT(*) FROM (SELECT email_id FROM email_account_messages \
             GROUP BY email_id HAVING COUNT(*) = 2) shared"
        )
        .await,
        5,
        "the thread, the capital call and the Message-ID-less message are in both mailboxes"
    );
    assert_eq!(
        team.count(
            "SELECT COUNT(*) FROM (SELECT account_id, email_id FROM email_account_messages \
             GROUP BY account_id, email_id HAVING COUNT(*) > 1) twice"
        )
        .await,
        0
    );

    // Bob's reply is outbound in Bob's mailbox and inbound mail in Ann's.
    let reply_sightings = team
        .rows(&format!(
            "SELECT s.account_id, s.is_sent FROM email_account_messages s \
             JOIN emails e ON e.id = s.email_id WHERE e.dedup_key = '{}' ORDER BY s.account_id",
            THREAD_IDS[1]
        ))
        .await;
    let sent: Vec<(i64, bool)> = reply_sightings
        .iter()
        .map(|r| {
            (
                r.try_get::<i64>("", "account_id").unwrap(),
                r.try_get::<bool>("", "is_sent").unwrap(),
            )
        })
        .collect();
    assert_eq!(sent, vec![(team.ann_box, false), (team.bob_box, true)]);

    // Matched-only full storage (R-CAP-5): unmatched mail keeps its header only.
    assert_eq!(
        team.count(
            "SELECT COUNT(*) FROM emails e WHERE EXISTS \
             (SELECT 1 FROM email_investor_links l WHERE l.email_id = e.id)"
        )
        .await,
        SEEDED_MATCHED
    );
    for key in [COLD_ID, FREEMAIL_ID, LATIN1_ID] {
        for content in ["subject", "snippet", "body", "attachments_json"] {
            assert_eq!(
                column(&team, key, content).await,
                None,
                "{content} of unmatched {key}"
            );
        }
        assert!(
            column(&team, key, "from_email").await.is_some(),
            "{key} keeps its sender"
        );
        assert!(column(&team, key, "sent_at").await.is_some());
    }
    assert_eq!(
        team.count(
            "SELECT COUNT(*) FROM emails e WHERE NOT EXISTS \
             (SELECT 1 FROM email_investor_links l WHERE l.email_id = e.id) \
             AND (subject IS NOT NULL OR snippet IS NOT NULL OR body IS NOT NULL \
             OR attachments_json IS NOT NULL)"
        )
        .await,
        0,
        "no unmatched email has content"
    );

    // Matched mail is stored in full, whatever its MIME shape or charset.
    let capital_call = column(&team, CAPITAL_CALL_ID, "body").await.unwrap();
    assert!(capital_call.contains("wire on Friday"), "{capital_call}");
    assert_eq!(
        column(&team, CAPITAL_CALL_ID, "subject").await.as_deref(),
        Some("Q3 capital call")
    );
    let html = column(&team, "html-only-1@investor.com", "body")
        .await
        .unwrap();
    assert!(html.contains("Revenue grew"), "{html}");
    assert!(!html.contains("<p>"), "HTML is converted to text: {html}");
    let cp1252 = column(&team, "cp1252-1@investor.com", "body")
        .await
        .unwrap();
    assert!(cp1252.contains('€') && cp1252.contains('“'), "{cp1252}");
    let attachments = column(&team, "attach-1@investor.com", "attachments_json")
        .await
        .unwrap();
    assert!(attachments.contains("side-letter.pdf"), "{attachments}");
    assert_eq!(
        column(&team, "encoded-1@investor.de", "subject")
            .await
            .as_deref(),
        Some("Grüße aus München — Q3")
    );
    assert_eq!(
        team.count(&format!(
            "SELECT COUNT(*) FROM email_investor_links l JOIN emails e ON e.id = l.email_id \
             WHERE e.dedup_key = 'encoded-1@investor.de' AND l.investor_id = {MUNICH} \
             AND l.contact_id = 30"
        ))
        .await,
        1,
        "a contact's address links the contact and its investor"
    );
    assert!(
        column(&team, "broken-1@investor.com", "subject")
            .await
            .is_some(),
        "broken MIME is captured as far as it parses"
    );
    let fingerprinted = team
        .rows(
            "SELECT e.dedup_key, e.message_id, COUNT(s.id) AS seen FROM emails e \
             JOIN email_account_messages s ON s.email_id = e.id \
             WHERE e.dedup_key LIKE 'sha256:%' GROUP BY e.dedup_key, e.message_id",
        )
        .await;
    assert_eq!(fingerprinted.len(), 1, "one email without a Message-ID");
    assert_eq!(
        fingerprinted[0]
            .try_get::<Option<String>>("", "message_id")
            .unwrap(),
        None
    );
    assert_eq!(fingerprinted[0].try_get::<i64>("", "seen").unwrap(), 2);

    // The malformed message is a recorded per-message error; the sync completed.
    let errors = team
        .rows(&format!(
            "SELECT gmail_message_id, error FROM capture_errors WHERE account_id = {}",
            team.ann_box
        ))
        .await;
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].try_get::<String>("", "gmail_message_id").unwrap(),
        seeded.malformed.id
    );
    assert_eq!(
        errors[0].try_get::<String>("", "error").unwrap(),
        "message is malformed"
    );
    let (status, accounts) = team.get(ANN, "/api/email/accounts").await;
    assert_eq!(status, StatusCode::OK);
    for account in accounts["items"].as_array().unwrap() {
        assert_eq!(account["sync_state"], "idle", "{account}");
        assert!(account["history_id"].is_string(), "{account}");
    }

    // The activity search shows the matched mail, each email once.
    let (status, activity) = team.get(ANN, "/api/email/activity?limit=200").await;
    assert_eq!(status, StatusCode::OK, "{activity}");
    let items = activity["items"].as_array().unwrap();
    assert_eq!(items.len() as i64, SEEDED_MATCHED, "{activity}");
    let thread_opener = items
        .iter()
        .find(|i| i["subject"] == "Fund IV allocation")
        .expect("the thread's first message");
    assert_eq!(thread_opener["mailboxes"].as_array().unwrap().len(), 2);
    assert!(
        items
            .iter()
            .all(|i| i["subject"] != "Partnership opportunity"),
        "cold mail is not activity"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sync_captures_every_message_once_on_sqlite() {
    first_sync_captures_every_message_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sync_captures_every_message_once_on_postgres() {
    first_sync_captures_every_message_once(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncing_again_with_nothing_new_fetches_nothing_and_changes_nothing() {
    let team = CaptureTeam::start(Backend::Sqlite).await;
    seed_mail(&team.google);
    team.sync_both().await;
    let before = team.dump().await;
    let gets = team
        .google
        .calls(mailroom_tests::fake_google::Endpoint::MessagesGet);

    let [ann, bob] = team.sync_both().await;

    assert_eq!(ann["fetched"], 0, "{ann}");
    assert_eq!(ann["full"], false, "the second run is incremental: {ann}");
    assert_eq!(bob["fetched"], 0, "{bob}");
    assert_eq!(
        team.google
            .calls(mailroom_tests::fake_google::Endpoint::MessagesGet),
        gets
    );
    assert_eq!(team.dump().await, before);
}
