//! Bad input gets a clear 4xx and changes nothing.

use mailroom_ports::records::Role;
use mailroom_tests::app::{TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn admin_app() -> (TestApp, String) {
    let app = spawn_app().await;
    app.add_users(&[("admin@fund.com", Role::Admin, true)])
        .await;
    let token = app.token("admin@fund.com");
    (app, token)
}

async fn policy(app: &TestApp, token: &str) -> Value {
    app.http
        .get(app.url("/api/admin/digest/policy"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_bad_policy_patch_is_refused_and_the_policy_is_unchanged() {
    let (app, token) = admin_app().await;
    let before = policy(&app, &token).await;
    assert_eq!(
        before,
        json!({"enabled": false, "send_hour": 18, "source": "default", "timezone": "UTC"})
    );
    for (body, expected) in [
        (r#"{"send_hour": 24}"#, StatusCode::UNPROCESSABLE_ENTITY),
        (r#"{"send_hour": -1}"#, StatusCode::UNPROCESSABLE_ENTITY),
        (r#"{"send_hour": "18"}"#, StatusCode::BAD_REQUEST),
        (r#"{"enabled": "yes"}"#, StatusCode::BAD_REQUEST),
        (
            r#"{"enabled": true, "surprise": 1}"#,
            StatusCode::BAD_REQUEST,
        ),
        (r#"{"enabled": tru"#, StatusCode::BAD_REQUEST),
    ] {
        let resp = app
            .http
            .patch(app.url("/api/admin/digest/policy"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let err: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(status, expected, "{body}: {err}");
        assert!(
            err["error"].is_string() && err["message"].is_string(),
            "{body}: {err}"
        );
        assert_eq!(
            policy(&app, &token).await,
            before,
            "{body} changed the policy"
        );
    }
}

#[tokio::test]
async fn a_good_policy_patch_takes_effect_and_reports_its_source() {
    let (app, token) = admin_app().await;
    let resp: Value = app
        .http
        .patch(app.url("/api/admin/digest/policy"))
        .bearer_auth(&token)
        .json(&json!({"enabled": true, "send_hour": 7}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        resp,
        json!({"enabled": true, "send_hour": 7, "source": "db", "timezone": "UTC"})
    );
    assert_eq!(policy(&app, &token).await, resp);
}

#[tokio::test]
async fn a_bad_directory_is_refused_and_changes_nothing() {
    let (app, token) = admin_app().await;
    for body in [
        json!({"users": [{"email": "not-an-email", "display_name": "X", "role": "admin", "is_active": true}]}),
        json!({"users": [{"email": "x@fund.com", "display_name": "X", "role": "owner", "is_active": true}]}),
        json!({"investors": [{"id": 5, "name": "Acme", "domains": ["not a domain"]}]}),
        json!({"investors": [{"id": 5, "name": "Acme"}], "contacts": [{"id": 1, "investor_id": 99, "name": "Lee"}]}),
        json!({"investors": [{"id": "five", "name": "Acme"}]}),
        json!({"users": [], "extra": true}),
        // A number or boolean where the document says string (poem-openapi's
        // own String would take it as text).
        json!({"users": [{"email": "x@fund.com", "display_name": false, "role": "admin", "is_active": true}],
               "investors": [{"id": 5, "name": "Acme"}]}),
        json!({"investors": [{"id": 5, "name": 5}]}),
        json!({"investors": [{"id": 5, "name": "Acme", "domains": [7]}]}),
    ] {
        let resp = app
            .http
            .put(app.url("/api/admin/directory"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            resp.status().is_client_error(),
            "{body} answered {}",
            resp.status()
        );
        let investors = app.state.store.dropdown_investors().await.unwrap();
        assert!(
            investors.is_empty(),
            "{body} left investors behind: {investors:?}"
        );
    }
    let resp = app
        .http
        .put(app.url("/api/admin/directory"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

/// A teammate may receive the digest, so the directory takes only addresses
/// every transport can deliver to. A looser check once let in an admin
/// (`x@-.-y`, found by schemathesis) after which every send-now was a 502.
#[tokio::test]
async fn an_admin_no_transport_can_address_is_refused_and_sending_still_works() {
    let (app, token) = admin_app().await;
    for email in [
        "x@-.-y",
        "0@0",
        "ann@fund.com.",
        "\u{e9}@fund.com",
        "a..b@fund.com",
        "Ann <ann@fund.com>",
    ] {
        let body = json!({"users": [{"email": email, "display_name": "X", "role": "admin", "is_active": true}]});
        let resp = app
            .http
            .put(app.url("/api/admin/directory"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{email:?}");
        let message = resp.text().await.unwrap();
        assert!(
            !message.contains(email),
            "the answer echoes {email:?}: {message}"
        );
    }
    let admins = app.state.store.active_admins().await.unwrap();
    assert_eq!(admins.len(), 1, "only the first admin: {admins:?}");
    let resp = app
        .http
        .post(app.url("/api/admin/digest/send-now"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_directory_upsert_is_idempotent() {
    let (app, token) = admin_app().await;
    let body = json!({
        "users": [{"email": "lee@fund.com", "display_name": "Lee", "role": "member", "is_active": true}],
        "investors": [{"id": 1, "name": "Acme LP", "domains": ["acme.com"]}, {"id": 2, "name": "Old LP", "graveyard": true}],
        "contacts": [{"id": 10, "investor_id": 1, "name": "Pat", "emails": ["pat@acme.com"]}],
    });
    for _ in 0..2 {
        let resp: Value = app
            .http
            .put(app.url("/api/admin/directory"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(resp, json!({"users": 1, "investors": 2, "contacts": 1}));
    }
    let dropdown: Value = app
        .http
        .get(app.url("/api/email/activity/investors"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        dropdown,
        json!({"items": [{"id": 1, "name": "Acme LP"}], "next_cursor": null}),
        "graveyard investors stay out of the dropdown"
    );
}

#[tokio::test]
async fn bad_query_parameters_are_400() {
    let (app, token) = admin_app().await;
    for q in [
        "direction=sideways",
        "limit=0",
        "limit=1000",
        "cursor=garbage",
        "investor_id=abc",
        "since=yesterday",
        &format!("q={}", "a".repeat(257)),
    ] {
        let path = if q.starts_with("since") {
            "/api/admin/digest/preview"
        } else {
            "/api/email/activity"
        };
        let resp = app
            .http
            .get(app.url(&format!("{path}?{q}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path}?{q}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "bad_request", "{path}?{q}: {body}");
    }
    // The longest free text the document allows is searched.
    let resp = app
        .http
        .get(app.url(&format!("/api/email/activity?q={}", "a".repeat(256))))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}
