//! A member's body on an admin-only route costs no parse: on every admin
//! route that takes a body, a member's oversized body is 413 before it is
//! read whole, and a member's unparsable body is 403 (the role is checked
//! before the body is parsed), never a 400/422 about its content. Nothing
//! changes either way.

use mailroom_ports::records::Role;
use mailroom_tests::app::{Backend, TestApp, spawn_app_with};
use reqwest::{Method, StatusCode};

const ADMIN: &str = "admin@fund.com";
const MEMBER: &str = "member@fund.com";

/// Every admin-only route with a request body.
const ADMIN_BODY_ROUTES: [(&str, &str); 5] = [
    ("PATCH", "/api/admin/digest/policy"),
    ("POST", "/api/admin/digest/test-email"),
    ("PUT", "/api/admin/directory"),
    ("POST", "/api/email/accounts"),
    ("PATCH", "/api/email/accounts/1"),
];

async fn app() -> TestApp {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            ("MAILROOM_MAX_BODY_BYTES", "4096"),
            ("MAILROOM_MAX_DIRECTORY_BYTES", "8192"),
        ],
    )
    .await;
    app.add_users(&[(ADMIN, Role::Admin, true), (MEMBER, Role::Member, true)])
        .await;
    app
}

async fn send(app: &TestApp, method: &str, path: &str, body: String) -> (StatusCode, String) {
    let method = Method::from_bytes(method.as_bytes()).expect("a method");
    let resp = app
        .http
        .request(method, app.url(path))
        .bearer_auth(app.token(MEMBER))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("an answer");
    let status = resp.status();
    (status, resp.text().await.unwrap_or_default())
}

async fn snapshot(app: &TestApp) -> String {
    let get = |path: &'static str| {
        app.http
            .get(app.url(path))
            .bearer_auth(app.token(ADMIN))
            .send()
    };
    let mut out = String::new();
    for path in ["/api/admin/digest/policy", "/api/email/accounts", "/api/me"] {
        let resp = get(path).await.expect("an answer");
        out.push_str(&resp.text().await.unwrap_or_default());
    }
    out
}

#[tokio::test]
async fn a_members_oversized_body_is_413_on_every_admin_route() {
    let app = app().await;
    let before = snapshot(&app).await;
    for (method, path) in ADMIN_BODY_ROUTES {
        let (status, body) = send(&app, method, path, format!("\"{}\"", "x".repeat(20_000))).await;
        assert_eq!(
            status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{method} {path}: {body}"
        );
        assert!(!body.contains("xxxx"), "{method} {path} echoes: {body}");
    }
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn a_members_unparsable_body_is_403_on_every_admin_route() {
    let app = app().await;
    let before = snapshot(&app).await;
    let mut wrong = Vec::new();
    for (method, path) in ADMIN_BODY_ROUTES {
        let (status, body) = send(&app, method, path, "{not json at all".into()).await;
        if status != StatusCode::FORBIDDEN || !body.contains("forbidden") {
            wrong.push(format!("{method} {path}: {status} {body}"));
        }
    }
    assert!(wrong.is_empty(), "parsed before the role check: {wrong:#?}");
    assert_eq!(snapshot(&app).await, before);
}
