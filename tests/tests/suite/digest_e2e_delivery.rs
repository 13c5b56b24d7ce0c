//! The digest over SMTP through the running app (R-DIG-1, R-DIG-5, R-DIG-6,
//! R-HARD-1, R-HARD-4): `send-now` and `test-email` reach a real SMTP server
//! with AUTH on loopback, and only the active admins.

use crate::digest_e2e_common::{
    ACTIVE_ADMINS, ANN, BOB, DAN, Env, SEEDED_SUBJECT, ZED, assert_seeded_digest_body, parse, post,
    post_text, recipients_of, seed_fund,
};
use mailroom_domain::digest::service::{TEST_BODY, TEST_SUBJECT};
use mailroom_tests::app::{Backend, spawn_app_with};
use mailroom_tests::smtp_server::{SmtpServer, SmtpServerConfig};
use serde_json::json;

const SEND_NOW: &str = "/api/admin/digest/send-now";
const TEST_EMAIL: &str = "/api/admin/digest/test-email";

async fn send_now_reaches_exactly_the_active_admins_over_smtp(backend: Backend) {
    let smtp = SmtpServer::start(SmtpServerConfig::default());
    let app = spawn_app_with(backend, &Env::new().smtp(&smtp).pairs()).await;
    seed_fund(&app).await;

    let (status, answer) = post(&app, SEND_NOW, ANN, json!({})).await;

    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["sent"], true);
    assert_eq!(answer["transport"], "smtp");
    assert_eq!(recipients_of(&answer), ACTIVE_ADMINS);
    assert_eq!(answer["subject"], SEEDED_SUBJECT);
    assert_eq!(answer["has_activity"], true);
    assert_eq!(answer["user_count"], 2);
    assert_eq!(answer["email_count"], 2);
    assert_eq!(answer["investor_count"], 2);

    // The send completed before the answer, so the server holds it already.
    let delivered = smtp.messages();
    assert_eq!(delivered.len(), 1, "one digest, one submission");
    let credentials = SmtpServerConfig::default();
    assert_eq!(
        delivered[0].auth_login.as_deref(),
        Some(credentials.username.as_str())
    );
    assert_eq!(delivered[0].mail_from, credentials.username);
    assert_eq!(delivered[0].rcpt_to, ACTIVE_ADMINS);
    let message = parse(&delivered[0].raw);
    assert_eq!(message.to, ACTIVE_ADMINS);
    assert!(message.cc.is_empty() && message.bcc.is_empty());
    assert_eq!(message.subject, SEEDED_SUBJECT);
    assert_seeded_digest_body(&message.text);
    for outsider in [BOB, ZED, "cat@fund.com", "lee@acme.com"] {
        assert!(
            !delivered[0].rcpt_to.iter().any(|r| r == outsider),
            "{outsider} must not receive the digest"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_now_reaches_exactly_the_active_admins_over_smtp_on_sqlite() {
    send_now_reaches_exactly_the_active_admins_over_smtp(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_now_reaches_exactly_the_active_admins_over_smtp_on_postgres() {
    send_now_reaches_exactly_the_active_admins_over_smtp(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_email_to_anyone_but_an_active_admin_is_refused_and_nothing_is_sent() {
    let smtp = SmtpServer::start(SmtpServerConfig::default());
    let app = spawn_app_with(Backend::Sqlite, &Env::new().smtp(&smtp).pairs()).await;
    seed_fund(&app).await;

    let refused: [(&str, Vec<&str>); 6] = [
        ("an active member", vec![BOB]),
        ("an inactive admin", vec![ZED]),
        ("an investor contact", vec!["lee@acme.com"]),
        ("a stranger", vec!["someone@elsewhere.example"]),
        ("an admin plus a contact", vec![DAN, "lee@acme.com"]),
        ("nobody", vec![]),
    ];
    for (case, to) in refused {
        // An empty list is malformed (422); a recipient who is not an active
        // admin is refused by the stored directory (409).
        let expected = if to.is_empty() { 422 } else { 409 };
        let (status, answer) = post(&app, TEST_EMAIL, ANN, json!({ "to": to })).await;
        assert_eq!(status, expected, "{case}: {answer}");
        assert!(answer["error"].is_string(), "{case}: {answer}");
        assert!(
            smtp.messages().is_empty(),
            "{case}: nothing may be sent when any recipient is refused"
        );
    }

    // The sends above would have been synchronous too, so once this one is
    // delivered the server holds everything they could have produced.
    let (status, answer) = post(&app, TEST_EMAIL, DAN, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["sent"], true);
    assert_eq!(answer["transport"], "smtp");
    assert_eq!(recipients_of(&answer), [DAN]);
    let delivered = smtp.messages();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].rcpt_to, [DAN]);
    let message = parse(&delivered[0].raw);
    assert_eq!(message.to, [DAN]);
    assert_eq!(message.subject, TEST_SUBJECT);
    assert_eq!(message.text.trim_end(), TEST_BODY.trim_end());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_email_to_named_admins_reaches_exactly_them() {
    let smtp = SmtpServer::start(SmtpServerConfig::default());
    let app = spawn_app_with(Backend::Sqlite, &Env::new().smtp(&smtp).pairs()).await;
    seed_fund(&app).await;

    let (status, answer) = post(
        &app,
        TEST_EMAIL,
        ANN,
        json!({ "to": ["Dan@Fund.com", ANN] }),
    )
    .await;

    assert_eq!(status, 200, "{answer}");
    let delivered = smtp.messages();
    assert_eq!(delivered.len(), 1);
    let mut rcpt = delivered[0].rcpt_to.clone();
    rcpt.sort();
    assert_eq!(rcpt, [ANN, DAN]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_cannot_trigger_any_send() {
    let smtp = SmtpServer::start(SmtpServerConfig::default());
    let app = spawn_app_with(Backend::Sqlite, &Env::new().smtp(&smtp).pairs()).await;
    seed_fund(&app).await;

    for (path, body) in [(SEND_NOW, json!({})), (TEST_EMAIL, json!({ "to": [ANN] }))] {
        let (status, answer) = post(&app, path, BOB, body).await;
        assert_eq!(status, 403, "{path}: {answer}");
    }
    let (status, _) = post(&app, SEND_NOW, ZED, json!({})).await;
    assert_eq!(status, 403, "an inactive admin is refused too");
    assert!(smtp.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_failure_is_a_bare_502_without_the_password_or_server_text() {
    // The app holds a wrong password: AUTH fails on every send.
    const WRONG_PASSWORD: &str = "ya29.SECRET-smtp-password-0123456789";
    let smtp = SmtpServer::start(SmtpServerConfig::default());
    let env = Env::new().smtp_with_password(&smtp, WRONG_PASSWORD);
    let app = spawn_app_with(Backend::Sqlite, &env.pairs()).await;
    seed_fund(&app).await;

    for (path, body) in [(TEST_EMAIL, json!({})), (SEND_NOW, json!({}))] {
        let (status, text) = post_text(&app, path, ANN, body).await;

        assert_eq!(status, 502, "{path}: {text}");
        let answer: serde_json::Value = serde_json::from_str(&text).expect("a JSON body");
        assert_eq!(answer["error"], "send_failed", "{path}: {text}");
        for leak in [WRONG_PASSWORD, "SECRET", "535", "uthentication"] {
            assert!(!text.contains(leak), "{path} leaked {leak:?}: {text}");
        }
    }
    assert!(smtp.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_refusing_the_message_is_a_502_and_nothing_is_delivered() {
    let smtp = SmtpServer::start(SmtpServerConfig {
        fail_with: Some(554),
        ..SmtpServerConfig::default()
    });
    let app = spawn_app_with(Backend::Sqlite, &Env::new().smtp(&smtp).pairs()).await;
    seed_fund(&app).await;

    let (status, text) = post_text(&app, SEND_NOW, ANN, json!({})).await;

    assert_eq!(status, 502, "{text}");
    assert!(text.contains("send_failed"), "{text}");
    assert!(!text.contains("refused on purpose"), "{text}");
    assert!(!text.contains("554"), "{text}");
    assert!(smtp.messages().is_empty());
}
