//! The HTTP API on poem + poem-openapi: routes, the OpenAPI document, Swagger UI.

pub mod accounts;
pub mod activity;
pub mod audit;
pub mod auth;
pub mod console;
mod cors;
pub mod digest;
pub mod directory;
pub mod drafts;
pub mod edge;
pub mod error;
pub mod examples;
pub mod health;
mod inputs;
pub mod jobs;
pub mod me;
pub mod never_log;
pub mod paging;
pub mod proposals;
pub mod server;
pub mod types;
pub mod views;

pub mod wire;

use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::OpenApiService;

use crate::state::AppState;

type Apis = (
    health::HealthApi,
    digest::DigestApi,
    activity::ActivityApi,
    proposals::ProposalsApi,
    drafts::DraftsApi,
    accounts::AccountsApi,
    directory::DirectoryApi,
    me::MeApi,
    never_log::NeverLogApi,
    jobs::JobsApi,
    audit::AuditApi,
);

fn service() -> OpenApiService<Apis, ()> {
    let apis = (
        health::HealthApi,
        digest::DigestApi,
        activity::ActivityApi,
        proposals::ProposalsApi,
        drafts::DraftsApi,
        accounts::AccountsApi,
        directory::DirectoryApi,
        me::MeApi,
        never_log::NeverLogApi,
        jobs::JobsApi,
        audit::AuditApi,
    );
    OpenApiService::new(apis, "mailroom", env!("CARGO_PKG_VERSION"))
        .description(
            "The email side of the fund's CRM: capture, proposals, drafts and the daily admin digest.",
        )
        .server(
            poem_openapi::ServerObject::new("/")
                .description("The mailroom service that serves this document"),
        )
}

/// The OpenAPI document as the service serves it at `/openapi.json`: what
/// poem-openapi generates, finished by [`finish_document`].
pub fn openapi_json() -> String {
    let mut doc: serde_json::Value =
        serde_json::from_str(&service().spec()).expect("poem-openapi writes valid JSON");
    finish_document(&mut doc);
    single_ref_all_of(&mut doc);
    describe_successes(&mut doc);
    require_nullable(&mut doc);
    inputs::describe_inputs(&mut doc);
    let mut out = serde_json::to_string_pretty(&doc).expect("a JSON value serializes");
    out.push('\n');
    out
}

/// poem-openapi writes a documented field of a named type as
/// `allOf: [{$ref}, {description}]`. Generators read the second member as a
/// schema of its own (hey-api's zod plugin makes it `unknown` and intersects,
/// which fails on any coerced integer inside), so the document keeps one
/// member: `allOf: [{$ref}]` beside the field's description and `nullable`.
fn single_ref_all_of(doc: &mut serde_json::Value) {
    use serde_json::Value;
    let Some(schemas) = doc["components"]["schemas"].as_object_mut() else {
        return;
    };
    for schema in schemas.values_mut() {
        // `get_mut`, not indexing: indexing a missing key inserts a `null`.
        let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
            continue;
        };
        for prop in props.values_mut() {
            let Some(all_of) = prop.get_mut("allOf").and_then(Value::as_array_mut) else {
                continue;
            };
            let only_notes = |m: &Value| {
                m.as_object().is_some_and(|m| {
                    m.keys()
                        .all(|k| matches!(k.as_str(), "description" | "nullable"))
                })
            };
            if all_of.len() != 2 || all_of[0].get("$ref").is_none() || !only_notes(&all_of[1]) {
                continue;
            }
            let notes = all_of.pop().expect("two members");
            for (key, value) in notes.as_object().expect("checked above") {
                prop[key.as_str()] = value.clone();
            }
        }
    }
}

/// poem-openapi leaves a `Json<T>` answer's description empty: say what it
/// is, from the schema's own description.
fn describe_successes(doc: &mut serde_json::Value) {
    use serde_json::Value;
    let schemas = doc["components"]["schemas"].clone();
    let describe = |schema: &Value| -> String {
        let named = |r: &Value| {
            r.as_str().and_then(|r| r.rsplit('/').next()).map(|name| {
                schemas[name]["description"]
                    .as_str()
                    .map(|d| d.trim_end_matches('.').to_string())
                    .unwrap_or_else(|| name.to_string())
            })
        };
        if let Some(d) = named(&schema["$ref"]) {
            d
        } else if let Some(d) = named(&schema["items"]["$ref"]) {
            format!("A list: {d}")
        } else {
            "Success".to_string()
        }
    };
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for op in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in op.values_mut() {
            let Some(responses) = op["responses"].as_object_mut() else {
                continue;
            };
            for (status, resp) in responses.iter_mut() {
                if status.starts_with('2') && resp["description"].as_str().unwrap_or("").is_empty()
                {
                    let d = describe(&resp["content"]["application/json"]["schema"]);
                    resp["description"] = Value::String(format!("{d}."));
                }
            }
        }
    }
}

/// A response field that can be empty is always sent, as `null`: a property
/// marked `#[oai(nullable)]` is therefore also required.
fn require_nullable(doc: &mut serde_json::Value) {
    use serde_json::Value;
    let responses = inputs::reachable_schemas(doc, "responses");
    let Some(schemas) = doc["components"]["schemas"].as_object_mut() else {
        return;
    };
    for (name, schema) in schemas.iter_mut() {
        if !responses.contains(name) {
            // In a request an optional field may be absent or `null`.
            continue;
        }
        let Some(props) = schema["properties"].as_object() else {
            continue;
        };
        let nullable: Vec<String> = props
            .iter()
            .filter(|(_, p)| p["nullable"] == Value::Bool(true))
            .map(|(name, _)| name.clone())
            .collect();
        if nullable.is_empty() {
            continue;
        }
        if !schema["required"].is_array() {
            schema["required"] = Value::Array(Vec::new());
        }
        let required = schema["required"].as_array_mut().expect("an array");
        for name in nullable {
            if !required.iter().any(|r| r == name.as_str()) {
                required.push(Value::String(name));
            }
        }
    }
}

/// The media type poem-openapi's `Json` payload declares.
const POEM_JSON: &str = "application/json; charset=utf-8";

/// What poem-openapi cannot say by itself: media types are keyed plain
/// `application/json` (the body is UTF-8 JSON either way, and generators
/// match the plain key).
fn finish_document(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(content)) = map.get_mut("content")
                && let Some(media) = content.remove(POEM_JSON)
            {
                content.insert("application/json".into(), media);
            }
            for v in map.values_mut() {
                finish_document(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(finish_document),
        _ => {}
    }
}

async fn allow_header<E: Endpoint>(
    ep: std::sync::Arc<E>,
    req: poem::Request,
    routes: std::sync::Arc<edge::DocumentedRoutes>,
) -> poem::Result<poem::Response> {
    let path = req.uri().path().to_string();
    let mut resp = ep.get_response(req).await;
    if resp.status() == poem::http::StatusCode::METHOD_NOT_ALLOWED
        && let Some(methods) = routes.allow(&path)
        && let Ok(v) = poem::http::HeaderValue::from_str(&methods)
    {
        resp.headers_mut().insert(poem::http::header::ALLOW, v);
    }
    Ok(resp)
}

/// Every route: the API, `/openapi.json`, Swagger UI at `/docs`, and the
/// web console at `/` (any other non-API path), with the default request limits.
pub fn routes(state: AppState) -> impl Endpoint + 'static {
    routes_with(state, edge::RequestLimits::default())
}

/// [`routes`] with the configured request limits.
pub fn routes_with(state: AppState, limits: edge::RequestLimits) -> impl Endpoint + 'static {
    let origins: std::sync::Arc<[String]> = state.cors_origins.clone().into();
    let api = service();
    let document = openapi_json();
    let documented = std::sync::Arc::new(edge::DocumentedRoutes::from_document(&document));
    let allowed = documented.clone();
    let spec = poem::endpoint::make_sync(move |_| {
        poem::Response::builder()
            .content_type("application/json")
            .body(document.clone())
    });
    let docs = api.swagger_ui();
    let routes = Route::new()
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .nest("/", api);
    console::WithConsole(routes)
        .data(state)
        .catch_all_error(error::json_error)
        .around(move |ep, req| allow_header(ep, req, allowed.clone()))
        .around(move |ep, req| edge::check_input(ep, req, limits, documented.clone()))
        .around(move |ep, req| edge::log_request(ep, req, limits.slow_request))
        .around(move |ep, req| cors::cors(ep, req, origins.clone()))
}
