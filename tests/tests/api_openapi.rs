//! The committed OpenAPI document is what the service serves; the frontend
//! generates its client from it.

use mailroom_tests::app::spawn_app;

fn committed() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    std::fs::read_to_string(path).expect("openapi/openapi.json is committed")
}

#[test]
fn the_committed_document_equals_the_generated_one() {
    let generated = mailroom_app::http::openapi_json();
    assert!(
        committed().trim_end() == generated.trim_end(),
        "openapi/openapi.json is stale: run `cargo run -p mailroom-app -- openapi --out openapi/openapi.json`"
    );
}

#[tokio::test]
async fn the_served_document_equals_the_committed_one() {
    let app = spawn_app().await;
    let served = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let served: serde_json::Value = serde_json::from_str(&served).unwrap();
    let committed: serde_json::Value = serde_json::from_str(&committed()).unwrap();
    assert_eq!(served, committed);
    for path in [
        "/api/admin/digest/policy",
        "/api/admin/digest/test-email",
        "/api/admin/digest/send-now",
        "/api/admin/digest/preview",
        "/api/email/activity",
        "/api/email/activity/investors",
        "/api/email/proposals",
        "/api/email/proposals/{id}/approve",
        "/api/email/proposals/{id}/reject",
        "/api/email/drafts",
        "/api/email/accounts",
        "/api/email/accounts/{id}",
        "/api/email/accounts/{id}/sync",
        "/api/admin/directory",
        "/healthz",
    ] {
        assert!(
            committed["paths"].get(path).is_some(),
            "{path} is missing from the document"
        );
    }
}
