//! Limits at the edge: bounded bodies (413 before parsing, whoever sends
//! them), header and body deadlines, a cap on open connections, fixed error
//! texts that never echo the input, text no database can store (422 on both
//! backends), and a request id on every answer.

use std::time::Duration;

use mailroom_ports::records::Role;
use mailroom_tests::app::{Backend, TestApp, spawn_app_with};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ADMIN: &str = "admin@fund.com";
const MEMBER: &str = "member@fund.com";

async fn app(backend: Backend, env: &[(&str, &str)]) -> TestApp {
    let app = spawn_app_with(backend, env).await;
    app.add_users(&[(ADMIN, Role::Admin, true), (MEMBER, Role::Member, true)])
        .await;
    app
}

async fn json_of(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.expect("a body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection (bounded by 15 s so a
/// server that never closes fails the test instead of hanging it).
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut out)).await;
    match read {
        Ok(_) => String::from_utf8_lossy(&out).into_owned(),
        Err(_) => panic!(
            "the server kept the connection open; got so far: {}",
            String::from_utf8_lossy(&out)
        ),
    }
}

#[tokio::test]
async fn a_json_body_over_the_limit_is_refused_413_with_the_error_shape() {
    let app = app(Backend::Sqlite, &[("MAILROOM_MAX_BODY_BYTES", "1024")]).await;
    let big = json!({"user_email": "a".repeat(4096), "email_address": ADMIN});
    let resp = app
        .http
        .post(app.url("/api/email/accounts"))
        .bearer_auth(app.token(ADMIN))
        .json(&big)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"], "payload_too_large");
    assert!(!body["message"].as_str().unwrap().contains("aaaa"));
}

/// The edge checks only what an operation takes, so it never answers a
/// status the document leaves out of that operation: a body sent to one that
/// takes none is dropped unread (not 413), and query values are not checked
/// where no query parameter is declared (not 422); the connection serves
/// the next request as usual.
#[tokio::test]
async fn what_an_operation_does_not_take_is_ignored_not_refused() {
    let app = app(Backend::Sqlite, &[("MAILROOM_MAX_BODY_BYTES", "1024")]).await;
    for _ in 0..2 {
        let resp = app
            .http
            .get(app.url("/api/me?note=a%00b"))
            .bearer_auth(app.token(ADMIN))
            .body("x".repeat(64 * 1024))
            .send()
            .await
            .unwrap();
        let (status, body) = json_of(resp).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["email"], ADMIN);
    }
    // Where the operation takes them, the same inputs are refused.
    let resp = app
        .http
        .get(app.url("/api/email/activity?q=a%00b"))
        .bearer_auth(app.token(ADMIN))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = app
        .http
        .patch(app.url("/api/admin/digest/policy"))
        .bearer_auth(app.token(ADMIN))
        .header("content-type", "application/json")
        .body("x".repeat(64 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_chunked_body_without_a_length_is_cut_at_the_limit() {
    let app = app(Backend::Sqlite, &[("MAILROOM_MAX_BODY_BYTES", "1024")]).await;
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    let head = format!(
        "POST /api/email/accounts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        app.token(MEMBER)
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // 64 chunks of 1 KiB: far over the limit; the server answers before the end.
    let chunk = format!("400\r\n{}\r\n", "a".repeat(1024));
    for _ in 0..64 {
        if s.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let answer = read_to_close(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");
}

#[tokio::test]
async fn a_members_oversized_directory_is_413_and_a_members_unparsable_one_is_403() {
    let app = app(
        Backend::Sqlite,
        &[("MAILROOM_MAX_DIRECTORY_BYTES", "10000")],
    )
    .await;
    let big = "x".repeat(20_000);
    let resp = app
        .http
        .put(app.url("/api/admin/directory"))
        .bearer_auth(app.token(MEMBER))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Under the limit, the member is refused before the body is parsed.
    let resp = app
        .http
        .put(app.url("/api/admin/directory"))
        .bearer_auth(app.token(MEMBER))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_directory_has_its_own_larger_but_bounded_limit() {
    let app = app(Backend::Sqlite, &[]).await;
    // 120k users (about 12 MB) is over the 5 MiB default.
    let users: Vec<Value> = (0..120_000)
        .map(|i| json!({"email": format!("u{i}@fund.com"), "display_name": "U", "role": "member", "is_active": true}))
        .collect();
    let resp = app
        .http
        .put(app.url("/api/admin/directory"))
        .bearer_auth(app.token(ADMIN))
        .json(&json!({ "users": users }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // 200 KiB of directory is over the JSON-command limit but fine here.
    let users: Vec<Value> = (0..2_000)
        .map(|i| json!({"email": format!("u{i}@fund.com"), "display_name": "U", "role": "member", "is_active": true}))
        .collect();
    let resp = app
        .http
        .put(app.url("/api/admin/directory"))
        .bearer_auth(app.token(ADMIN))
        .json(&json!({ "users": users }))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn parse_errors_answer_fixed_texts_that_never_echo_the_input() {
    let app = app(Backend::Sqlite, &[]).await;
    let marker = "ECHO-MARKER-81723";
    let bodies = [
        json!({"user_email": 5, "email_address": marker}),
        json!({"user_email": ADMIN, "email_address": ADMIN, marker: true}),
        json!([marker]),
    ];
    for body in bodies {
        let resp = app
            .http
            .post(app.url("/api/email/accounts"))
            .bearer_auth(app.token(ADMIN))
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, answer) = json_of(resp).await;
        assert!(status.is_client_error(), "{status} {answer}");
        assert!(!answer.to_string().contains(marker), "echoed: {answer}");
    }
    let resp = app
        .http
        .post(app.url("/api/email/accounts"))
        .bearer_auth(app.token(ADMIN))
        .header("content-type", "application/json")
        .body(format!("{{\"user_email\": \"{marker}"))
        .send()
        .await
        .unwrap();
    let (status, answer) = json_of(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(!answer.to_string().contains(marker), "echoed: {answer}");
    let resp = app
        .http
        .get(app.url(&format!("/api/email/activity?limit={marker}")))
        .bearer_auth(app.token(ADMIN))
        .send()
        .await
        .unwrap();
    let (status, answer) = json_of(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(!answer.to_string().contains(marker), "echoed: {answer}");
}

async fn nul_and_long_text_are_refused_422_and_change_nothing(backend: Backend) {
    let app = app(backend, &[]).await;
    let nul_user = mailroom_ports::EmailAddress::parse("nul@fund.com").unwrap();
    let resp = app
        .http
        .put(app.url("/api/admin/directory"))
        .bearer_auth(app.token(ADMIN))
        .json(&json!({"users": [{"email": "nul@fund.com", "display_name": "a\u{0}b", "role": "member", "is_active": true}]}))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"], "unprocessable");
    assert!(
        app.state
            .store
            .user_by_email(&nul_user)
            .await
            .unwrap()
            .is_none()
    );

    for query in ["q=a%00b".to_string(), format!("q={}", "a".repeat(50_000))] {
        let resp = app
            .http
            .get(app.url(&format!("/api/email/activity?{query}")))
            .bearer_auth(app.token(ADMIN))
            .send()
            .await
            .unwrap();
        let (status, body) = json_of(resp).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(!body.to_string().contains("aaaa"), "echoed: {body}");
    }
}

#[tokio::test]
async fn nul_and_long_text_are_refused_422_on_sqlite() {
    nul_and_long_text_are_refused_422_and_change_nothing(Backend::Sqlite).await;
}

#[tokio::test]
async fn nul_and_long_text_are_refused_422_on_postgres() {
    nul_and_long_text_are_refused_422_and_change_nothing(Backend::Postgres).await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = app(Backend::Sqlite, &[("MAILROOM_HEADER_TIMEOUT_S", "1")]).await;
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut s).await;
    assert!(!answer.contains("200 OK"), "{answer}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let app = app(Backend::Sqlite, &[("MAILROOM_HEADER_TIMEOUT_S", "1")]).await;
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_408() {
    let app = app(Backend::Sqlite, &[("MAILROOM_BODY_TIMEOUT_S", "1")]).await;
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    let head = format!(
        "POST /api/email/accounts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"user_",
        app.token(ADMIN)
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let answer = read_to_close(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
}

#[tokio::test]
async fn connections_over_the_cap_are_closed_at_once_and_service_resumes_when_they_go() {
    let app = app(Backend::Sqlite, &[("MAILROOM_MAX_CONNECTIONS", "4")]).await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(addr(&app)).await.unwrap());
    }
    // The idle ones hold every slot (they are accepted in order).
    let mut extra = TcpStream::connect(addr(&app)).await.unwrap();
    let _ = extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let answer = read_to_close(&mut extra).await;
    assert!(answer.is_empty(), "over the cap, yet answered: {answer}");

    drop(idle);
    let mut answered = false;
    for _ in 0..100 {
        let ok = app.http.get(app.url("/healthz")).send().await;
        if ok.is_ok_and(|r| r.status() == StatusCode::OK) {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        answered,
        "/healthz answers once the idle connections are gone"
    );
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_plain_incoming_one_is_kept() {
    let app = app(Backend::Sqlite, &[]).await;
    let resp = app.http.get(app.url("/healthz")).send().await.unwrap();
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(!id.is_empty());
    let resp = app.http.get(app.url("/api/nowhere")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_ne!(resp.headers()["x-request-id"], id.as_str());
    let resp = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "lb-1234")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "lb-1234");
    let resp = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(resp.headers()["x-request-id"], "bad id with spaces");
}
