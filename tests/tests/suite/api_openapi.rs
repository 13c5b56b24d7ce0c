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

/// The statuses each operation lists: exactly those it can answer. A new
/// operation must be added here, so its list is a decision, not a default.
#[test]
fn each_operation_lists_exactly_the_statuses_it_can_answer() {
    // 401/403/500/503 for a token checked against the database; 400/422 for
    // query parameters (unparsable, or refused at the edge as too long or
    // holding a NUL); 400/404 for an id in the path; 400/408/413/415/422 for a
    // JSON body.
    const AUTHED: &[&str] = &["401", "403", "500", "503"];
    const QUERY: &[&str] = &["400", "422"];
    const PATH_ID: &[&str] = &["400", "404"];
    const BODY: &[&str] = &["400", "408", "413", "415", "422"];
    let expected: &[(&str, &[&[&str]])] = &[
        ("getHealth", &[&["200", "503"]]),
        ("getReadiness", &[&["200", "503"]]),
        ("getStatus", &[&["200"], AUTHED]),
        ("getMe", &[&["200"], AUTHED]),
        ("getDigestPolicy", &[&["200"], AUTHED]),
        ("updateDigestPolicy", &[&["200"], AUTHED, BODY]),
        ("previewDigest", &[&["200"], AUTHED, QUERY]),
        ("sendDigestNow", &[&["200", "409", "502"], AUTHED]),
        ("listDigestSends", &[&["200"], AUTHED, QUERY]),
        (
            "sendTestDigestEmail",
            &[&["200", "409", "502"], AUTHED, BODY],
        ),
        ("updateDirectory", &[&["200", "409"], AUTHED, BODY]),
        ("listEmailAccounts", &[&["200"], AUTHED, QUERY]),
        (
            "createEmailAccount",
            &[&["201", "404", "409"], AUTHED, BODY],
        ),
        ("updateEmailAccount", &[&["200"], AUTHED, PATH_ID, BODY]),
        (
            "listEmailAccountErrors",
            &[&["200"], AUTHED, PATH_ID, QUERY],
        ),
        (
            "syncEmailAccount",
            &[&["200", "409", "502"], AUTHED, PATH_ID],
        ),
        ("listEmailActivity", &[&["200"], AUTHED, QUERY]),
        ("listActivityInvestors", &[&["200"], AUTHED, QUERY]),
        ("getEmailActivity", &[&["200"], AUTHED, PATH_ID]),
        ("listDrafts", &[&["200"], AUTHED, QUERY]),
        ("createDraft", &[&["201", "404", "502"], AUTHED, BODY]),
        ("listProposals", &[&["200"], AUTHED, QUERY]),
        ("approveProposal", &[&["200", "409"], AUTHED, PATH_ID]),
        ("rejectProposal", &[&["200", "409"], AUTHED, PATH_ID]),
        ("listNeverLog", &[&["200"], AUTHED, QUERY]),
        ("addNeverLog", &[&["201", "409"], AUTHED, BODY]),
        ("removeNeverLog", &[&["200"], AUTHED, PATH_ID]),
        ("listJobs", &[&["200"], AUTHED, QUERY]),
        (
            "auditEmailAccount",
            &[&["200", "409", "502"], AUTHED, PATH_ID],
        ),
        (
            "repairEmailAccount",
            &[&["200", "409", "502"], AUTHED, PATH_ID],
        ),
    ];
    let doc = document();
    let by_id: std::collections::BTreeMap<String, serde_json::Value> = operations(&doc)
        .into_iter()
        .map(|(_, _, op)| (op["operationId"].as_str().unwrap().to_string(), op))
        .collect();
    for (id, parts) in expected {
        let op = by_id
            .get(*id)
            .unwrap_or_else(|| panic!("{id} is not in the document"));
        let want: std::collections::BTreeSet<&str> =
            parts.iter().flat_map(|p| p.iter().copied()).collect();
        let got: std::collections::BTreeSet<&str> = op["responses"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(got, want, "{id} lists the wrong statuses");
    }
    for id in by_id.keys() {
        assert!(
            expected.iter().any(|(e, _)| e == id),
            "{id} is not in this table: decide which statuses it answers and add it"
        );
    }
}

#[test]
fn each_closed_set_is_one_enum() {
    let doc = document();
    let mut seen: std::collections::BTreeMap<Vec<String>, String> = Default::default();
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        let Some(values) = schema["enum"].as_array() else {
            continue;
        };
        let mut values: Vec<String> = values
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        values.sort();
        if let Some(other) = seen.insert(values.clone(), name.clone()) {
            panic!("{other} and {name} are the same closed set {values:?}");
        }
    }
    for name in [
        "Role",
        "Direction",
        "Transport",
        "ProposalStatus",
        "SyncState",
    ] {
        assert!(
            doc["components"]["schemas"][name]["enum"].is_array(),
            "{name} is an enum"
        );
    }
}

#[test]
fn the_main_shapes_carry_an_example_that_fits_their_schema() {
    let doc = document();
    for name in [
        "PolicyResponse",
        "ErrorBody",
        "ActivityEntry",
        "AccountEntry",
        "ProposalEntry",
        "EmailActivityDetail",
        "MeResponse",
    ] {
        let schema = &doc["components"]["schemas"][name];
        let example = schema["example"]
            .as_object()
            .unwrap_or_else(|| panic!("{name} has no example"));
        let props = schema["properties"].as_object().unwrap();
        for required in schema["required"].as_array().unwrap() {
            let key = required.as_str().unwrap();
            assert!(example.contains_key(key), "{name}'s example lacks {key}");
        }
        for key in example.keys() {
            assert!(
                props.contains_key(key),
                "{name}'s example has unknown {key}"
            );
        }
    }
}

#[test]
fn a_503_that_can_pass_says_when_to_retry() {
    let doc = document();
    let unavailable = &doc["paths"]["/api/email/activity"]["get"]["responses"]["503"];
    assert!(
        unavailable["headers"]["RETRY-AFTER"].is_object()
            || unavailable["headers"]["Retry-After"].is_object(),
        "{unavailable}"
    );
}
