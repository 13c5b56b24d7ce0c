//! The auth matrix over every endpoint: no token, bad signature, expired,
//! unknown user, inactive user, member on an admin route, admin.

use std::time::Duration;

use jiff::Timestamp;
use mailroom_app::config::JwtSecret;
use mailroom_ports::records::Role;
use mailroom_tests::app::{Backend, TEST_JWT_SECRET, TestApp, spawn_app, spawn_app_with};
use mailroom_tests::db::seed;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Endpoint {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    /// Members get 403 here; elsewhere they may act on their own mailboxes.
    admin_only: bool,
    /// What a caller who passes the checks gets: `None` for a success; the
    /// operations that need Gmail answer 503 `not_configured` here, which
    /// still shows the token was accepted.
    allowed: Option<StatusCode>,
}

fn ep(method: Method, path: &'static str, body: Option<Value>, admin_only: bool) -> Endpoint {
    Endpoint {
        method,
        path,
        body,
        admin_only,
        allowed: None,
    }
}

/// An endpoint that needs Gmail, which the matrix's service has not.
fn needs_gmail(
    method: Method,
    path: &'static str,
    body: Option<Value>,
    admin_only: bool,
) -> Endpoint {
    Endpoint {
        allowed: Some(StatusCode::SERVICE_UNAVAILABLE),
        ..ep(method, path, body, admin_only)
    }
}

/// Every endpoint of the API that needs a token.
fn endpoints() -> Vec<Endpoint> {
    vec![
        ep(Method::GET, "/api/admin/digest/policy", None, true),
        ep(
            Method::PATCH,
            "/api/admin/digest/policy",
            Some(json!({"enabled": true})),
            true,
        ),
        ep(
            Method::POST,
            "/api/admin/digest/test-email",
            Some(json!({})),
            true,
        ),
        ep(Method::POST, "/api/admin/digest/send-now", None, true),
        ep(Method::GET, "/api/admin/digest/preview", None, true),
        ep(Method::GET, "/api/email/activity", None, true),
        ep(Method::GET, "/api/email/activity/investors", None, true),
        ep(Method::GET, "/api/email/accounts", None, true),
        ep(
            Method::POST,
            "/api/email/accounts",
            Some(json!({"user_email": "admin@fund.com", "email_address": "admin@fund.com"})),
            true,
        ),
        ep(
            Method::PATCH,
            "/api/email/accounts/1",
            Some(json!({"enabled": false})),
            true,
        ),
        ep(
            Method::PUT,
            "/api/admin/directory",
            Some(json!({"investors": [{"id": 1, "name": "Acme"}]})),
            true,
        ),
        ep(
            Method::GET,
            "/api/email/proposals?status=pending",
            None,
            false,
        ),
        ep(Method::GET, "/api/me", None, false),
        // Email 1 and mailbox 1 are seeded by `seed_read_side`.
        ep(Method::GET, "/api/email/activity/1", None, true),
        ep(Method::GET, "/api/admin/digest/sends", None, true),
        ep(Method::GET, "/api/email/accounts/1/errors", None, true),
        ep(Method::GET, "/api/email/drafts", None, false),
        // getStatus
        ep(Method::GET, "/api/admin/status", None, true),
        ep(Method::GET, "/api/admin/never-log", None, true),
        // The admin's POST creates entry 1, which the DELETE then removes.
        ep(
            Method::POST,
            "/api/admin/never-log",
            Some(json!({"value": "spouse@home.org"})),
            true,
        ),
        ep(Method::DELETE, "/api/admin/never-log/1", None, true),
        ep(Method::GET, "/api/admin/jobs", None, true),
        // Proposals 1 and 2 are on the member's mailbox: the member decides
        // them, the admin's repeat answers the same.
        ep(Method::POST, "/api/email/proposals/1/approve", None, false),
        ep(Method::POST, "/api/email/proposals/2/reject", None, false),
        needs_gmail(
            Method::POST,
            "/api/email/drafts",
            Some(json!({"email_id": 1, "body": "Thanks!"})),
            false,
        ),
        needs_gmail(Method::POST, "/api/email/accounts/1/sync", None, true),
        needs_gmail(Method::GET, "/api/email/accounts/1/audit", None, true),
        needs_gmail(
            Method::POST,
            "/api/email/accounts/1/audit/repair",
            None,
            true,
        ),
    ]
}

/// The matrix covers every operation of the document that takes a token:
/// a new operation fails here until it is added above.
#[test]
fn the_matrix_covers_every_operation_that_takes_a_token() {
    let doc: Value = serde_json::from_str(&mailroom_app::http::openapi_json()).unwrap();
    let listed = endpoints();
    let mut missing = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            if op.get("security").is_none() {
                continue;
            }
            let template: Vec<&str> = path.split('/').collect();
            let covered = listed.iter().any(|e| {
                let concrete: Vec<&str> = e.path.split('?').next().unwrap().split('/').collect();
                e.method.as_str().eq_ignore_ascii_case(method)
                    && concrete.len() == template.len()
                    && concrete
                        .iter()
                        .zip(&template)
                        .all(|(c, t)| c == t || t.starts_with('{'))
            });
            if !covered {
                missing.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(missing.is_empty(), "not in the auth matrix: {missing:?}");
}

/// A matched, live email (id 1) in a mailbox (id 1) of the member, so the
/// read-side routes that name one answer 200 to an admin.
async fn seed_read_side(app: &TestApp) {
    let store = &app.state.store;
    store.upsert_directory(seed::directory()).await.unwrap();
    let member = seed::addr("member@fund.com");
    let mailbox = store.create_account(&member, &member).await.unwrap().id;
    let msg = seed::Msg::new(
        "m1@acme.com",
        "lee@acme.com",
        &["member@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .link(seed::ACME, Some(seed::LEE), "lee@acme.com");
    let email = store
        .capture(msg.seen_by(mailbox, "g1", false))
        .await
        .unwrap()
        .email_id;
    assert_eq!((mailbox.0, email.0), (1, 1), "seeded ids");
    let second = seed::Msg::new(
        "m2@acme.com",
        "lee@acme.com",
        &["member@fund.com"],
        "2025-06-02T09:00:00Z",
    )
    .link(seed::ACME, Some(seed::LEE), "lee@acme.com");
    store
        .capture(second.seen_by(mailbox, "g2", false))
        .await
        .unwrap();
}

async fn call(app: &TestApp, e: &Endpoint, token: Option<&str>) -> (StatusCode, Value) {
    let mut req = app.http.request(e.method.clone(), app.url(e.path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = &e.body {
        req = req.json(b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

fn assert_error_shape(body: &Value, context: &str) {
    assert!(
        body["error"].is_string() && body["message"].is_string(),
        "{context}: body {body}"
    );
}

#[tokio::test]
async fn every_endpoint_answers_the_auth_matrix_sqlite() {
    auth_matrix(Backend::Sqlite).await;
}

#[tokio::test]
async fn every_endpoint_answers_the_auth_matrix_postgres() {
    auth_matrix(Backend::Postgres).await;
}

async fn auth_matrix(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    app.add_users(&[
        ("admin@fund.com", Role::Admin, true),
        ("member@fund.com", Role::Member, true),
        ("gone@fund.com", Role::Admin, false),
    ])
    .await;
    seed_read_side(&app).await;
    let wrong_secret = JwtSecret::new("another-secret-another-secret-another-000".into());
    let bad_signature = mailroom_app::auth::mint(
        &wrong_secret,
        "admin@fund.com",
        Duration::from_secs(600),
        Timestamp::now(),
    )
    .unwrap();
    let expired = mailroom_app::auth::mint(
        &JwtSecret::new(TEST_JWT_SECRET.into()),
        "admin@fund.com",
        Duration::from_secs(60),
        Timestamp::now() - jiff::SignedDuration::from_hours(3),
    )
    .unwrap();
    let unknown = app.token("nobody@fund.com");
    let inactive = app.token("gone@fund.com");
    let member = app.token("member@fund.com");
    let admin = app.token("admin@fund.com");

    for e in endpoints() {
        let ctx = format!("{} {}", e.method, e.path);
        for (name, token, expected) in [
            ("no token", None, StatusCode::UNAUTHORIZED),
            (
                "bad signature",
                Some(bad_signature.as_str()),
                StatusCode::UNAUTHORIZED,
            ),
            ("expired", Some(expired.as_str()), StatusCode::UNAUTHORIZED),
            (
                "unknown user",
                Some(unknown.as_str()),
                StatusCode::UNAUTHORIZED,
            ),
            (
                "inactive user",
                Some(inactive.as_str()),
                StatusCode::FORBIDDEN,
            ),
        ] {
            let (status, body) = call(&app, &e, token).await;
            assert_eq!(status, expected, "{ctx} with {name}: {body}");
            assert_error_shape(&body, &ctx);
        }
        let allowed = |status: StatusCode| match e.allowed {
            None => status.is_success(),
            Some(expected) => status == expected,
        };
        let (status, body) = call(&app, &e, Some(&member)).await;
        if e.admin_only {
            assert_eq!(status, StatusCode::FORBIDDEN, "{ctx} as a member: {body}");
            assert_error_shape(&body, &ctx);
        } else {
            assert!(allowed(status), "{ctx} as a member: {status} {body}");
        }
        let (status, body) = call(&app, &e, Some(&admin)).await;
        assert!(allowed(status), "{ctx} as an admin: {status} {body}");
        if e.allowed.is_some() {
            assert_eq!(body["error"], "not_configured", "{ctx}: {body}");
        }
    }
}

#[tokio::test]
async fn a_demoted_admin_loses_access_on_the_next_request() {
    let app = spawn_app().await;
    app.add_users(&[("ann@fund.com", Role::Admin, true)]).await;
    let token = app.token("ann@fund.com");
    let e = ep(Method::GET, "/api/admin/digest/policy", None, true);
    assert_eq!(call(&app, &e, Some(&token)).await.0, StatusCode::OK);
    app.add_users(&[("ann@fund.com", Role::Member, true)]).await;
    assert_eq!(call(&app, &e, Some(&token)).await.0, StatusCode::FORBIDDEN);
    app.add_users(&[("ann@fund.com", Role::Admin, false)]).await;
    assert_eq!(call(&app, &e, Some(&token)).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn healthz_and_the_docs_need_no_token() {
    let app = spawn_app().await;
    let health: Value = app
        .http
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], "ok");
    assert_eq!(health["outbox"]["enabled"], true);
    assert_eq!(health["gmail"]["enabled"], false);
    // getReadiness
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let docs = app.http.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    let unknown = app
        .http
        .get(app.url("/api/no/such/route"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_error_shape(
        &unknown.json::<Value>().await.unwrap_or(Value::Null),
        "unknown route",
    );
}
