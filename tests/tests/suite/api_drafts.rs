//! R-DRAFT-1..3 over HTTP, on mail captured through the real sync:
//! `POST /api/email/drafts` creates an in-thread Gmail draft in the mailbox
//! that holds the email, with threading headers, a `Re:` subject and the
//! reply (or reply-all) recipients minus our own addresses, and nothing is
//! ever sent.

use mail_parser::{Address, HeaderValue, MessageParser};
use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{
    ANN, ANN_ONLY_ID, BOB, CAPITAL_CALL_ID, CaptureTeam, Seeded, THREAD_IDS, seed_mail,
};
use mailroom_tests::fake_google::{Endpoint, FakeDraft};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn synced_team() -> (CaptureTeam, Seeded) {
    let team = CaptureTeam::start(Backend::Sqlite).await;
    let seeded = seed_mail(&team.google);
    team.sync_both().await;
    (team, seeded)
}

async fn draft(team: &CaptureTeam, user: &str, body: Value) -> (StatusCode, Value) {
    team.post(user, "/api/email/drafts", body).await
}

/// The headers of a draft as Gmail stored it.
struct DraftHeaders {
    from: Vec<String>,
    to: Vec<String>,
    cc: Vec<String>,
    subject: String,
    in_reply_to: Vec<String>,
    references: Vec<String>,
    body: String,
}

fn headers(draft: &FakeDraft) -> DraftHeaders {
    let message = MessageParser::default()
        .parse(&draft.raw)
        .expect("the draft is a message");
    let addresses = |a: Option<&Address>| -> Vec<String> {
        a.map(|a| {
            a.iter()
                .filter_map(|x| x.address())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
    };
    let ids = |v: &HeaderValue| -> Vec<String> {
        match v {
            HeaderValue::Text(t) => vec![t.to_string()],
            HeaderValue::TextList(list) => list.iter().map(|t| t.to_string()).collect(),
            _ => Vec::new(),
        }
    };
    DraftHeaders {
        from: addresses(message.from()),
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        subject: message.subject().unwrap_or_default().to_string(),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        body: message.body_text(0).unwrap_or_default().to_string(),
    }
}

fn assert_nothing_sent(team: &CaptureTeam) {
    assert_eq!(team.google.calls(Endpoint::MessagesSend), 0);
    assert!(team.google.sent(ANN).is_empty());
    assert!(team.google.sent(BOB).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_draft_is_created_in_the_thread_of_the_callers_mailbox() {
    let (team, seeded) = synced_team().await;
    let email = team.email_id(THREAD_IDS[2]).await;

    let (status, body) = draft(
        &team,
        BOB,
        json!({"email_id": email, "body": "Monday at 10 works for me."}),
    )
    .await;

    assert_eq!(status, StatusCode::CREATED, "{body}");
    let bob_thread = &seeded.thread_bob[0].thread_id;
    assert_eq!(body["thread_id"], bob_thread.as_str());
    assert_eq!(body["to"], json!(["lee@acme.com"]));
    assert_eq!(body["cc"], json!([]));
    assert_eq!(
        body["subject"], "Re: Fund IV allocation",
        "one Re: however deep the thread"
    );
    let drafts = team.google.drafts(BOB);
    assert_eq!(drafts.len(), 1);
    assert!(
        team.google.drafts(ANN).is_empty(),
        "drafted in Bob's mailbox"
    );
    let created = &drafts[0];
    assert_eq!(body["gmail_draft_id"], created.id.as_str());
    assert_eq!(
        body["gmail_message_id"],
        created.message_id.as_str(),
        "the draft's message id, which Gmail's web UI opens the draft by"
    );
    assert_eq!(
        created.requested_thread_id.as_deref(),
        Some(bob_thread.as_str())
    );
    let h = headers(created);
    assert_eq!(h.from, vec![BOB.to_string()]);
    assert_eq!(h.to, vec!["lee@acme.com".to_string()]);
    assert!(h.cc.is_empty());
    assert_eq!(h.subject, "Re: Fund IV allocation");
    assert_eq!(h.in_reply_to, vec![THREAD_IDS[2].to_string()]);
    assert_eq!(
        h.references,
        THREAD_IDS.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    );
    assert!(h.body.contains("Monday at 10 works for me."), "{}", h.body);
    assert_eq!(
        team.count(&format!(
            "SELECT COUNT(*) FROM drafts WHERE email_id = {email} AND gmail_draft_id = '{}' \
             AND gmail_message_id = '{}'",
            created.id, created.message_id
        ))
        .await,
        1,
        "the draft is audited, with the message id its link needs"
    );
    assert_nothing_sent(&team);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_all_copies_the_original_recipients_without_our_own_addresses() {
    let (team, seeded) = synced_team().await;
    let capital_call = team.email_id(CAPITAL_CALL_ID).await;
    let opener = team.email_id(THREAD_IDS[0]).await;

    let (status, body) = draft(
        &team,
        ANN,
        json!({"email_id": capital_call, "body": "Noted, thanks.", "reply_all": true}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, to_lee) = draft(
        &team,
        ANN,
        json!({"email_id": opener, "body": "Let us discuss.", "reply_all": true}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{to_lee}");

    // Reply-To wins over From; the original To and Cc go to Cc, minus
    // Ann and Bob (ours) and the empty group.
    assert_eq!(body["to"], json!(["assist@investor.com"]));
    assert_eq!(body["cc"], json!(["ops@investor.com"]));
    assert_eq!(body["subject"], "Re: Q3 capital call");
    assert_eq!(
        body["thread_id"],
        seeded.capital_call_ann.thread_id.as_str()
    );
    let drafts = team.google.drafts(ANN);
    assert_eq!(drafts.len(), 2);
    let h = headers(&drafts[0]);
    assert_eq!(h.to, vec!["assist@investor.com".to_string()]);
    assert_eq!(h.cc, vec!["ops@investor.com".to_string()]);
    assert_eq!(h.in_reply_to, vec![CAPITAL_CALL_ID.to_string()]);
    assert_eq!(
        h.references,
        vec![
            "root-001@fund.com".to_string(),
            "prev-002@fund.com".to_string(),
            CAPITAL_CALL_ID.to_string()
        ]
    );
    assert_eq!(to_lee["to"], json!(["lee@acme.com"]));
    assert_eq!(to_lee["cc"], json!([]), "Ann and Bob are ours: {to_lee}");
    assert_eq!(
        drafts[1].requested_thread_id.as_deref(),
        Some(seeded.thread_ann[0].thread_id.as_str())
    );
    assert_nothing_sent(&team);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_draft_only_in_their_own_mailboxes_and_admins_in_any() {
    let (team, seeded) = synced_team().await;
    let anns_only = team.email_id(ANN_ONLY_ID).await;
    let shared = team.email_id(THREAD_IDS[0]).await;

    let (status, body) = draft(&team, BOB, json!({"email_id": anns_only, "body": "Hi"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = draft(
        &team,
        BOB,
        json!({"email_id": shared, "body": "Hi", "account_id": team.ann_box}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = draft(&team, BOB, json!({"email_id": shared, "body": "  "})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(team.google.drafts(ANN).is_empty() && team.google.drafts(BOB).is_empty());

    let (status, body) = draft(
        &team,
        ANN,
        json!({"email_id": shared, "body": "Bob, please answer.", "account_id": team.bob_box}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["thread_id"], seeded.thread_bob[0].thread_id.as_str());
    assert_eq!(
        team.google.drafts(BOB).len(),
        1,
        "the admin drafted in Bob's mailbox"
    );
    let (status, _) = draft(&team, ANN, json!({"email_id": 999_999, "body": "Hi"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_nothing_sent(&team);
}
