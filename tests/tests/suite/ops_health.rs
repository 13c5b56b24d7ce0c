//! Health, readiness and status: the public answers say ok or not and never
//! carry a path, URL or error text; `/healthz` and `/readyz` answer 503 (with
//! `Retry-After`) when the database is down or not migrated; the admin status
//! has the details, without secrets.

use mailroom_ports::records::Role;
use mailroom_tests::app::{Backend, TestApp, spawn_app_with};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;

const ADMIN: &str = "admin@fund.com";
const MEMBER: &str = "member@fund.com";
const SECRETS: [&str; 3] = [
    "hunter2-smtp-secret",
    "spark-key-secret-77",
    "urlpass-secret-55",
];

async fn app(backend: Backend) -> TestApp {
    let app = spawn_app_with(
        backend,
        &[
            (
                "SPARK_BASE_URL",
                "http://sparkuser:urlpass-secret-55@127.0.0.1:9/v1",
            ),
            ("SPARK_API_KEY", "spark-key-secret-77"),
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", "2525"),
            ("SMTP_TLS", "none"),
            ("SMTP_FROM", "digest@fund.com"),
            ("SMTP_PASSWORD", "hunter2-smtp-secret"),
            ("SMTP_USERNAME", "digest"),
            ("MAILROOM_OUTBOX_DIR", "/var/tmp/outbox-path-marker"),
        ],
    )
    .await;
    app.add_users(&[(ADMIN, Role::Admin, true), (MEMBER, Role::Member, true)])
        .await;
    app
}

async fn get(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut req = app.http.get(app.url(path));
    if let Some(user) = token {
        req = req.bearer_auth(app.token(user));
    }
    let resp = req.send().await.expect("an answer");
    let status = resp.status();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let text = resp.text().await.unwrap();
    (
        status,
        retry,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn assert_public(body: &Value) {
    let text = body.to_string();
    for forbidden in SECRETS
        .iter()
        .chain(&["outbox-path-marker", "127.0.0.1", "/", "os error"])
    {
        assert!(
            !text.contains(forbidden),
            "{forbidden} in a public answer: {text}"
        );
    }
}

#[tokio::test]
async fn healthz_and_readyz_are_public_and_say_only_ok_per_feature() {
    let app = app(Backend::Sqlite).await;
    let (status, _, health) = get(&app, "/healthz", None).await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["outbox"]["enabled"], true);
    assert_public(&health);
    let (status, _, ready) = get(&app, "/readyz", None).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["status"], "ready");
    assert_public(&ready);
}

#[tokio::test]
async fn the_admin_status_has_the_details_but_no_secret() {
    let app = app(Backend::Sqlite).await;
    let (status, _, body) = get(&app, "/api/admin/status", Some(ADMIN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["database"]["status"], "ok");
    assert_eq!(body["database"]["backend"], "sqlite");
    assert_eq!(body["config"]["outbox_dir"], "/var/tmp/outbox-path-marker");
    assert_eq!(body["config"]["spark_base_url"], "http://127.0.0.1:9/v1");
    let text = body.to_string();
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} in the status: {text}");
    }
    let (status, _, _) = get(&app, "/api/admin/status", Some(MEMBER)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = get(&app, "/api/admin/status", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_database_missing_a_migration_is_not_ready() {
    let app = app(Backend::Sqlite).await;
    let db = Database::connect(app.db.url.as_str()).await.unwrap();
    db.execute_unprepared(
        "DELETE FROM seaql_migrations WHERE version = (SELECT MAX(version) FROM seaql_migrations)",
    )
    .await
    .unwrap();
    let (status, retry, ready) = get(&app, "/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["migrations"], "pending");
    assert!(retry.is_some());
    let (_, _, body) = get(&app, "/api/admin/status", Some(ADMIN)).await;
    assert_eq!(body["database"]["pending_migrations"], 1, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_503_with_retry_after_when_the_database_is_gone() {
    let app = app(Backend::Postgres).await;
    let (status, _, _) = get(&app, "/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    let url = url::Url::parse(&app.db.url).unwrap();
    let name = url.path().trim_start_matches('/').to_string();
    let mut admin_url = url.clone();
    admin_url.set_path("/postgres");
    let admin = Database::connect(admin_url.as_str()).await.unwrap();
    admin
        .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();

    let (status, retry, health) = get(&app, "/healthz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{health}");
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["database"], "unavailable");
    assert_eq!(retry.as_deref(), Some("5"));
    assert_public(&health);
    let (status, _, ready) = get(&app, "/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["database"], "unavailable");
    assert_public(&ready);
}
