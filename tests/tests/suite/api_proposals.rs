//! R-CAP-7 and docs/requirements.md HTTP API HTTP, on mail captured through the
//! real sync: one proposal per (email, investor); approving is idempotent
//! and creates one activity; decisions are final (409); members decide only
//! on mail in their own mailboxes (403), admins on any.

use std::collections::HashSet;

use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{
    ACME, ANN, ANN_ONLY_ID, BOB, CAPITAL_CALL_ID, CAT, CaptureTeam, INVESTOR_CO, LEE, MUNICH, Mail,
    SEEDED_MATCHED, THREAD_IDS, seed_mail,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// An email linked to two investors, and to two contacts of one of them.
const TWO_INVESTORS_ID: &str = "two-investors@acme.com";

async fn synced_team() -> CaptureTeam {
    let team = CaptureTeam::start(Backend::Sqlite).await;
    seed_mail(&team.google);
    team.google.add_message(
        ANN,
        Mail {
            from: "lee@acme.com",
            to: &[ANN],
            cc: &["max@acme.com", "juergen@investor.de"],
            subject: "Co-investment with Munich Partners",
            message_id: TWO_INVESTORS_ID,
            in_reply_to: None,
            references: &[],
            date: "2026-11-22T12:00:00Z",
            body: "Jürgen and Max are both keen.",
        }
        .render(),
    );
    team.sync_both().await;
    team
}

async fn proposals(team: &CaptureTeam, user: &str, status: &str) -> Vec<Value> {
    let (code, body) = team
        .get(user, &format!("/api/email/proposals?status={status}"))
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body["items"].as_array().expect("items").clone()
}

/// The proposal for (email, investor).
async fn proposal_id(team: &CaptureTeam, dedup_key: &str, investor: i64) -> i64 {
    let email = team.email_id(dedup_key).await;
    let items = proposals(team, ANN, "pending").await;
    let found: Vec<&Value> = items
        .iter()
        .filter(|p| p["email_id"] == email && p["investor_id"] == investor)
        .collect();
    assert_eq!(found.len(), 1, "one proposal for {dedup_key} / {investor}");
    found[0]["id"].as_i64().unwrap()
}

async fn decide(team: &CaptureTeam, user: &str, id: i64, verb: &str) -> (StatusCode, Value) {
    team.post(
        user,
        &format!("/api/email/proposals/{id}/{verb}"),
        json!({}),
    )
    .await
}

async fn activities(team: &CaptureTeam) -> i64 {
    team.count("SELECT COUNT(*) FROM activities").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_matched_email_gets_one_pending_proposal_per_investor() {
    let team = synced_team().await;

    let all = proposals(&team, ANN, "pending").await;

    let pairs: HashSet<(i64, i64)> = all
        .iter()
        .map(|p| {
            (
                p["email_id"].as_i64().unwrap(),
                p["investor_id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(pairs.len(), all.len(), "no (email, investor) twice");
    assert_eq!(
        all.len() as i64,
        SEEDED_MATCHED + 2,
        "the seeded matches, plus two investors on one email"
    );
    let two = team.email_id(TWO_INVESTORS_ID).await;
    let mut investors: Vec<i64> = all
        .iter()
        .filter(|p| p["email_id"] == two)
        .map(|p| p["investor_id"].as_i64().unwrap())
        .collect();
    investors.sort();
    assert_eq!(
        investors,
        vec![ACME, MUNICH],
        "two contacts of Acme make one proposal"
    );
    assert_eq!(
        team.count(&format!(
            "SELECT COUNT(*) FROM email_investor_links WHERE email_id = {two}"
        ))
        .await,
        3,
        "each matched contact is linked"
    );
    let opener = all
        .iter()
        .find(|p| p["subject"] == "Fund IV allocation")
        .expect("the thread's opener");
    assert_eq!(opener["investor_name"], "Acme Capital");
    assert_eq!(opener["contact_id"], LEE);
    assert_eq!(opener["from_email"], "lee@acme.com");
    assert_eq!(opener["direction"], "inbound");
    assert_eq!(opener["status"], "pending");
    let reply_email = team.email_id(THREAD_IDS[1]).await;
    let reply = all
        .iter()
        .find(|p| p["email_id"] == reply_email)
        .map(|p| p["direction"].clone());
    assert_eq!(reply, Some(json!("outbound")), "Bob's reply is ours");

    // Members see the proposals of mail in their own mailboxes.
    let bobs = proposals(&team, BOB, "pending").await;
    assert_eq!(
        bobs.len(),
        5,
        "the thread, the capital call, the id-less message"
    );
    assert!(proposals(&team, CAT, "pending").await.is_empty());

    // Capturing the same mail again proposes nothing new.
    team.google.expire_history(ANN);
    team.sync_both().await;
    assert_eq!(proposals(&team, ANN, "pending").await.len(), all.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_twice_creates_one_activity_and_answers_the_same() {
    let team = synced_team().await;
    let id = proposal_id(&team, THREAD_IDS[2], ACME).await;

    let (first, approved) = decide(&team, BOB, id, "approve").await;
    let (second, again) = decide(&team, BOB, id, "approve").await;
    let (third, by_admin) = decide(&team, ANN, id, "approve").await;

    assert_eq!(first, StatusCode::OK, "{approved}");
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["id"], id);
    let activity = approved["activity_id"].as_i64().expect("an activity id");
    assert_eq!((second, third), (StatusCode::OK, StatusCode::OK));
    assert_eq!(again["activity_id"], activity);
    assert_eq!(by_admin["activity_id"], activity);
    assert_eq!(activities(&team).await, 1);
    let row = team
        .rows(&format!(
            "SELECT proposal_id, investor_id, contact_id, created_by FROM activities WHERE id = {activity}"
        ))
        .await;
    assert_eq!(row[0].try_get::<i64>("", "proposal_id").unwrap(), id);
    assert_eq!(row[0].try_get::<i64>("", "investor_id").unwrap(), ACME);
    assert_eq!(
        row[0].try_get::<Option<i64>>("", "contact_id").unwrap(),
        Some(LEE)
    );
    let approved_list = proposals(&team, ANN, "approved").await;
    assert_eq!(approved_list.len(), 1);
    assert_eq!(approved_list[0]["activity_id"], activity);
    assert_eq!(
        proposals(&team, ANN, "pending").await.len() as i64,
        SEEDED_MATCHED + 2 - 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_is_final_and_the_opposite_one_is_a_conflict() {
    let team = synced_team().await;
    let rejected = proposal_id(&team, ANN_ONLY_ID, ACME).await;
    let approved = proposal_id(&team, CAPITAL_CALL_ID, INVESTOR_CO).await;

    let (code, body) = decide(&team, ANN, rejected, "reject").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["id"], rejected);
    assert_eq!(body["status"], "rejected");
    assert_eq!(body["activity_id"], Value::Null);
    let (code, body) = decide(&team, ANN, rejected, "approve").await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "conflict", "{body}");
    let (code, _) = decide(&team, ANN, rejected, "reject").await;
    assert_eq!(code, StatusCode::OK, "repeating a rejection is fine");

    let (code, _) = decide(&team, ANN, approved, "approve").await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = decide(&team, ANN, approved, "reject").await;
    assert_eq!(code, StatusCode::CONFLICT);

    assert_eq!(activities(&team).await, 1, "a rejection creates nothing");
    let (code, _) = decide(&team, ANN, 999_999, "approve").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_decide_only_on_mail_in_their_own_mailboxes_and_admins_on_any() {
    let team = synced_team().await;
    let anns_only = proposal_id(&team, ANN_ONLY_ID, ACME).await;
    let shared = proposal_id(&team, THREAD_IDS[0], ACME).await;
    let bobs_reply = proposal_id(&team, THREAD_IDS[1], ACME).await;

    for verb in ["approve", "reject"] {
        let (code, body) = decide(&team, BOB, anns_only, verb).await;
        assert_eq!(
            code,
            StatusCode::FORBIDDEN,
            "Bob {verb}s Ann's mail: {body}"
        );
        let (code, body) = decide(&team, CAT, shared, verb).await;
        assert_eq!(
            code,
            StatusCode::FORBIDDEN,
            "Cat {verb}s others' mail: {body}"
        );
    }
    assert_eq!(activities(&team).await, 0);
    let pending: Vec<i64> = proposals(&team, ANN, "pending")
        .await
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert!(pending.contains(&anns_only) && pending.contains(&shared));

    let (code, body) = decide(&team, BOB, shared, "approve").await;
    assert_eq!(code, StatusCode::OK, "Bob holds the thread too: {body}");
    let (code, body) = decide(&team, ANN, bobs_reply, "reject").await;
    assert_eq!(
        code,
        StatusCode::OK,
        "an admin decides on Bob's mail: {body}"
    );
    let (code, body) = decide(&team, ANN, anns_only, "approve").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(activities(&team).await, 2);
}
