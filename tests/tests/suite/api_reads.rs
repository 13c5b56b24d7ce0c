//! The read side over HTTP, on SQLite and PostgreSQL: who the caller is,
//! one email's detail under the list's matched-only / live-only / admin-only
//! rules, the activity list's time window, and every keyset-paged list (the
//! digest send log, capture errors, drafts, proposals, and the lists by id:
//! mailboxes, investors, never-log entries, jobs), with one cursor scheme and
//! garbage refused with 400.

use mailroom_ports::records::{Attachment, DraftRecord};
use mailroom_ports::{AccountId, EmailId};
use mailroom_tests::app::{Backend, TestApp, spawn_app_with};
use mailroom_tests::db::seed::{self, ACME, LEE, Msg, OLD, OLGA, addr, ts};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// `<name>::sqlite` and `<name>::postgres` from `async fn <name>(Backend)`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(mailroom_tests::app::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(mailroom_tests::app::Backend::Postgres).await;
            }
        }
    )*};
}

on_both_backends!(
    me_names_the_caller_and_their_role,
    the_detail_shows_matched_live_email_in_full_to_admins_only,
    the_detail_of_unmatched_or_deleted_email_is_not_found,
    digest_sends_are_logged_and_paged,
    capture_errors_are_listed_per_mailbox_and_an_unknown_mailbox_is_404,
    members_see_their_own_drafts_and_admins_all,
    proposals_are_paged_with_the_shared_cursor,
    every_list_refuses_a_garbage_cursor_and_a_bad_limit,
    lists_of_what_is_set_up_page_by_id_to_their_end,
    since_and_until_bound_the_activity_list,
);

const ANN: &str = "ann@fund.com";
const BOB: &str = "bob@fund.com";

/// The app with the seed directory (Ann admin, Bob member, Cat inactive)
/// and mailboxes for Ann and Bob.
async fn app_with_team(backend: Backend) -> (TestApp, AccountId, AccountId) {
    let app = spawn_app_with(backend, &[]).await;
    let store = &app.state.store;
    store.upsert_directory(seed::directory()).await.unwrap();
    let ann_box = store
        .create_account(&addr(ANN), &addr(ANN))
        .await
        .unwrap()
        .id;
    let bob_box = store
        .create_account(&addr(BOB), &addr(BOB))
        .await
        .unwrap()
        .id;
    (app, ann_box, bob_box)
}

async fn get(app: &TestApp, user: &str, path: &str) -> (StatusCode, Value) {
    let resp = app
        .http
        .get(app.url(path))
        .bearer_auth(app.token(user))
        .send()
        .await
        .expect("request");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, user: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let resp = app
        .http
        .post(app.url(path))
        .bearer_auth(app.token(user))
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Follows `next_cursor` from `path` (which has a `?`) to the end; returns
/// the pages' sizes and every item.
async fn walk(app: &TestApp, user: &str, path: &str) -> (Vec<usize>, Vec<Value>) {
    let mut sizes = Vec::new();
    let mut items = Vec::new();
    let mut url = path.to_string();
    loop {
        let (status, body) = get(app, user, &url).await;
        assert_eq!(status, StatusCode::OK, "{url}: {body}");
        let page = body["items"].as_array().expect("items");
        sizes.push(page.len());
        items.extend(page.iter().cloned());
        assert!(
            body.as_object().unwrap().contains_key("next_cursor"),
            "next_cursor is always present: {body}"
        );
        match body["next_cursor"].as_str() {
            Some(cursor) => url = format!("{path}&cursor={cursor}"),
            None => break,
        }
        assert!(sizes.len() < 50, "pagination does not end");
    }
    (sizes, items)
}

async fn me_names_the_caller_and_their_role(backend: Backend) {
    let (app, _, _) = app_with_team(backend).await;

    let (admin_status, admin) = get(&app, ANN, "/api/me").await;
    let (member_status, member) = get(&app, BOB, "/api/me").await;

    assert_eq!(admin_status, StatusCode::OK, "{admin}");
    let ann = app
        .state
        .store
        .user_by_email(&addr(ANN))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        admin,
        json!({"user_id": ann.id.0, "email": ANN, "display_name": "Ann",
               "role": "admin", "is_active": true})
    );
    assert_eq!(member_status, StatusCode::OK, "{member}");
    assert_eq!(member["role"], "member");
    assert_eq!(member["email"], BOB);
}

async fn the_detail_shows_matched_live_email_in_full_to_admins_only(backend: Backend) {
    let (app, ann_box, bob_box) = app_with_team(backend).await;
    let store = &app.state.store;
    let first = Msg::new(
        "deal@acme.com",
        "lee@acme.com",
        &[ANN, BOB],
        "2025-06-01T09:00:00Z",
    )
    .subject("Term sheet")
    .link(ACME, Some(LEE), "lee@acme.com")
    .link(OLD, Some(OLGA), "olga@old.com");
    let mut in_ann = first.seen_by(ann_box, "a1", false);
    if let Some(content) = in_ann.content.as_mut() {
        content.attachments = vec![Attachment {
            name: None,
            content_type: "image/png".into(),
            size: 512,
        }];
    }
    let email_id = store.capture(in_ann).await.unwrap().email_id;
    store
        .capture(first.seen_by(bob_box, "b1", false))
        .await
        .unwrap();
    // Ann's reply, in the same Gmail thread of her mailbox.
    let reply = Msg::new(
        "reply@fund.com",
        ANN,
        &["lee@acme.com"],
        "2025-06-01T10:00:00Z",
    )
    .subject("Re: Term sheet")
    .link(ACME, Some(LEE), "lee@acme.com");
    let mut reply_in_ann = reply.seen_by(ann_box, "a2", true);
    reply_in_ann.gmail_thread_id = "thread-deal@acme.com".into();
    let reply_id = store.capture(reply_in_ann).await.unwrap().email_id;

    let path = format!("/api/email/activity/{}", email_id.0);
    let (status, body) = get(&app, ANN, &path).await;
    let (member_status, member_body) = get(&app, BOB, &path).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email_id"], email_id.0);
    assert_eq!(body["message_id"], "deal@acme.com");
    assert_eq!(body["thread_id"], "thread-deal@acme.com");
    assert_eq!(body["subject"], "Term sheet");
    assert_eq!(body["body"], "body text");
    assert_eq!(body["from_email"], "lee@acme.com");
    assert_eq!(body["to"], json!([ANN, BOB]));
    assert_eq!(body["cc"], json!([]));
    assert_eq!(body["reply_to"], json!([]));
    assert_eq!(body["direction"], "inbound");
    assert_eq!(body["sent_at"], "2025-06-01T09:00:00Z");
    // A nameless attachment carries `name: null`, present, not omitted.
    assert_eq!(
        body["attachments"],
        json!([{"name": null, "content_type": "image/png", "size": 512}])
    );
    assert_eq!(
        body["investors"],
        json!([
            {"id": 1, "name": "Acme Capital", "graveyard": false,
             "contacts": [{"id": 10, "name": "Lee Park", "email": "lee@acme.com"}]},
            {"id": 2, "name": "Old LP", "graveyard": true,
             "contacts": [{"id": 20, "name": "Olga Old", "email": "olga@old.com"}]},
        ])
    );
    assert_eq!(
        body["mailboxes"],
        json!([
            {"account_id": ann_box.0, "email_address": ANN, "is_sent": false, "direction": "inbound"},
            {"account_id": bob_box.0, "email_address": BOB, "is_sent": false, "direction": "inbound"},
        ])
    );
    assert_eq!(
        body["thread"],
        json!([{"email_id": reply_id.0, "subject": "Re: Term sheet",
                "from_email": ANN, "sent_at": "2025-06-01T10:00:00Z",
                "direction": "outbound"}])
    );
    assert_eq!(member_status, StatusCode::FORBIDDEN, "{member_body}");

    // The reply was sent from Ann's mailbox: outbound there.
    let (_, reply_body) = get(&app, ANN, &format!("/api/email/activity/{}", reply_id.0)).await;
    assert_eq!(
        reply_body["mailboxes"][0]["direction"], "outbound",
        "{reply_body}"
    );
    assert_eq!(reply_body["mailboxes"][0]["is_sent"], true);
    assert_eq!(reply_body["thread"][0]["email_id"], email_id.0);
}

async fn the_detail_of_unmatched_or_deleted_email_is_not_found(backend: Backend) {
    let (app, ann_box, bob_box) = app_with_team(backend).await;
    let store = &app.state.store;
    let cold = Msg::new(
        "cold@x.com",
        "stranger@x.com",
        &[ANN],
        "2025-06-01T09:00:00Z",
    );
    let cold_id = store
        .capture(cold.seen_by(ann_box, "a1", false))
        .await
        .unwrap()
        .email_id;
    let warm = Msg::new(
        "warm@acme.com",
        "lee@acme.com",
        &[ANN, BOB],
        "2025-06-01T10:00:00Z",
    )
    .link(ACME, Some(LEE), "lee@acme.com");
    let warm_id = store
        .capture(warm.seen_by(ann_box, "a2", false))
        .await
        .unwrap()
        .email_id;
    store
        .capture(warm.seen_by(bob_box, "b2", false))
        .await
        .unwrap();
    let detail = |id: EmailId| format!("/api/email/activity/{}", id.0);

    let (cold_status, cold_body) = get(&app, ANN, &detail(cold_id)).await;
    assert_eq!(cold_status, StatusCode::NOT_FOUND, "{cold_body}");
    assert_eq!(cold_body["error"], "not_found");
    assert!(!cold_body.to_string().contains("cold@x.com"), "{cold_body}");

    // One copy deleted: still shown, from the live one only.
    let at = ts("2025-06-02T00:00:00Z");
    store.soft_delete_sighting(ann_box, "a2", at).await.unwrap();
    let (status, body) = get(&app, ANN, &detail(warm_id)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["mailboxes"].as_array().unwrap().len(), 1);
    assert_eq!(body["mailboxes"][0]["account_id"], bob_box.0);

    // Every copy deleted: gone, as from the list.
    store.soft_delete_sighting(bob_box, "b2", at).await.unwrap();
    let (status, body) = get(&app, ANN, &detail(warm_id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, list) = get(&app, ANN, "/api/email/activity").await;
    assert_eq!(list["items"], json!([]));

    let (status, _) = get(&app, ANN, "/api/email/activity/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = get(&app, ANN, "/api/email/activity/not-a-number").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

async fn digest_sends_are_logged_and_paged(backend: Backend) {
    let (app, _, _) = app_with_team(backend).await;
    let (status, body) = post(&app, ANN, "/api/admin/digest/send-now", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = post(&app, ANN, "/api/admin/digest/test-email", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A test email to someone who is not an admin is refused before sending.
    let (status, _) = post(
        &app,
        ANN,
        "/api/admin/digest/test-email",
        json!({"to": ["lee@acme.com"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (sizes, sends) = walk(&app, ANN, "/api/admin/digest/sends?limit=1").await;
    let (member_status, _) = get(&app, BOB, "/api/admin/digest/sends").await;

    assert_eq!(sizes, vec![1, 1]);
    let triggers: Vec<&str> = sends
        .iter()
        .map(|s| s["trigger"].as_str().unwrap())
        .collect();
    assert_eq!(triggers, vec!["test", "send_now"]);
    let send_now = &sends[1];
    assert_eq!(send_now["transport"], "outbox");
    assert_eq!(send_now["recipient_count"], 1);
    assert_eq!(send_now["ok"], true);
    assert_eq!(send_now["error_kind"], Value::Null);
    assert!(
        send_now.as_object().unwrap().contains_key("error_kind"),
        "null fields are present: {send_now}"
    );
    let window = (
        send_now["window_since"].as_str().unwrap(),
        send_now["window_until"].as_str().unwrap(),
    );
    assert_eq!(window, ("2026-11-23T12:00:00Z", "2026-11-24T12:00:00Z"));
    assert_eq!(send_now["sent_at"], "2026-11-24T12:00:00Z");
    assert_eq!(member_status, StatusCode::FORBIDDEN);
}

async fn capture_errors_are_listed_per_mailbox_and_an_unknown_mailbox_is_404(backend: Backend) {
    let (app, ann_box, bob_box) = app_with_team(backend).await;
    let store = &app.state.store;
    for (gmail_id, at) in [
        ("g1", "2025-06-01T09:00:00Z"),
        ("g2", "2025-06-01T10:00:00Z"),
    ] {
        store
            .record_capture_error(ann_box, gmail_id, "message is malformed", ts(at))
            .await
            .unwrap();
    }

    let path = format!("/api/email/accounts/{}/errors?limit=1", ann_box.0);
    let (sizes, errors) = walk(&app, ANN, &path).await;
    let (_, bobs) = walk(
        &app,
        ANN,
        &format!("/api/email/accounts/{}/errors?limit=5", bob_box.0),
    )
    .await;
    let (unknown, unknown_body) = get(&app, ANN, "/api/email/accounts/424242/errors").await;
    let (member, _) = get(&app, BOB, &path).await;

    assert_eq!(sizes, vec![1, 1]);
    assert_eq!(errors[0]["gmail_message_id"], "g2");
    assert_eq!(errors[0]["error"], "message is malformed");
    assert_eq!(errors[0]["occurred_at"], "2025-06-01T10:00:00Z");
    assert_eq!(errors[1]["gmail_message_id"], "g1");
    assert!(bobs.is_empty());
    assert_eq!(unknown, StatusCode::NOT_FOUND, "{unknown_body}");
    assert_eq!(unknown_body["error"], "not_found");
    assert_eq!(member, StatusCode::FORBIDDEN);
}

async fn members_see_their_own_drafts_and_admins_all(backend: Backend) {
    let (app, ann_box, bob_box) = app_with_team(backend).await;
    let store = &app.state.store;
    let msg = Msg::new(
        "m1@acme.com",
        "lee@acme.com",
        &[ANN, BOB],
        "2025-06-01T09:00:00Z",
    )
    .link(ACME, Some(LEE), "lee@acme.com");
    let email_id = store
        .capture(msg.seen_by(ann_box, "a1", false))
        .await
        .unwrap()
        .email_id;
    store
        .capture(msg.seen_by(bob_box, "b1", false))
        .await
        .unwrap();
    let ann = store.user_by_email(&addr(ANN)).await.unwrap().unwrap().id;
    let bob = store.user_by_email(&addr(BOB)).await.unwrap().unwrap().id;
    for (by, account, draft_id, at) in [
        (ann, ann_box, "d1", "2025-06-02T10:00:00Z"),
        (bob, bob_box, "d2", "2025-06-02T11:00:00Z"),
        (ann, ann_box, "d3", "2025-06-02T12:00:00Z"),
    ] {
        store
            .record_draft(DraftRecord {
                email_id,
                account_id: account,
                created_by: by,
                gmail_draft_id: draft_id.into(),
                thread_id: "thread-m1@acme.com".into(),
                gmail_message_id: (draft_id != "d1").then(|| format!("msg-{draft_id}")),
                reply_all: draft_id == "d2",
                to: vec![addr("lee@acme.com")],
                cc: vec![],
                subject: "Re: About m1@acme.com".into(),
                created_at: ts(at),
            })
            .await
            .unwrap();
    }

    let (sizes, all) = walk(&app, ANN, "/api/email/drafts?limit=2").await;
    let (_, bobs) = walk(&app, BOB, "/api/email/drafts?limit=2").await;

    assert_eq!(sizes, vec![2, 1]);
    let ids: Vec<&str> = all
        .iter()
        .map(|d| d["gmail_draft_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["d3", "d2", "d1"]);
    assert_eq!(bobs.len(), 1);
    let d2 = &bobs[0];
    assert_eq!(d2["gmail_draft_id"], "d2");
    assert_eq!(d2["user_email"], BOB);
    assert_eq!(d2["email_id"], email_id.0);
    assert_eq!(d2["account_id"], bob_box.0);
    assert_eq!(d2["thread_id"], "thread-m1@acme.com");
    assert_eq!(d2["gmail_message_id"], "msg-d2");
    assert_eq!(d2["mailbox"], BOB);
    assert_eq!(d2["reply_all"], true);
    // A draft recorded without its message id says so with null.
    let d1 = all.iter().find(|d| d["gmail_draft_id"] == "d1").unwrap();
    assert!(d1["gmail_message_id"].is_null(), "{d1}");
    assert_eq!(d1["mailbox"], ANN);
    assert_eq!(d2["created_at"], "2025-06-02T11:00:00Z");
}

async fn proposals_are_paged_with_the_shared_cursor(backend: Backend) {
    let (app, ann_box, bob_box) = app_with_team(backend).await;
    let store = &app.state.store;
    for i in 0..5 {
        let msg = Msg::new(
            &format!("m{i}@acme.com"),
            "lee@acme.com",
            &[ANN],
            &format!("2025-06-0{}T09:00:00Z", i + 1),
        )
        .subject(&format!("m{i}"))
        .link(ACME, Some(LEE), "lee@acme.com");
        store
            .capture(msg.seen_by(ann_box, &format!("a{i}"), false))
            .await
            .unwrap();
        if i % 2 == 0 {
            store
                .capture(msg.seen_by(bob_box, &format!("b{i}"), false))
                .await
                .unwrap();
        }
    }

    let (sizes, all) = walk(&app, ANN, "/api/email/proposals?status=pending&limit=2").await;
    let (_, bobs) = walk(&app, BOB, "/api/email/proposals?limit=2").await;
    let (_, approved) = walk(&app, ANN, "/api/email/proposals?status=approved&limit=2").await;

    assert_eq!(sizes, vec![2, 2, 1]);
    let subjects = |items: &[Value]| {
        items
            .iter()
            .map(|p| p["subject"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(subjects(&all), vec!["m4", "m3", "m2", "m1", "m0"]);
    assert_eq!(subjects(&bobs), vec!["m4", "m2", "m0"]);
    assert!(approved.is_empty());
}

async fn every_list_refuses_a_garbage_cursor_and_a_bad_limit(backend: Backend) {
    let (app, ann_box, _) = app_with_team(backend).await;
    let msg = Msg::new(
        "m1@acme.com",
        "lee@acme.com",
        &[ANN],
        "2025-06-01T09:00:00Z",
    )
    .link(ACME, Some(LEE), "lee@acme.com");
    let m2 = Msg::new(
        "m2@acme.com",
        "lee@acme.com",
        &[ANN],
        "2025-06-01T10:00:00Z",
    )
    .link(ACME, Some(LEE), "lee@acme.com");
    app.state
        .store
        .capture(msg.seen_by(ann_box, "a1", false))
        .await
        .unwrap();
    app.state
        .store
        .capture(m2.seen_by(ann_box, "a2", false))
        .await
        .unwrap();
    let (_, activity) = get(&app, ANN, "/api/email/activity?limit=1").await;
    let activity_cursor = activity["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let lists = [
        "/api/email/activity".to_string(),
        "/api/email/proposals".to_string(),
        "/api/admin/digest/sends".to_string(),
        format!("/api/email/accounts/{}/errors", ann_box.0),
        "/api/email/drafts".to_string(),
        "/api/email/accounts".to_string(),
        "/api/email/activity/investors".to_string(),
        "/api/admin/never-log".to_string(),
        "/api/admin/jobs".to_string(),
    ];

    for list in &lists {
        for query in [
            "cursor=garbage".to_string(),
            "cursor=%ff%fe".to_string(),
            "limit=0".to_string(),
            "limit=201".to_string(),
            "limit=ten".to_string(),
        ] {
            let (status, body) = get(&app, ANN, &format!("{list}?{query}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{list}?{query}: {body}");
            assert_eq!(body["error"], "bad_request", "{list}?{query}: {body}");
            assert!(!body.to_string().contains("garbage"), "{body}");
        }
        let (status, body) = get(&app, ANN, &format!("{list}?limit=200")).await;
        assert_eq!(status, StatusCode::OK, "{list}: {body}");
    }
    // A cursor is only good for the list that handed it out.
    for list in &lists[1..] {
        let (status, body) = get(&app, ANN, &format!("{list}?cursor={activity_cursor}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{list}: {body}");
    }
    let (status, body) = get(
        &app,
        ANN,
        &format!("/api/email/activity?limit=1&cursor={activity_cursor}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
}

async fn lists_of_what_is_set_up_page_by_id_to_their_end(backend: Backend) {
    let (app, ann_box, bob_box) = app_with_team(backend).await;
    let (sizes, boxes) = walk(&app, ANN, "/api/email/accounts?limit=1").await;
    assert_eq!(sizes, vec![1, 1]);
    let ids: Vec<i64> = boxes.iter().map(|b| b["id"].as_i64().unwrap()).collect();
    assert_eq!(
        ids,
        vec![ann_box.0, bob_box.0],
        "in the order they were added"
    );

    for value in ["a@one.example", "two.example", "c@three.example"] {
        let (status, body) =
            post(&app, ANN, "/api/admin/never-log", json!({ "value": value })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (sizes, entries) = walk(&app, ANN, "/api/admin/never-log?limit=2").await;
    assert_eq!(sizes, vec![2, 1]);
    let values: Vec<&str> = entries
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        values,
        vec!["a@one.example", "two.example", "c@three.example"]
    );

    let (sizes, investors) = walk(&app, ANN, "/api/email/activity/investors?limit=1").await;
    let (_, whole) = get(&app, ANN, "/api/email/activity/investors?limit=200").await;
    assert_eq!(&investors, whole["items"].as_array().unwrap());
    assert_eq!(sizes.len(), investors.len(), "one a page: {investors:?}");
    assert!(!investors.is_empty());
}

async fn since_and_until_bound_the_activity_list(backend: Backend) {
    let (app, ann_box, _) = app_with_team(backend).await;
    for (i, at) in [
        "2025-06-01T09:00:00Z",
        "2025-06-02T09:00:00Z",
        "2025-06-03T09:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        let msg = Msg::new(&format!("t{i}@acme.com"), "lee@acme.com", &[ANN], at)
            .subject(&format!("t{i}"))
            .link(ACME, Some(LEE), "lee@acme.com");
        app.state
            .store
            .capture(msg.seen_by(ann_box, &format!("t{i}"), false))
            .await
            .unwrap();
    }
    let subjects = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["subject"].as_str().unwrap().to_string())
            .collect()
    };
    for (query, expected) in [
        ("", vec!["t2", "t1", "t0"]),
        ("since=2025-06-02T09:00:00Z", vec!["t2", "t1"]),
        ("until=2025-06-02T09:00:00Z", vec!["t0"]),
        (
            "since=2025-06-01T12:00:00Z&until=2025-06-03T00:00:00Z",
            vec!["t1"],
        ),
        ("since=2025-06-03T09:00:01Z", vec![]),
    ] {
        let (status, body) = get(&app, ANN, &format!("/api/email/activity?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(subjects(&body), expected, "{query}");
    }
    for bad in ["since=yesterday", "until=2025-13-01T00:00:00Z"] {
        let (status, body) = get(&app, ANN, &format!("/api/email/activity?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}
