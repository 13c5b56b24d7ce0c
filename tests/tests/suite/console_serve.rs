//! The web console is served by the binary itself: `/` and any unknown
//! non-API path answer the embedded app; the API's prefixes keep their JSON.

use mailroom_tests::app::spawn_app;
use reqwest::StatusCode;
use serde_json::Value;

async fn get(app: &mailroom_tests::app::TestApp, path: &str) -> reqwest::Response {
    app.http
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .expect("request")
}

fn content_type(r: &reqwest::Response) -> String {
    r.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn the_root_and_an_unknown_path_serve_the_console() {
    let app = spawn_app().await;
    for path in ["/", "/foo", "/communications/42"] {
        let r = get(&app, path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(content_type(&r).starts_with("text/html"), "{path}");
        let csp = r
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        let html = r.text().await.expect("body");
        assert!(html.contains("<div id=\"app\">"), "{path}: {html}");
    }
}

#[tokio::test]
async fn the_console_scripts_are_embedded_with_their_type() {
    let app = spawn_app().await;
    let html = get(&app, "/").await.text().await.expect("body");
    // Every script and stylesheet the page names is served from the binary.
    let assets: Vec<&str> = html
        .split('"')
        .filter(|s| s.starts_with("/assets/"))
        .collect();
    assert!(!assets.is_empty(), "index.html names its assets: {html}");
    for a in assets {
        let r = get(&app, a).await;
        assert_eq!(r.status(), StatusCode::OK, "{a}");
        let ct = content_type(&r);
        if a.ends_with(".js") {
            assert!(ct.contains("javascript"), "{a}: {ct}");
        } else if a.ends_with(".css") {
            assert!(ct.starts_with("text/css"), "{a}: {ct}");
        }
        assert!(
            r.headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("immutable")),
            "{a}"
        );
    }
    // A missing hashed asset is a 404, not HTML a browser would run as a script.
    let r = get(&app, "/assets/missing-0000.js").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn api_paths_keep_their_answers() {
    let app = spawn_app().await;
    for path in ["/api/nope", "/api", "/api/email/nope/deeper"] {
        let r = get(&app, path).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(content_type(&r).starts_with("application/json"), "{path}");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["error"], "not_found", "{path}");
    }
    let r = get(&app, "/healthz").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(content_type(&r).starts_with("application/json"));
    let r = get(&app, "/openapi.json").await;
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.expect("the OpenAPI document");
    assert!(doc["paths"].is_object());
    let r = get(&app, "/docs").await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("body");
    assert!(!html.contains("<div id=\"app\">"), "/docs is Swagger UI");
    // An API route without a token is still the API's 401, not the console.
    let r = get(&app, "/api/email/activity").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A POST to an unknown non-API path is not the console either.
    let r = app
        .http
        .post(format!("{}/foo", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
