//! The real binary's log written to a file: no colour codes (the output is
//! not a terminal), and ordinary requests are not logged at INFO (only at
//! DEBUG), while every answer still carries its `x-request-id`.

use mailroom_tests::app::TEST_JWT_SECRET;
use mailroom_tests::db::TestDb;
use mailroom_tests::service::Service;

fn env(db: &TestDb, rust_log: &str) -> Vec<(String, String)> {
    vec![
        ("DATABASE_URL".into(), db.url.clone()),
        ("CRM_JWT_SECRET".into(), TEST_JWT_SECRET.into()),
        ("RUST_LOG".into(), rust_log.into()),
    ]
}

/// Sends a few ordinary requests (200, 401, 404) and returns their ids.
async fn some_requests(service: &Service) -> Vec<String> {
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for path in ["/healthz", "/api/me", "/api/nothing-here", "/readyz"] {
        for _ in 0..5 {
            let resp = http
                .get(format!("{}{path}", service.base))
                .send()
                .await
                .expect("an answer");
            assert!(!resp.status().is_server_error(), "{path}");
            let id = resp
                .headers()
                .get("x-request-id")
                .unwrap_or_else(|| panic!("{path} answered without x-request-id"))
                .to_str()
                .expect("a plain id")
                .to_string();
            ids.push(id);
        }
    }
    ids
}

fn request_lines(log: &str) -> usize {
    log.lines()
        .filter(|line| line.contains(" request ") || line.contains("request_id="))
        .count()
}

#[tokio::test]
async fn a_file_log_has_no_colour_codes_and_ordinary_requests_stay_out_of_info() {
    let db = TestDb::sqlite().await;
    let service = Service::start(&env(&db, "info")).await;
    let ids = some_requests(&service).await;
    let log = service.log();
    assert!(log.contains("listening"), "the log is written: {log}");
    assert!(!log.contains('\u{1b}'), "colour codes in a file log: {log}");
    assert_eq!(request_lines(&log), 0, "requests logged at INFO: {log}");
    for id in &ids {
        assert!(
            !log.contains(id.as_str()),
            "request {id} logged at INFO: {log}"
        );
    }
}

#[tokio::test]
async fn at_debug_each_request_is_logged_once_with_its_id() {
    let db = TestDb::sqlite().await;
    let service = Service::start(&env(&db, "info,mailroom_app=debug")).await;
    let ids = some_requests(&service).await;
    // Logged once answered: give the last line a moment to reach the file.
    let last = ids.last().expect("ids").clone();
    service
        .wait_for_log(&last, std::time::Duration::from_secs(10))
        .await;
    let log = service.log();
    assert!(!log.contains('\u{1b}'), "colour codes in a file log: {log}");
    for id in &ids {
        assert_eq!(
            log.matches(id.as_str()).count(),
            1,
            "request {id} is logged once: {log}"
        );
    }
}
