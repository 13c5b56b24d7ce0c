//! What every request passes before a handler sees it: a request id and its
//! log line, a bounded body read in bounded time, and the refusal of text no
//! database can store.
//!
//! The body is read here, before authentication and JSON parsing, so an
//! oversized body costs at most the route's limit in memory whoever sends
//! it, and is answered 413 before any handler runs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use poem::error::ReadBodyError;
use poem::http::{HeaderValue, Method, StatusCode};
use poem::{Body, Endpoint, IntoResponse, Request, Response};
use poem_openapi::payload::Json;
use tracing::Instrument;

use crate::http::error::{ErrorBody, ErrorCode};

/// The request-level limits (`MAILROOM_MAX_BODY_BYTES`,
/// `MAILROOM_MAX_DIRECTORY_BYTES`, `MAILROOM_BODY_TIMEOUT_S`,
/// `MAILROOM_MAX_QUERY_VALUE_CHARS`, `MAILROOM_SLOW_REQUEST_MS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// The largest body of a JSON command.
    pub max_body_bytes: usize,
    /// The largest body of `PUT /api/admin/directory` (the whole directory).
    pub max_directory_bytes: usize,
    /// Time a client has to send the whole body once the headers are in.
    pub body_timeout: Duration,
    /// The longest value of one query parameter (`q` included), decoded.
    pub max_query_value_chars: usize,
    /// A request slower than this is logged at INFO.
    pub slow_request: Duration,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            max_directory_bytes: 5 * 1024 * 1024,
            body_timeout: Duration::from_secs(30),
            max_query_value_chars: 500,
            slow_request: Duration::from_secs(2),
        }
    }
}

/// The response header carrying the request id, also accepted from a proxy.
pub const REQUEST_ID: &str = "x-request-id";

/// A fixed-text JSON error, for refusals made before any handler runs.
pub fn refusal(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let mut resp = Json(ErrorBody {
        error: code,
        message: message.into(),
    })
    .into_response();
    resp.set_status(status);
    resp
}

/// Gives the request an id, logs it once it is answered (DEBUG; INFO for a
/// 5xx or a slow request) and returns the id as `x-request-id`.
pub async fn log_request<E: Endpoint>(
    ep: Arc<E>,
    req: Request,
    slow: Duration,
) -> poem::Result<Response> {
    let id = incoming_id(&req).unwrap_or_else(new_id);
    let method = req.method().clone();
    // The path only: a query can hold search text, which is not logged.
    let path = req.uri().path().to_string();
    let span = tracing::info_span!("request", request_id = %id);
    let started = Instant::now();
    let mut resp = ep.get_response(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = resp.status();
    let ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    span.in_scope(|| {
        if status.is_server_error() || elapsed >= slow {
            tracing::info!(%method, %path, status = status.as_u16(), ms, "request");
        } else {
            tracing::debug!(%method, %path, status = status.as_u16(), ms, "request");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    Ok(resp)
}

/// A proxy's id is kept when it is short and plain, so the two logs join.
fn incoming_id(req: &Request) -> Option<String> {
    let v = req.headers().get(REQUEST_ID)?.to_str().ok()?;
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    ok.then(|| v.to_string())
}

fn new_id() -> String {
    let n: u64 = rand::random();
    format!("{n:016x}")
}

/// What the document says of each route: its methods and, per method,
/// whether the operation takes query parameters and a body. The edge checks
/// only what an operation takes, so it never answers a status the
/// operation's documentation leaves out; and a 405 names the methods.
pub struct DocumentedRoutes(Vec<(Vec<Option<String>>, Vec<Documented>)>);

/// One documented operation's inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Documented {
    method: String,
    query: bool,
    body: bool,
}

impl DocumentedRoutes {
    /// From the OpenAPI document's text (an unreadable one documents nothing).
    pub fn from_document(document: &str) -> Self {
        let doc: serde_json::Value = serde_json::from_str(document).unwrap_or_default();
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            let segments = path
                .split('/')
                .map(|s| (!s.starts_with('{')).then(|| s.to_string()))
                .collect();
            let operations = item
                .as_object()
                .into_iter()
                .flatten()
                .map(|(method, op)| Documented {
                    method: method.to_uppercase(),
                    query: op["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|p| p["in"] == "query"),
                    body: op.get("requestBody").is_some(),
                })
                .collect();
            out.push((segments, operations));
        }
        Self(out)
    }

    /// The documented path `path` is, preferring literal segments over
    /// parameters (`/activity/investors` over `/activity/{email_id}`), as
    /// the router does.
    fn route(&self, path: &str) -> Option<&[Documented]> {
        let parts: Vec<&str> = path.split('/').collect();
        self.0
            .iter()
            .filter(|(segments, _)| {
                segments.len() == parts.len()
                    && segments
                        .iter()
                        .zip(&parts)
                        .all(|(s, p)| s.as_deref().is_none_or(|s| s == *p))
            })
            .max_by_key(|(segments, _)| segments.iter().filter(|s| s.is_some()).count())
            .map(|(_, operations)| operations.as_slice())
    }

    /// The `Allow` header of a documented path: `GET, POST`.
    pub fn allow(&self, path: &str) -> Option<String> {
        self.route(path).map(|ops| {
            ops.iter()
                .map(|o| o.method.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
    }

    fn operation(&self, method: &Method, path: &str) -> Option<&Documented> {
        self.route(path)?
            .iter()
            .find(|o| o.method == method.as_str())
    }
}

/// Refuses what no handler should see: an oversized or slow body (413/408),
/// and text a database cannot store (422). Otherwise the body, read whole,
/// goes on to the routes. A documented operation's query values are checked
/// only when it takes query parameters, and its body only when it takes one
/// (a body sent to any other is dropped unread, as its handler would ignore
/// it); what no operation documents is checked whole.
pub async fn check_input<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    limits: RequestLimits,
    routes: Arc<DocumentedRoutes>,
) -> poem::Result<Response> {
    let (query, body) = routes
        .operation(req.method(), req.uri().path())
        .map_or((true, true), |op| (op.query, op.body));
    if query && let Some(refused) = check_query(&req, limits.max_query_value_chars) {
        return Ok(refused);
    }
    if !body {
        req.set_body(Body::empty());
        return Ok(ep.get_response(req).await);
    }
    let limit = if req.method() == Method::PUT && req.uri().path() == "/api/admin/directory" {
        limits.max_directory_bytes
    } else {
        limits.max_body_bytes
    };
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Ok(too_large(limit));
    }
    let body = req.take_body();
    let bytes = match tokio::time::timeout(limits.body_timeout, body.into_bytes_limit(limit)).await
    {
        Err(_) => {
            return Ok(refusal(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::RequestTimeout,
                "the request body did not arrive in time",
            ));
        }
        Ok(Err(ReadBodyError::PayloadTooLarge)) => return Ok(too_large(limit)),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "failed to read the request body");
            return Ok(refusal(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                "the request body could not be read",
            ));
        }
        Ok(Ok(bytes)) => bytes,
    };
    if holds_nul(&bytes) {
        return Ok(nul_refused());
    }
    req.set_body(Body::from_bytes(bytes));
    Ok(ep.get_response(req).await)
}

fn too_large(limit: usize) -> Response {
    refusal(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
        &format!("the request body is larger than this operation accepts ({limit} bytes)"),
    )
}

fn nul_refused() -> Response {
    refusal(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::Unprocessable,
        "text must not contain NUL characters",
    )
}

/// A query value that is too long (a search text the database would choke
/// on) or holds a NUL is refused before any handler parses it.
fn check_query(req: &Request, max_chars: usize) -> Option<Response> {
    let query = req.uri().query()?;
    for pair in query.split('&') {
        let value = pair.split_once('=').map_or("", |(_, v)| v);
        let decoded = percent_decode(value);
        if decoded.contains('\0') {
            return Some(nul_refused());
        }
        if decoded.chars().count() > max_chars {
            return Some(refusal(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::Unprocessable,
                &format!("a query parameter is longer than {max_chars} characters"),
            ));
        }
    }
    None
}

/// Decodes `%XX` and `+`; invalid escapes stay as they are (the handler's own
/// parsing refuses them).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// PostgreSQL cannot store a NUL in text; SQLite can. Refusing it here, for
/// every body, keeps the two backends alike. A raw NUL byte is never valid
/// JSON, so only the `\u0000` escape needs the parse.
fn holds_nul(bytes: &[u8]) -> bool {
    if bytes.contains(&0) {
        return true;
    }
    let escaped = bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000"));
    if !escaped {
        return false;
    }
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(v) => value_holds_nul(&v),
        // Not JSON: the handler refuses it with its own 400.
        Err(_) => false,
    }
}

fn value_holds_nul(v: &serde_json::Value) -> bool {
    use serde_json::Value as V;
    match v {
        V::String(s) => s.contains('\0'),
        V::Array(items) => items.iter().any(value_holds_nul),
        V::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains('\0') || value_holds_nul(v)),
        V::Null | V::Bool(_) | V::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_segment_wins_over_a_parameter_whatever_the_order() {
        let segments = |p: &str| -> Vec<Option<String>> {
            p.split('/')
                .map(|s| (!s.starts_with('{')).then(|| s.to_string()))
                .collect()
        };
        let get = |query: bool| Documented {
            method: "GET".into(),
            query,
            body: false,
        };
        let routes = DocumentedRoutes(vec![
            (segments("/api/email/activity/{email_id}"), vec![get(false)]),
            (segments("/api/email/activity/investors"), vec![get(true)]),
        ]);
        let op = |path: &str| routes.operation(&Method::GET, path).cloned();
        assert_eq!(op("/api/email/activity/investors"), Some(get(true)));
        assert_eq!(op("/api/email/activity/42"), Some(get(false)));
        assert_eq!(op("/api/email/activity/42/more"), None);
        assert_eq!(
            routes.allow("/api/email/activity/7").as_deref(),
            Some("GET")
        );
    }

    #[test]
    fn nul_is_found_in_json_strings_and_keys_but_not_in_an_escaped_backslash() {
        assert!(holds_nul(br#"{"name": "a\u0000b"}"#));
        assert!(holds_nul(br#"{"a\u0000": 1}"#));
        assert!(holds_nul(br#"["x", {"y": ["\u0000"]}]"#));
        assert!(holds_nul(b"{\"name\": \"a\0b\"}"));
        assert!(!holds_nul(br#"{"name": "a\\u0000b"}"#));
        assert!(!holds_nul(br#"{"name": "plain"}"#));
    }

    #[test]
    fn percent_decoding_handles_escapes_plus_and_broken_escapes() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("%00"), "\0");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
