//! Secrets never reach a log line, an HTTP response or `/healthz`: capture,
//! drafts and the digest run with known secret values (the JWT secret, the
//! service account's private key, the access tokens the fake Google hands
//! out, the SMTP password, the Spark key), also while the upstreams answer
//! with errors that quote those credentials back, and every byte the app
//! logged or answered is searched for them.
//!
//! One test per binary: the log capture is the process's global subscriber.

use std::io::Write;
use std::sync::{Arc, Mutex};

use mailroom_tests::app::{Backend, TEST_JWT_SECRET};
use mailroom_tests::capture_team::{ANN, BOB, CAPITAL_CALL_ID, CaptureTeam, seed_mail};
use mailroom_tests::fake_google::{Endpoint, FakeGoogleConfig, Fault};
use mailroom_tests::fake_spark::{FakeSpark, SparkMode};
use mailroom_tests::smtp_server::{SmtpServer, SmtpServerConfig};
use serde_json::{Value, json};
use tracing_subscriber::fmt::MakeWriter;

const SMTP_PASSWORD: &str = "smtp-secret-Qv7uTz3pL0";
const SPARK_KEY: &str = "sk-spark-secret-9fK2mWq8Rr";

/// Everything the app logged, as text.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log lock")).into_owned()
    }
}

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Every status line, header and body the app answered.
#[derive(Default)]
struct Answers(Vec<String>);

impl Answers {
    async fn call(
        &mut self,
        team: &CaptureTeam,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        token: bool,
    ) -> (reqwest::StatusCode, Value) {
        let mut request = team.app.http.request(method.clone(), team.app.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        if token {
            request = request.bearer_auth(team.app.token(ANN));
        }
        let response = request.send().await.expect("the app answers");
        let status = response.status();
        let headers = format!("{:?}", response.headers());
        let text = response.text().await.expect("a body");
        self.0
            .push(format!("{method} {path} -> {status}\n{headers}\n{text}"));
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&mut self, team: &CaptureTeam, path: &str) -> (reqwest::StatusCode, Value) {
        self.call(team, reqwest::Method::GET, path, None, true)
            .await
    }

    async fn post(
        &mut self,
        team: &CaptureTeam,
        path: &str,
        body: Value,
    ) -> (reqwest::StatusCode, Value) {
        self.call(team, reqwest::Method::POST, path, Some(body), true)
            .await
    }
}

/// A PEM's base64 lines long enough to be unmistakable.
fn key_fragments(service_account_json: &str) -> Vec<String> {
    let key: Value = serde_json::from_str(service_account_json).expect("key file JSON");
    let pem = key["private_key"].as_str().expect("a private key");
    pem.lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 40)
        .map(|l| l[..40].to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_log_line_an_http_response_or_healthz() {
    let logs = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "info,mailroom_app=trace,mailroom_adapters=trace,mailroom_domain=trace",
        ))
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let smtp = SmtpServer::start(SmtpServerConfig {
        password: SMTP_PASSWORD.into(),
        ..SmtpServerConfig::default()
    });
    let spark = FakeSpark::start(SparkMode::Normal).await;
    let smtp_port = smtp.port().to_string();
    let spark_url = spark.base_url();
    let smtp_user = SmtpServerConfig::default().username;
    let team = CaptureTeam::start_with_env(
        Backend::Sqlite,
        FakeGoogleConfig::default(),
        |c| c,
        &[
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", &smtp_port),
            ("SMTP_TLS", "none"),
            ("SMTP_FROM", "digest@fund.com"),
            ("SMTP_USERNAME", &smtp_user),
            ("SMTP_PASSWORD", SMTP_PASSWORD),
            ("SPARK_BASE_URL", &spark_url),
            ("SPARK_API_KEY", SPARK_KEY),
        ],
    )
    .await;
    let mut answers = Answers::default();
    seed_mail(&team.google);

    // Capture, cleanly and with Gmail quoting the bearer token back.
    for account in [team.ann_box, team.bob_box] {
        let (status, body) = answers
            .post(
                &team,
                &format!("/api/email/accounts/{account}/sync"),
                json!({}),
            )
            .await;
        assert!(status.is_success(), "{body}");
    }
    team.google
        .push_faults(Endpoint::HistoryList, [Fault::EchoCredentials(500)]);
    team.google
        .push_faults(Endpoint::MessagesList, [Fault::EchoCredentials(500)]);
    let _ = answers
        .post(
            &team,
            &format!("/api/email/accounts/{}/sync", team.ann_box),
            json!({}),
        )
        .await;
    team.google.revoke_tokens();
    team.google
        .push_faults(Endpoint::Token, [Fault::EchoCredentials(400)]);
    let _ = answers
        .post(
            &team,
            &format!("/api/email/accounts/{}/sync", team.bob_box),
            json!({}),
        )
        .await;
    for path in [
        "/api/email/accounts",
        &format!("/api/email/accounts/{}/errors", team.ann_box),
        "/api/email/activity?limit=200",
        "/api/admin/status",
    ] {
        let _ = answers.get(&team, path).await;
    }

    // Drafts, answered and refused with the token quoted.
    let email_id = team.email_id(CAPITAL_CALL_ID).await;
    let draft = json!({"email_id": email_id, "body": "Thanks, noted.", "reply_all": true});
    let (status, body) = answers
        .post(&team, "/api/email/drafts", draft.clone())
        .await;
    assert!(status.is_success(), "{body}");
    team.google
        .push_faults(Endpoint::DraftsCreate, [Fault::EchoCredentials(500)]);
    let (status, _) = answers.post(&team, "/api/email/drafts", draft).await;
    assert!(!status.is_success(), "the echoing Gmail refused the draft");

    // The digest: preview, send-now and test email through Gmail, then with
    // Gmail and Spark quoting credentials, so the SMTP fallback runs too.
    let _ = answers.get(&team, "/api/admin/digest/preview").await;
    let (status, body) = answers
        .post(&team, "/api/admin/digest/send-now", json!({}))
        .await;
    assert!(status.is_success(), "{body}");
    spark.set_mode(SparkMode::EchoKey);
    team.google.push_faults(
        Endpoint::MessagesSend,
        std::iter::repeat_n(Fault::EchoCredentials(400), 4),
    );
    let _ = answers
        .post(&team, "/api/admin/digest/test-email", json!({}))
        .await;
    let _ = answers
        .post(&team, "/api/admin/digest/send-now", json!({}))
        .await;
    let _ = answers.get(&team, "/api/admin/digest/sends").await;
    let _ = answers
        .call(&team, reqwest::Method::GET, "/healthz", None, false)
        .await;
    let _ = answers
        .call(&team, reqwest::Method::GET, "/readyz", None, false)
        .await;
    assert!(
        spark.requests().iter().any(|r| r
            .authorization
            .as_deref()
            .is_some_and(|a| a.contains(SPARK_KEY))),
        "the Spark key was in use"
    );
    assert!(
        !smtp.messages().is_empty() || !team.google.sent(ANN).is_empty(),
        "a digest went out"
    );

    let mut secrets: Vec<(String, String)> = vec![
        ("the JWT secret".into(), TEST_JWT_SECRET.into()),
        ("the SMTP password".into(), SMTP_PASSWORD.into()),
        ("the Spark key".into(), SPARK_KEY.into()),
    ];
    for fragment in key_fragments(&team.google.service_account_json()) {
        secrets.push(("the service account's private key".into(), fragment));
    }
    let tokens = team.google.issued_tokens();
    assert!(!tokens.is_empty(), "the fake handed out access tokens");
    for token in tokens {
        secrets.push(("a Gmail access token".into(), token));
    }
    let _ = BOB;

    let log_text = logs.text();
    assert!(
        log_text.lines().count() > 10,
        "the app's log was captured:\n{log_text}"
    );
    let mut leaks = Vec::new();
    for (what, secret) in &secrets {
        for line in log_text.lines().filter(|l| l.contains(secret.as_str())) {
            leaks.push(format!("{what} in a log line: {line}"));
        }
        for answer in answers.0.iter().filter(|a| a.contains(secret.as_str())) {
            leaks.push(format!("{what} in an HTTP answer: {answer}"));
        }
    }
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}
