//! What the document says about inputs beyond what poem-openapi derives: the
//! exact shape of every string the service accepts, so a schema-valid request
//! is accepted and a schema-violating one refused.
//!
//! * Request bodies are closed (`additionalProperties: false`): every body
//!   type is `deny_unknown_fields`, so an unknown field is a 400. An optional
//!   field may be `null`, which means "not given".
//! * No input string may hold a NUL (PostgreSQL cannot store it; the edge
//!   refuses it with 422 on both databases), and no query value may be longer
//!   than the edge allows.
//! * Email addresses and domains have the pattern their parsers accept.
//! * A `cursor` has the exact form `next_cursor` takes for its list (see
//!   `paging.rs`), so any cursor the pattern allows is a position in that list.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::http::paging::{List, hex};

/// Any text without a NUL.
const NO_NUL: &str = r"^[^\x00]*$";
/// Text with at least one character that is not white space, and no NUL.
const NOT_BLANK: &str = r"^[^\x00]*[^\s\x00][^\x00]*$";
/// What `EmailAddress::parse` accepts in plain form: one `@`, no white space
/// or control character, a domain as below.
const EMAIL: &str = r"^[^\s@<>\x00-\x1f\x7f-\x9f]+@(?:[^\W_]|-)+(?:\.(?:[^\W_]|-)+)+\.?$";
/// What `EmailAddress::parse_team` accepts: a teammate's address, which
/// every transport can deliver to.
const TEAM_EMAIL: &str = mailroom_ports::address::TEAM_ADDRESS_PATTERN;
/// What `Domain::parse` accepts: letters, digits and `-` in at least two
/// dot-separated labels, an optional leading `@` and trailing dot.
const DOMAIN: &str = r"^@?(?:[^\W_]|-)+(?:\.(?:[^\W_]|-)+)+\.?$";
/// A never-log entry: an address as above, or a domain without the `@`.
const ADDRESS_OR_DOMAIN: &str =
    r"^(?:[^\s@<>\x00-\x1f\x7f-\x9f]+@)?(?:[^\W_]|-)+(?:\.(?:[^\W_]|-)+)+\.?$";
/// The longest query value the edge lets through (`MAILROOM_MAX_QUERY_VALUE_CHARS`'s
/// default).
const MAX_QUERY_CHARS: u64 = 500;

/// `(schema, property, pattern)`: the strings with a shape of their own. A
/// list property's pattern applies to its items.
const PATTERNS: &[(&str, &str, &str)] = &[
    ("NewAccount", "user_email", EMAIL),
    ("NewAccount", "email_address", EMAIL),
    ("DirectoryUserBody", "email", TEAM_EMAIL),
    ("DirectoryContactBody", "emails", EMAIL),
    ("DirectoryInvestorBody", "domains", DOMAIN),
    ("TestEmailBody", "to", EMAIL),
    ("DraftBody", "body", NOT_BLANK),
    ("NewNeverLogEntry", "value", ADDRESS_OR_DOMAIN),
];

/// `(operationId, list)`: the list each `cursor` parameter pages.
const CURSORS: &[(&str, List)] = &[
    ("listEmailActivity", List::Activity),
    ("listProposals", List::Proposals),
    ("listDigestSends", List::DigestSends),
    ("listEmailAccountErrors", List::CaptureErrors),
    ("listDrafts", List::Drafts),
    ("listEmailAccounts", List::Accounts),
    ("listActivityInvestors", List::Investors),
    ("listNeverLog", List::NeverLog),
    ("listJobs", List::Jobs),
];

/// The pattern of a cursor of `list`, hex-encoded, with the bounds under
/// which it decodes: `<list>:<microseconds>:<id>` for lists by time,
/// `<list>:<id>` for lists by id.
fn cursor_pattern(list: List) -> String {
    let tag = hex(list.tag());
    if list.by_id() {
        format!("^{tag}3a(?:2d)?(?:3[0-9]){{1,18}}$")
    } else {
        format!("^{tag}3a(?:2d)?(?:3[0-9]){{1,16}}3a(?:3[0-9]){{1,18}}$")
    }
}

/// Applies the rules of the module documentation to `doc`.
pub fn describe_inputs(doc: &mut Value) {
    let requests = reachable_schemas(doc, "requestBody");
    // An empty `to` is refused (422): the document says a list, when given,
    // names someone.
    doc["components"]["schemas"]["TestEmailBody"]["properties"]["to"]["minItems"] = json!(1);
    for (schema, prop, pattern) in PATTERNS {
        let p = doc["components"]["schemas"][*schema]["properties"]
            .get_mut(*prop)
            .unwrap_or_else(|| panic!("{schema}.{prop} is in the document"));
        let target = if p["type"] == "array" {
            &mut p["items"]
        } else {
            p
        };
        target["pattern"] = json!(pattern);
    }
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        for (name, schema) in schemas.iter_mut() {
            if !requests.contains(name) || schema["type"] != "object" {
                continue;
            }
            schema["additionalProperties"] = json!(false);
            let required: BTreeSet<String> = schema["required"]
                .as_array()
                .map(|r| {
                    r.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(props) = schema["properties"].as_object_mut() {
                for (name, prop) in props.iter_mut() {
                    if !required.contains(name) {
                        optional_takes_null(prop);
                    }
                    no_nul(prop);
                    if prop["type"] == "array" {
                        no_nul(&mut prop["items"]);
                    }
                }
            }
        }
    }
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for op in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in op.values_mut() {
            let id = op["operationId"].as_str().unwrap_or_default().to_string();
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            for param in params.iter_mut().filter(|p| p["in"] == "query") {
                let is_cursor = param["name"] == "cursor";
                let schema = &mut param["schema"];
                if is_cursor && let Some((_, list)) = CURSORS.iter().find(|(op, _)| *op == id) {
                    schema["pattern"] = json!(cursor_pattern(*list));
                }
                if schema["type"] == "string" && schema.get("format").is_none() {
                    no_nul(schema);
                    let max = schema["maxLength"].as_u64().unwrap_or(MAX_QUERY_CHARS);
                    schema["maxLength"] = json!(max.min(MAX_QUERY_CHARS));
                }
            }
        }
    }
}

/// poem-openapi reads `null` for an optional body field as "not given" (its
/// default), so the document says the field may be `null`.
fn optional_takes_null(prop: &mut Value) {
    if let Some(reference) = prop.get("$ref").cloned() {
        // A `$ref` takes no siblings in OpenAPI 3.0.
        *prop = json!({"allOf": [{"$ref": reference}], "nullable": true});
    } else {
        prop["nullable"] = json!(true);
    }
}

/// A free-text string schema gets the no-NUL pattern (a string with a
/// pattern of its own already excludes NUL).
fn no_nul(schema: &mut Value) {
    let free_text = schema["type"] == "string"
        && schema.get("enum").is_none()
        && schema.get("format").is_none()
        && schema.get("pattern").is_none();
    if free_text {
        schema["pattern"] = json!(NO_NUL);
    }
}

/// The names of the component schemas reachable through `$ref` from every
/// operation's `key` (`requestBody` or `responses`).
pub fn reachable_schemas(doc: &Value, key: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(paths) = doc["paths"].as_object() {
        for item in paths.values().filter_map(Value::as_object) {
            for op in item.values() {
                walk(doc, &op[key], &mut out);
            }
        }
    }
    out
}

fn walk(doc: &Value, value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                && out.insert(name.to_string())
            {
                walk(doc, &doc["components"]["schemas"][name], out);
            }
            map.values().for_each(|v| walk(doc, v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| walk(doc, v, out)),
        _ => {}
    }
}
