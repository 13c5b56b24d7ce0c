//! The read side over mail captured by the real sync (fake Gmail on
//! loopback), on SQLite and PostgreSQL: attachment names kept for matched
//! mail, the thread as Gmail groups it per mailbox, direction per mailbox,
//! and capture errors that carry a fixed text, never the message.

use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{
    ACME, ANN, BOB, COLD_ID, CaptureTeam, INVESTOR_CO, LEE, THREAD_IDS, seed_mail,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn synced(backend: Backend) -> (CaptureTeam, mailroom_tests::capture_team::Seeded) {
    let team = CaptureTeam::start(backend).await;
    let seeded = seed_mail(&team.google);
    team.sync_both().await;
    (team, seeded)
}

async fn detail(team: &CaptureTeam, dedup_key: &str) -> (StatusCode, Value) {
    let id = team.email_id(dedup_key).await;
    team.get(ANN, &format!("/api/email/activity/{id}")).await
}

async fn synced_mail_reads_back_in_full(backend: Backend) {
    let (team, seeded) = synced(backend).await;

    // Attachments: names (decoded), types and sizes; never the bytes.
    let (status, letter) = detail(&team, "attach-1@investor.com").await;
    assert_eq!(status, StatusCode::OK, "{letter}");
    let attachments: Vec<(Value, Value)> = letter["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].clone(), a["content_type"].clone()))
        .collect();
    assert_eq!(
        attachments,
        vec![
            (json!("side-letter.pdf"), json!("application/pdf")),
            (json!("écusson.png"), json!("image/png")),
        ]
    );
    assert!(
        letter["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["size"].as_u64().unwrap() > 0)
    );
    assert!(
        !letter.to_string().contains("JVBERi0"),
        "no bytes: {letter}"
    );
    assert_eq!(letter["investors"][0]["id"], INVESTOR_CO);
    assert_eq!(letter["investors"][0]["contacts"], json!([]));

    // The thread: Bob's reply, sent from his mailbox, received in Ann's.
    let (status, reply) = detail(&team, THREAD_IDS[1]).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["direction"], "outbound");
    let per_mailbox: Vec<(Value, Value, Value)> = reply["mailboxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["email_address"].clone(),
                m["is_sent"].clone(),
                m["direction"].clone(),
            )
        })
        .collect();
    assert_eq!(
        per_mailbox,
        vec![
            (json!(ANN), json!(false), json!("inbound")),
            (json!(BOB), json!(true), json!("outbound")),
        ]
    );
    let first = team.email_id(THREAD_IDS[0]).await;
    let last = team.email_id(THREAD_IDS[2]).await;
    let neighbours: Vec<&Value> = reply["thread"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["email_id"])
        .collect();
    assert_eq!(neighbours, vec![&json!(last), &json!(first)]);
    assert_eq!(reply["thread_id"], seeded.thread_ann[1].thread_id.as_str());
    let lee = &reply["investors"][0];
    assert_eq!(lee["id"], ACME);
    assert_eq!(
        lee["contacts"],
        json!([{"id": LEE, "name": "Lee Park", "email": "lee@acme.com"}])
    );

    // Unmatched mail is metadata only: no detail to show.
    let (status, body) = detail(&team, COLD_ID).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // The malformed message in Ann's mailbox is a capture error with a fixed
    // text; Bob's mailbox has none.
    let (status, errors) = team
        .get(ANN, &format!("/api/email/accounts/{}/errors", team.ann_box))
        .await;
    assert_eq!(status, StatusCode::OK, "{errors}");
    assert_eq!(errors["next_cursor"], Value::Null);
    let items = errors["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{errors}");
    assert_eq!(items[0]["gmail_message_id"], seeded.malformed.id.as_str());
    assert_eq!(items[0]["error"], "message is malformed");
    assert!(!errors.to_string().contains("just a line"), "{errors}");
    let (_, bobs) = team
        .get(ANN, &format!("/api/email/accounts/{}/errors", team.bob_box))
        .await;
    assert_eq!(bobs["items"], json!([]));
    let (status, _) = team.get(BOB, "/api/email/accounts/1/errors").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

mod synced_mail_reads_back_in_full {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::synced_mail_reads_back_in_full(mailroom_tests::app::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::synced_mail_reads_back_in_full(mailroom_tests::app::Backend::Postgres).await;
    }
}
