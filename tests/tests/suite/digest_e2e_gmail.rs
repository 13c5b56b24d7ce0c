//! The digest through Gmail-DWD `messages.send` in the running app (R-DIG-2,
//! R-CAP-1, R-HARD-1, R-HARD-4): a delegation grant minted from a signed
//! assertion, the fall back to SMTP, no upstream text in HTTP answers, and
//! every delivered message addressed to active admins only.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::digest_e2e_common::{
    ACTIVE_ADMINS, ANN, BOB, DAN, DIGEST_SENDER, EVERY_KNOWN_ADDRESS, Env, LogCapture, Parsed,
    SEEDED_SUBJECT, assert_seeded_digest_body, get, key_file, parse, post, post_text,
    recipients_of, seed_fund,
};
use mailroom_adapters::gmail::GmailConfig;
use mailroom_domain::digest::service::{ScheduleOutcome, TEST_SUBJECT};
use mailroom_ports::TransportKind;
use mailroom_tests::app::{Backend, TestApp, spawn_app_full};
use mailroom_tests::fake_google::{
    Endpoint, FakeGoogle, FakeGoogleConfig, Fault, TEST_SERVICE_ACCOUNT_JSON,
};
use mailroom_tests::smtp_server::{SmtpServer, SmtpServerConfig};
use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::{Request, Response, Server};
use serde_json::{Value, json};
use tempfile::NamedTempFile;
use tokio::task::JoinHandle;

const SEND_NOW: &str = "/api/admin/digest/send-now";
const TEST_EMAIL: &str = "/api/admin/digest/test-email";
const COMPOSE: &str = "https://www.googleapis.com/auth/gmail.compose";

/// The app with Gmail (against the fake) and SMTP both configured, so the
/// chain is [gmail, smtp].
struct Fixture {
    app: TestApp,
    google: FakeGoogle,
    smtp: SmtpServer,
    _key: NamedTempFile,
}

async fn fixture(extra: Env) -> Fixture {
    let google = FakeGoogle::start(FakeGoogleConfig {
        users: vec![ANN.into(), DAN.into(), DIGEST_SENDER.into()],
        ..FakeGoogleConfig::default()
    })
    .await;
    let smtp = SmtpServer::start(SmtpServerConfig::default());
    let key = key_file(&google.service_account_json());
    let env = extra.gmail(&google, key.path()).smtp(&smtp);
    let app = spawn_app_full(Backend::Sqlite, &env.pairs(), Some(google.gmail_config())).await;
    seed_fund(&app).await;
    Fixture {
        app,
        google,
        smtp,
        _key: key,
    }
}

/// Everything the fake Gmail accepted for `messages.send`, in any mailbox the
/// fund's data knows.
fn gmail_sent(google: &FakeGoogle) -> Vec<(String, Parsed)> {
    EVERY_KNOWN_ADDRESS
        .iter()
        .flat_map(|mailbox| {
            google
                .sent(mailbox)
                .into_iter()
                .map(|sent| (mailbox.to_string(), parse(&sent.raw)))
        })
        .collect()
}

async fn check_send_now_through_gmail(sender: Option<&str>, expected_sender: &str) {
    let env = match sender {
        Some(s) => Env::new().set("CRM_DIGEST_SENDER", s),
        None => Env::new(),
    };
    let f = fixture(env).await;

    let (status, answer) = post(&f.app, SEND_NOW, ANN, json!({})).await;

    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["transport"], "gmail");
    assert_eq!(recipients_of(&answer), ACTIVE_ADMINS);
    assert_eq!(answer["subject"], SEEDED_SUBJECT);

    let sent = gmail_sent(&f.google);
    assert_eq!(sent.len(), 1, "one messages.send, in one mailbox");
    let (mailbox, message) = &sent[0];
    assert_eq!(mailbox, expected_sender, "sent as the digest sender");
    assert_eq!(message.from, [expected_sender]);
    assert_eq!(message.to, ACTIVE_ADMINS);
    assert!(message.cc.is_empty() && message.bcc.is_empty());
    assert_eq!(message.subject, SEEDED_SUBJECT);
    assert_seeded_digest_body(&message.text);
    assert_eq!(f.google.calls(Endpoint::MessagesSend), 1);
    assert!(f.smtp.messages().is_empty(), "SMTP is only the fallback");

    // The fake only issues a token for an RS256 assertion signed with the
    // test key, for a user it knows; these are the claims it accepted.
    let grants = f.google.grants();
    assert!(!grants.is_empty());
    for grant in &grants {
        assert_eq!(grant.sub.as_deref(), Some(expected_sender));
        assert_eq!(grant.scope, COMPOSE);
        assert_eq!(grant.aud, f.google.token_url());
        assert_eq!(grant.iss, f.google.client_email());
        assert_eq!(
            grant.kid.as_deref(),
            Some(f.google.private_key_id().as_str())
        );
        assert!(grant.exp > grant.iat && grant.exp - grant.iat <= 3600);
    }
    for assertion in f.google.assertions() {
        let header = jsonwebtoken::decode_header(&assertion).expect("a JWT");
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_now_goes_through_gmail_as_the_first_admin_by_default() {
    check_send_now_through_gmail(None, ANN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_now_goes_through_gmail_as_the_configured_digest_sender() {
    check_send_now_through_gmail(Some(DIGEST_SENDER), DIGEST_SENDER).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_gmail_keeps_failing_the_digest_goes_out_over_smtp_instead() {
    let f = fixture(Env::new()).await;
    f.google
        .push_faults(Endpoint::MessagesSend, [Fault::Status(500)]);

    let (status, answer) = post(&f.app, SEND_NOW, ANN, json!({})).await;

    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["transport"], "smtp");
    assert_eq!(recipients_of(&answer), ACTIVE_ADMINS);
    assert_eq!(
        f.google.calls(Endpoint::MessagesSend),
        1,
        "a send answered with a 5xx is not repeated (Gmail may have sent it); SMTP takes over"
    );
    assert!(gmail_sent(&f.google).is_empty());
    let delivered = f.smtp.messages();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].rcpt_to, ACTIVE_ADMINS);
    let message = parse(&delivered[0].raw);
    assert_eq!(message.subject, SEEDED_SUBJECT);
    assert_seeded_digest_body(&message.text);

    // The outage is over: the next send prefers Gmail again.
    let (status, answer) = post(&f.app, TEST_EMAIL, ANN, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["transport"], "gmail");
    assert_eq!(f.smtp.messages().len(), 1);
    let sent = gmail_sent(&f.google);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.subject, TEST_SUBJECT);
    assert_eq!(sent[0].1.to, [ANN]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_any_path_delivers_is_addressed_to_active_admins_only() {
    let f = fixture(Env::new()).await;

    // send now, through Gmail
    let (status, answer) = post(&f.app, SEND_NOW, ANN, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    // a test email while Gmail is down, through SMTP
    f.google
        .push_faults(Endpoint::MessagesSend, [Fault::Status(503)]);
    let (status, answer) = post(&f.app, TEST_EMAIL, ANN, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["transport"], "smtp");
    // a test email to another admin, through Gmail again
    let (status, answer) = post(&f.app, TEST_EMAIL, ANN, json!({ "to": [DAN] })).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["transport"], "gmail");
    // attempts at everyone else the store knows are refused
    for outsider in EVERY_KNOWN_ADDRESS
        .iter()
        .filter(|a| !ACTIVE_ADMINS.contains(a))
    {
        let (status, answer) = post(&f.app, TEST_EMAIL, ANN, json!({ "to": [outsider] })).await;
        assert_eq!(status, 409, "{outsider}: {answer}");
    }
    let (status, _) = post(&f.app, SEND_NOW, BOB, json!({})).await;
    assert_eq!(status, 403);
    // the scheduler's daily send, due at 11:00 UTC; the clock shows 12:00
    let response = f
        .app
        .http
        .patch(f.app.url("/api/admin/digest/policy"))
        .bearer_auth(f.app.token(ANN))
        .json(&json!({"enabled": true, "send_hour": 11}))
        .send()
        .await
        .expect("the app answers");
    assert_eq!(response.status().as_u16(), 200);
    let outcome = f.app.state.digest.run_once().await.expect("a cycle");
    assert!(
        matches!(
            outcome,
            ScheduleOutcome::Sent {
                transport: TransportKind::Gmail,
                ..
            }
        ),
        "{outcome:?}"
    );

    let gmail = gmail_sent(&f.google);
    let smtp = f.smtp.messages();
    assert_eq!(
        gmail.len(),
        3,
        "send now, test email to Dan, scheduled digest"
    );
    assert_eq!(smtp.len(), 1, "the test email during the Gmail outage");
    let mut everyone: Vec<String> = Vec::new();
    for (_, message) in &gmail {
        everyone.extend(message.header_recipients());
    }
    for delivered in &smtp {
        everyone.extend(delivered.rcpt_to.iter().map(|r| r.to_lowercase()));
        everyone.extend(parse(&delivered.raw).header_recipients());
    }
    assert!(!everyone.is_empty());
    for recipient in &everyone {
        assert!(
            ACTIVE_ADMINS.contains(&recipient.as_str()),
            "{recipient} is not an active admin; all recipients: {everyone:?}"
        );
    }
    // The preview shows the same mail without sending anything more.
    let (status, _) = get(&f.app, "/api/admin/digest/preview", ANN).await;
    assert_eq!(status, 200);
    assert_eq!(gmail_sent(&f.google).len(), 3);
    assert_eq!(f.smtp.messages().len(), 1);
}

/// Where the leaky Google puts a token-like secret in its error text.
#[derive(Debug, Clone, Copy)]
enum Leak {
    /// The token endpoint refuses the grant and quotes the secret.
    TokenEndpoint,
    /// A token is issued (the secret itself); `messages.send` answers 400
    /// quoting it.
    SendRefused,
    /// As `SendRefused`, with a 500 that is retried and then given up.
    SendFailing,
}

const LEAKED: &str = "ya29.SECRET-a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5";

/// A Google that echoes a credential in its error bodies, as a misbehaving
/// proxy or API might; counts the calls it answered.
struct LeakyGoogle {
    base: String,
    calls: Arc<AtomicUsize>,
    server: JoinHandle<()>,
}

impl Drop for LeakyGoogle {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl LeakyGoogle {
    async fn start(leak: Leak) -> LeakyGoogle {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let app = poem::endpoint::make(move |req: Request| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                answer(leak, req.uri().path())
            }
        });
        let acceptor = TcpAcceptor::from_tokio(listener).expect("an acceptor");
        let server = tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app).await;
        });
        LeakyGoogle {
            base,
            calls,
            server,
        }
    }

    /// The test key with `token_uri` pointing here.
    fn key_json(&self) -> String {
        let mut key: Value = serde_json::from_str(TEST_SERVICE_ACCOUNT_JSON).expect("JSON");
        key["token_uri"] = Value::String(format!("{}/token", self.base));
        key.to_string()
    }
}

fn answer(leak: Leak, path: &str) -> Response {
    let json = |status: StatusCode, body: Value| {
        Response::builder()
            .status(status)
            .content_type("application/json")
            .body(body.to_string())
    };
    let google_error = |status: StatusCode| {
        json(
            status,
            json!({"error": {
                "code": status.as_u16(),
                "message": format!("Request had invalid credentials: Bearer {LEAKED}"),
                "status": "INVALID_ARGUMENT",
                "errors": [{"reason": "badRequest", "domain": "global"}],
            }}),
        )
    };
    match (leak, path) {
        (Leak::TokenEndpoint, "/token") => json(
            StatusCode::UNAUTHORIZED,
            json!({
                "error": "unauthorized_client",
                "error_description": format!("Client is unauthorized; last token {LEAKED}"),
            }),
        ),
        (_, "/token") => json(
            StatusCode::OK,
            json!({"access_token": LEAKED, "expires_in": 3600, "token_type": "Bearer"}),
        ),
        (Leak::SendRefused, _) => google_error(StatusCode::BAD_REQUEST),
        (_, _) => google_error(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

async fn check_no_upstream_text_reaches_the_client(leak: Leak) {
    let (logs, _guard) = LogCapture::start();
    let google = LeakyGoogle::start(leak).await;
    let key = key_file(&google.key_json());
    // Gmail alone, so its failure is the answer.
    let env = Env::new()
        .set(
            "GOOGLE_SERVICE_ACCOUNT_FILE",
            key.path().display().to_string(),
        )
        .set("GMAIL_API_BASE", google.base.clone());
    let gmail = GmailConfig {
        api_base: google.base.clone(),
        max_attempts: 2,
        initial_backoff: std::time::Duration::from_millis(10),
        max_backoff: std::time::Duration::from_millis(50),
        per_mailbox_concurrency: 2,
        units_per_second: 0,
        timeout: std::time::Duration::from_secs(5),
    };
    let app = spawn_app_full(Backend::Sqlite, &env.pairs(), Some(gmail)).await;
    seed_fund(&app).await;

    for (path, body) in [
        (TEST_EMAIL, json!({})),
        (TEST_EMAIL, json!({ "to": [DAN] })),
        (SEND_NOW, json!({})),
    ] {
        let before = google.calls.load(Ordering::SeqCst);
        let (status, text) = post_text(&app, path, ANN, body).await;

        assert_eq!(status, 502, "{leak:?} {path}: {text}");
        let answer: Value = serde_json::from_str(&text).expect("a JSON body");
        assert_eq!(answer["error"], "send_failed", "{leak:?} {path}: {text}");
        assert!(
            google.calls.load(Ordering::SeqCst) > before,
            "{leak:?} {path}: the failure came from the leaky upstream"
        );
        for secret in [
            LEAKED,
            "ya29",
            "SECRET",
            "invalid credentials",
            "unauthorized",
        ] {
            assert!(
                !text.to_lowercase().contains(&secret.to_lowercase()),
                "{leak:?} {path} leaked {secret:?}: {text}"
            );
        }
    }

    let logged = logs.text();
    assert!(
        logged.contains("digest send failed"),
        "the failures are logged:\n{logged}"
    );
    if !matches!(leak, Leak::TokenEndpoint) {
        assert!(
            !logged.contains(LEAKED),
            "{leak:?}: the access token Gmail echoed reached the log:\n{logged}"
        );
    }
}

// One thread, so the log capture sees the app's lines.
#[tokio::test]
async fn a_token_endpoint_error_quoting_a_secret_is_a_bare_502() {
    check_no_upstream_text_reaches_the_client(Leak::TokenEndpoint).await;
}

// One thread, so the log capture sees the app's lines.
#[tokio::test]
async fn a_gmail_refusal_quoting_the_access_token_is_a_bare_502() {
    check_no_upstream_text_reaches_the_client(Leak::SendRefused).await;
}

// One thread, so the log capture sees the app's lines.
#[tokio::test]
async fn a_gmail_outage_quoting_the_access_token_is_a_bare_502() {
    check_no_upstream_text_reaches_the_client(Leak::SendFailing).await;
}
