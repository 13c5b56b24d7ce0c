//! CORS: only the exact origins of `MAILROOM_CORS_ORIGINS` may call the API
//! from a browser; no credentials; unset means no cross-origin access.

use mailroom_ports::records::Role;
use mailroom_tests::app::{Backend, spawn_app, spawn_app_with};

const CONSOLE: &str = "https://console.fund.example";

async fn preflight(app: &mailroom_tests::app::TestApp, origin: &str) -> reqwest::Response {
    app.http
        .request(reqwest::Method::OPTIONS, app.url("/api/email/activity"))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_gets_the_origin_back() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[(
            "MAILROOM_CORS_ORIGINS",
            "https://console.fund.example, http://localhost:5173",
        )],
    )
    .await;
    let resp = preflight(&app, CONSOLE).await;
    assert!(resp.status().is_success(), "{}", resp.status());
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], CONSOLE);
    assert!(h.get("access-control-allow-credentials").is_none());
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");

    // A real request from that origin carries the header too.
    let resp = app
        .http
        .get(app.url("/healthz"))
        .header("Origin", "http://localhost:5173")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
}

#[tokio::test]
async fn any_other_origin_gets_no_cors_header() {
    let app = spawn_app_with(Backend::Sqlite, &[("MAILROOM_CORS_ORIGINS", CONSOLE)]).await;
    for origin in [
        "https://evil.example",
        "https://console.fund.example.evil.example",
        "http://console.fund.example",
    ] {
        let resp = preflight(&app, origin).await;
        assert!(
            resp.headers().get("access-control-allow-origin").is_none(),
            "{origin}: {:?}",
            resp.headers()
        );
    }
}

#[tokio::test]
async fn with_no_origin_configured_there_is_no_cross_origin_access() {
    let app = spawn_app().await;
    let resp = preflight(&app, CONSOLE).await;
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    let resp = app
        .http
        .get(app.url("/healthz"))
        .header("Origin", CONSOLE)
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

/// An unlisted origin is served as without CORS, never refused: browsers
/// send `Origin` on same-origin writes, so the console mailroom serves
/// itself must keep working whatever the list holds.
#[tokio::test]
async fn a_request_from_an_unlisted_origin_is_served_without_cors_headers() {
    let app = spawn_app_with(Backend::Sqlite, &[("MAILROOM_CORS_ORIGINS", CONSOLE)]).await;
    app.add_users(&[("admin@fund.com", Role::Admin, true)])
        .await;
    let own_origin = app.url("");
    let own_origin = own_origin.trim_end_matches('/');
    for origin in [own_origin, "https://evil.example"] {
        let resp = app
            .http
            .patch(app.url("/api/admin/digest/policy"))
            .bearer_auth(app.token("admin@fund.com"))
            .header("Origin", origin)
            .json(&serde_json::json!({"send_hour": 9}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), reqwest::StatusCode::OK, "{origin}");
        assert!(
            resp.headers().get("access-control-allow-origin").is_none(),
            "{origin}"
        );
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["send_hour"], 9, "{origin}: {body}");
    }

    // An allowed origin's answers vary by origin and expose the request id.
    let resp = app
        .http
        .get(app.url("/api/admin/digest/policy"))
        .bearer_auth(app.token("admin@fund.com"))
        .header("Origin", CONSOLE)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], CONSOLE);
    assert!(h["vary"].to_str().unwrap().contains("origin"), "{h:?}");
    let exposed = h["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("x-request-id"), "{exposed}");
}

#[test]
fn an_invalid_origin_stops_the_service_naming_the_variable() {
    for bad in [
        "console.fund.example",
        "https://console.fund.example/",
        "https://console.fund.example/app",
        "ftp://files.example",
        "*",
    ] {
        let env = std::collections::HashMap::from([
            ("DATABASE_URL".to_string(), "sqlite::memory:".to_string()),
            ("MAILROOM_CORS_ORIGINS".to_string(), bad.to_string()),
        ]);
        let err = mailroom_app::config::Config::from_map(&env).expect_err(bad);
        assert_eq!(err.var, "MAILROOM_CORS_ORIGINS", "{bad}: {err}");
    }
}
