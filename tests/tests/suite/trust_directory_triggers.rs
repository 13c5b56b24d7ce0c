//! What a directory update does to stored mail, end to end through
//! `PUT /api/admin/directory` against the fake Google, on SQLite and
//! PostgreSQL.
//!
//! Widening: an address added to an existing contact, an investor domain
//! added (a domain-only match whose content must be fetched), a contact
//! undeleted, an investor undeleted, and a new contact on To or Cc of
//! metadata-only mail (not only From): each update requests the re-match,
//! which fetches, links and proposes exactly the mail it newly matches.
//!
//! Narrowing: an address removed or a contact soft-deleted keeps the links
//! and approved activities already made, requests nothing, and the next
//! mail from that address no longer matches.

use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{ACME, ANN, CaptureTeam, LEE, MUNICH, Mail, directory_json};
use mailroom_tests::fake_google::NewMessage;
use reqwest::StatusCode;
use serde_json::{Value, json};

const NEW_LP: i64 = 4;
const OLD_LP: i64 = 5;
const DEAD_LP: i64 = 6;
const SOLO_LP: i64 = 7;

fn add(team: &CaptureTeam, from: &str, to: &[&str], cc: &[&str], id: &str, labels: &[&str]) {
    let raw = Mail {
        from,
        to,
        cc,
        subject: &format!("Subject of {id}"),
        message_id: id,
        in_reply_to: None,
        references: &[],
        date: "2026-11-20T09:00:00Z",
        body: "A body worth keeping.",
    }
    .render();
    team.google.add_message_with(
        ANN,
        NewMessage {
            labels: labels.iter().map(|l| l.to_string()).collect(),
            ..NewMessage::new(raw)
        },
    );
}

fn push(dir: &mut Value, list: &str, item: Value) {
    dir[list].as_array_mut().unwrap().push(item);
}

/// The contact or investor with `id` in `dir`'s `list`.
fn entry<'a>(dir: &'a mut Value, list: &str, id: i64) -> &'a mut Value {
    dir[list]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("no {list} {id}"))
}

async fn put(team: &CaptureTeam, dir: &Value) {
    let (status, body) = team.put(ANN, "/api/admin/directory", dir.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn job(team: &CaptureTeam) -> Value {
    let (status, body) = team.get(ANN, "/api/admin/jobs").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"][0].clone()
}

/// The (investor, contact) links of the email with this Message-ID.
async fn links(team: &CaptureTeam, key: &str) -> Vec<(i64, Option<i64>)> {
    team.rows(&format!(
        "SELECT l.investor_id, l.contact_id FROM email_investor_links l \
         JOIN emails e ON e.id = l.email_id WHERE e.dedup_key = '{key}' \
         ORDER BY l.investor_id, l.contact_id"
    ))
    .await
    .iter()
    .map(|r| {
        (
            r.try_get::<i64>("", "investor_id").unwrap(),
            r.try_get::<Option<i64>>("", "contact_id").unwrap(),
        )
    })
    .collect()
}

/// (content stored, proposals) of the email with this Message-ID.
async fn state(team: &CaptureTeam, key: &str) -> (i64, i64) {
    let stored = team
        .count(&format!(
            "SELECT COUNT(*) FROM emails WHERE dedup_key = '{key}' AND content_stored = TRUE \
             AND subject = 'Subject of {key}' AND body IS NOT NULL"
        ))
        .await;
    let proposals = team
        .count(&format!(
            "SELECT COUNT(*) FROM activity_proposals p JOIN emails e ON e.id = p.email_id \
             WHERE e.dedup_key = '{key}'"
        ))
        .await;
    (stored, proposals)
}

/// PUTs `dir`, expects it to request the re-match, runs it to the end and
/// returns the finished job.
async fn widen(team: &CaptureTeam, dir: &Value, what: &str) -> Value {
    put(team, dir).await;
    let requested = job(team).await;
    assert_eq!(
        requested["state"], "pending",
        "{what} requests a re-match: {requested}"
    );
    assert_eq!(requested["scanned"], 0, "{what}: a new run");
    let rematch = team.app.state.rematch.clone().expect("Gmail is configured");
    rematch.run_to_end(100).await.expect("the re-match runs");
    let done = job(team).await;
    assert_eq!(done["state"], "done", "{what}: {done}");
    done
}

async fn every_kind_of_widening_requests_a_rematch_that_links_its_mail(backend: Backend) {
    let team = CaptureTeam::start(backend).await;
    let mut dir = directory_json();
    push(
        &mut dir,
        "investors",
        json!({"id": OLD_LP, "name": "Old LP", "domains": []}),
    );
    push(
        &mut dir,
        "contacts",
        json!({"id": 50, "investor_id": OLD_LP, "name": "Gone", "emails": ["gone@oldlp.example"], "deleted": true}),
    );
    push(
        &mut dir,
        "investors",
        json!({"id": DEAD_LP, "name": "Dead LP", "domains": ["deadlp.example"], "deleted": true}),
    );
    put(&team, &dir).await;

    add(
        &team,
        "lee@leepark.example",
        &[ANN],
        &[],
        "w-lee@leepark.example",
        &["INBOX"],
    );
    add(
        &team,
        "partner@munich.example",
        &[ANN],
        &[],
        "w-munich@munich.example",
        &["INBOX"],
    );
    add(
        &team,
        "gone@oldlp.example",
        &[ANN],
        &[],
        "w-old@oldlp.example",
        &["INBOX"],
    );
    add(
        &team,
        "x@deadlp.example",
        &[ANN],
        &[],
        "w-dead@deadlp.example",
        &["INBOX"],
    );
    add(
        &team,
        ANN,
        &["pat@newlp.example"],
        &[],
        "w-to-pat@fund.com",
        &["SENT"],
    );
    add(
        &team,
        "stranger@cold.example",
        &[ANN],
        &["pat@newlp.example"],
        "w-cc-pat@cold.example",
        &["INBOX"],
    );
    add(
        &team,
        "other@cold.example",
        &[ANN],
        &[],
        "w-cold@cold.example",
        &["INBOX"],
    );
    team.sync_both().await;
    assert_eq!(
        team.count("SELECT COUNT(*) FROM emails WHERE content_stored = TRUE")
            .await,
        0,
        "nothing matches yet: metadata only"
    );
    let rematch = team.app.state.rematch.clone().expect("Gmail is configured");
    rematch.run_to_end(100).await.unwrap();

    // An address added to Lee, an existing contact.
    entry(&mut dir, "contacts", LEE)["emails"] = json!(["lee@acme.com", "lee@leepark.example"]);
    let done = widen(&team, &dir, "an address added").await;
    assert_eq!(
        (done["matched"].as_u64(), done["fetched"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        links(&team, "w-lee@leepark.example").await,
        [(ACME, Some(LEE))]
    );
    assert_eq!(state(&team, "w-lee@leepark.example").await, (1, 1));

    // A domain for Munich Partners: a domain-only match.
    entry(&mut dir, "investors", MUNICH)["domains"] = json!(["munich.example"]);
    widen(&team, &dir, "a domain added").await;
    assert_eq!(
        links(&team, "w-munich@munich.example").await,
        [(MUNICH, None)]
    );
    assert_eq!(state(&team, "w-munich@munich.example").await, (1, 1));

    // A deleted contact comes back.
    entry(&mut dir, "contacts", 50)["deleted"] = json!(false);
    widen(&team, &dir, "a contact undeleted").await;
    assert_eq!(
        links(&team, "w-old@oldlp.example").await,
        [(OLD_LP, Some(50))]
    );
    assert_eq!(state(&team, "w-old@oldlp.example").await, (1, 1));

    // A deleted investor comes back with its domain.
    entry(&mut dir, "investors", DEAD_LP)["deleted"] = json!(false);
    widen(&team, &dir, "an investor undeleted").await;
    assert_eq!(
        links(&team, "w-dead@deadlp.example").await,
        [(DEAD_LP, None)]
    );
    assert_eq!(state(&team, "w-dead@deadlp.example").await, (1, 1));

    // A new contact only ever on To (Ann's own sent mail) or Cc.
    push(
        &mut dir,
        "investors",
        json!({"id": NEW_LP, "name": "New LP", "domains": []}),
    );
    push(
        &mut dir,
        "contacts",
        json!({"id": 40, "investor_id": NEW_LP, "name": "Pat", "emails": ["pat@newlp.example"]}),
    );
    let done = widen(&team, &dir, "a contact on To and Cc").await;
    assert_eq!(
        (
            done["matched"].as_u64(),
            done["fetched"].as_u64(),
            done["proposals"].as_u64()
        ),
        (Some(2), Some(2), Some(2)),
        "{done}"
    );
    assert_eq!(
        links(&team, "w-to-pat@fund.com").await,
        [(NEW_LP, Some(40))]
    );
    assert_eq!(
        links(&team, "w-cc-pat@cold.example").await,
        [(NEW_LP, Some(40))]
    );
    assert_eq!(state(&team, "w-to-pat@fund.com").await, (1, 1));
    assert_eq!(state(&team, "w-cc-pat@cold.example").await, (1, 1));

    assert_eq!(links(&team, "w-cold@cold.example").await, []);
    assert_eq!(state(&team, "w-cold@cold.example").await, (0, 0));
    assert_eq!(
        team.count("SELECT COUNT(*) FROM activity_proposals").await,
        6
    );
    assert_eq!(
        team.count("SELECT COUNT(*) FROM email_investor_links")
            .await,
        6
    );

    // The same directory once more: nothing widens, nothing is requested.
    put(&team, &dir).await;
    assert_eq!(job(&team).await, done);
}

async fn removing_an_address_or_a_contact_keeps_history_and_stops_new_matches(backend: Backend) {
    let team = CaptureTeam::start(backend).await;
    let mut dir = directory_json();
    push(
        &mut dir,
        "investors",
        json!({"id": SOLO_LP, "name": "Solo LP", "domains": []}),
    );
    push(
        &mut dir,
        "contacts",
        json!({"id": 70, "investor_id": SOLO_LP, "name": "Sol", "emails": ["sol@solo.example"]}),
    );
    put(&team, &dir).await;
    add(
        &team,
        "juergen@investor.de",
        &[ANN],
        &[],
        "h-juergen-1@investor.de",
        &["INBOX"],
    );
    add(
        &team,
        "sol@solo.example",
        &[ANN],
        &[],
        "h-sol-1@solo.example",
        &["INBOX"],
    );
    team.sync_both().await;
    assert_eq!(
        links(&team, "h-juergen-1@investor.de").await,
        [(MUNICH, Some(30))]
    );
    assert_eq!(
        links(&team, "h-sol-1@solo.example").await,
        [(SOLO_LP, Some(70))]
    );
    for row in team.rows("SELECT id FROM activity_proposals").await {
        let id: i64 = row.try_get("", "id").unwrap();
        let (status, body) = team
            .post(
                ANN,
                &format!("/api/email/proposals/{id}/approve"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(team.count("SELECT COUNT(*) FROM activities").await, 2);
    let rematch = team.app.state.rematch.clone().expect("Gmail is configured");
    rematch.run_to_end(100).await.unwrap();
    let before = job(&team).await;
    assert_eq!(before["state"], "done");

    // Jürgen's address removed; Sol soft-deleted.
    entry(&mut dir, "contacts", 30)["emails"] = json!([]);
    entry(&mut dir, "contacts", 70)["deleted"] = json!(true);
    put(&team, &dir).await;
    assert_eq!(job(&team).await, before, "narrowing requests no re-match");

    assert_eq!(
        links(&team, "h-juergen-1@investor.de").await,
        [(MUNICH, Some(30))]
    );
    assert_eq!(
        links(&team, "h-sol-1@solo.example").await,
        [(SOLO_LP, Some(70))]
    );
    assert_eq!(
        team.count("SELECT COUNT(*) FROM activities").await,
        2,
        "approved activities stay"
    );
    assert_eq!(
        team.count("SELECT COUNT(*) FROM activity_proposals WHERE status = 'approved'")
            .await,
        2
    );
    let (status, activity) = team.get(ANN, "/api/email/activity").await;
    assert_eq!(status, StatusCode::OK, "{activity}");
    for key in ["h-juergen-1@investor.de", "h-sol-1@solo.example"] {
        assert!(
            activity.to_string().contains(&format!("Subject of {key}")),
            "{key} is still in the activity list: {activity}"
        );
    }

    // New mail from them no longer matches.
    add(
        &team,
        "juergen@investor.de",
        &[ANN],
        &[],
        "h-juergen-2@investor.de",
        &["INBOX"],
    );
    add(
        &team,
        "sol@solo.example",
        &[ANN],
        &[],
        "h-sol-2@solo.example",
        &["INBOX"],
    );
    team.sync_both().await;
    for key in ["h-juergen-2@investor.de", "h-sol-2@solo.example"] {
        assert_eq!(
            team.count(&format!(
                "SELECT COUNT(*) FROM emails WHERE dedup_key = '{key}'"
            ))
            .await,
            1,
            "{key} is captured"
        );
        assert_eq!(links(&team, key).await, [], "{key}");
        assert_eq!(state(&team, key).await, (0, 0), "{key}: metadata only");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_widening_requests_a_rematch_that_links_its_mail_sqlite() {
    every_kind_of_widening_requests_a_rematch_that_links_its_mail(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_widening_requests_a_rematch_that_links_its_mail_postgres() {
    every_kind_of_widening_requests_a_rematch_that_links_its_mail(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_an_address_or_a_contact_keeps_history_and_stops_new_matches_sqlite() {
    removing_an_address_or_a_contact_keeps_history_and_stops_new_matches(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_an_address_or_a_contact_keeps_history_and_stops_new_matches_postgres() {
    removing_an_address_or_a_contact_keeps_history_and_stops_new_matches(Backend::Postgres).await;
}
