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

fn document() -> serde_json::Value {
    serde_json::from_str(&mailroom_app::http::openapi_json()).unwrap()
}

/// Every operation of the document, as (method, path, operation).
fn operations(doc: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.clone(), path.clone(), op.clone()));
        }
    }
    out
}

#[test]
fn every_operation_has_a_unique_camel_case_operation_id() {
    let doc = document();
    let mut seen = std::collections::BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(
            id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && id.chars().all(|c| c.is_ascii_alphanumeric()),
            "{method} {path}: operationId `{id}` is not camelCase"
        );
        assert!(
            seen.insert(id.to_string()),
            "operationId `{id}` is used twice"
        );
    }
}

#[test]
fn the_operation_ids_are_the_ones_the_frontend_codes_against() {
    let doc = document();
    for (method, path, id) in [
        ("get", "/healthz", "getHealth"),
        ("get", "/api/admin/digest/policy", "getDigestPolicy"),
        ("patch", "/api/admin/digest/policy", "updateDigestPolicy"),
        (
            "post",
            "/api/admin/digest/test-email",
            "sendTestDigestEmail",
        ),
        ("post", "/api/admin/digest/send-now", "sendDigestNow"),
        ("get", "/api/admin/digest/preview", "previewDigest"),
        ("put", "/api/admin/directory", "updateDirectory"),
        ("get", "/api/email/activity", "listEmailActivity"),
        (
            "get",
            "/api/email/activity/investors",
            "listActivityInvestors",
        ),
        ("get", "/api/email/accounts", "listEmailAccounts"),
        ("post", "/api/email/accounts", "createEmailAccount"),
        ("patch", "/api/email/accounts/{id}", "updateEmailAccount"),
        ("post", "/api/email/accounts/{id}/sync", "syncEmailAccount"),
        ("post", "/api/email/drafts", "createDraft"),
        ("get", "/api/email/proposals", "listProposals"),
        (
            "post",
            "/api/email/proposals/{id}/approve",
            "approveProposal",
        ),
        ("post", "/api/email/proposals/{id}/reject", "rejectProposal"),
    ] {
        assert_eq!(
            doc["paths"][path][method]["operationId"], id,
            "{method} {path}"
        );
    }
}

#[test]
fn every_operation_lists_the_errors_poem_answers_before_the_handler() {
    let doc = document();
    for (method, path, op) in operations(&doc) {
        let responses = op["responses"].as_object().unwrap();
        let has = |s: &str| responses.contains_key(s);
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        if op.get("security").is_some() {
            for s in ["401", "403", "500", "503"] {
                assert!(has(s), "{method} {path} is authed but does not list {s}");
            }
        }
        if op.get("requestBody").is_some() {
            for s in ["400", "415"] {
                assert!(has(s), "{method} {path} takes a body but does not list {s}");
            }
        }
        if params.iter().any(|p| p["in"] == "path") {
            for s in ["400", "404"] {
                assert!(
                    has(s),
                    "{method} {path} has a path id but does not list {s}"
                );
            }
        }
        assert!(
            !has("405"),
            "{method} {path}: 405 answers methods a path lacks, not an operation"
        );
        for (status, resp) in responses {
            assert!(
                resp["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{method} {path} {status} has no description"
            );
            // The health endpoints answer 503 with their own report (which
            // features are degraded), not an ErrorBody.
            let health = ["/healthz", "/readyz"].contains(&&*path.to_string());
            if !health && (status.starts_with('4') || status.starts_with('5')) {
                let schema = &resp["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(
                    schema, "#/components/schemas/ErrorBody",
                    "{method} {path} {status} is not an ErrorBody"
                );
            }
        }
    }
}

#[test]
fn error_codes_are_an_enum() {
    let doc = document();
    let codes = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode is a string enum");
    for code in [
        "bad_request",
        "unauthorized",
        "not_found",
        "sync_running",
        "internal",
    ] {
        assert!(
            codes.iter().any(|c| c == code),
            "{code} is not an ErrorCode"
        );
    }
}

/// The schema names reachable from `value` through `$ref`s.
fn reachable(doc: &serde_json::Value, value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(|r| r.as_str()) {
                let name = r.rsplit('/').next().unwrap().to_string();
                if !out.contains(&name) {
                    out.push(name.clone());
                    reachable(doc, &doc["components"]["schemas"][&name], out);
                }
            }
            map.values().for_each(|v| reachable(doc, v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| reachable(doc, v, out)),
        _ => {}
    }
}

#[test]
fn every_response_field_is_always_present_and_nullable_when_it_can_be_null() {
    let doc = document();
    let mut names = Vec::new();
    for (_, _, op) in operations(&doc) {
        reachable(&doc, &op["responses"], &mut names);
    }
    assert!(names.contains(&"ActivityResponse".to_string()));
    for name in names {
        let schema = &doc["components"]["schemas"][&name];
        let Some(props) = schema["properties"].as_object() else {
            continue;
        };
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        for prop in props.keys() {
            assert!(
                required.iter().any(|r| r == prop.as_str()),
                "{name}.{prop} is optional: a response field is always sent (mark an Option `#[oai(nullable)]`)"
            );
        }
    }
    let cursor = &doc["components"]["schemas"]["ActivityResponse"]["properties"]["next_cursor"];
    assert_eq!(cursor["nullable"], true, "{cursor}");
}

#[test]
fn creations_answer_201_and_the_document_names_a_server() {
    let doc = document();
    for (method, path) in [
        ("post", "/api/email/accounts"),
        ("post", "/api/email/drafts"),
    ] {
        let responses = &doc["paths"][path][method]["responses"];
        assert!(
            responses.get("201").is_some() && responses.get("200").is_none(),
            "{path}"
        );
    }
    assert!(doc["servers"].as_array().is_some_and(|s| !s.is_empty()));
    let limit = doc["paths"]["/api/email/activity"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap()
        .clone();
    assert_eq!(limit["schema"]["maximum"], 200.0, "{limit}");
}
