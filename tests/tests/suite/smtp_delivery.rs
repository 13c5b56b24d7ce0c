//! The SMTP transport against a real SMTP server on loopback (R-DIG-2, R-HARD-1).

use std::time::Duration;

use mail_parser::MessageParser;
use mailroom_adapters::smtp::{SmtpConfig, SmtpTls, SmtpTransport};
use mailroom_ports::{EmailAddress, MailTransport, OutgoingMail, SendError, TransportKind};
use mailroom_tests::smtp_server::{SmtpServer, SmtpServerConfig, admin_recipients};

const ADMINS: [&str; 2] = ["ann@fund.test", "raj@fund.test"];

fn config_for(server: &SmtpServer, username: &str, password: &str) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port: server.port(),
        username: Some(username.into()),
        password: Some(password.into()),
        from: EmailAddress::parse("digest@fund.test").unwrap(),
        tls: SmtpTls::None,
        timeout: Duration::from_secs(10),
    }
}

fn digest() -> OutgoingMail {
    OutgoingMail {
        subject: "mailroom digest: 3 emails with 2 investors".into(),
        text: "By team member\n\nAnn wrote to Acme Capital twice.\n".into(),
        html: None,
    }
}

#[tokio::test]
async fn the_digest_is_delivered_over_auth_to_exactly_the_admins() {
    let server_config = SmtpServerConfig::default();
    let server = SmtpServer::start(server_config.clone());
    let transport = SmtpTransport::new(config_for(
        &server,
        &server_config.username,
        &server_config.password,
    ))
    .unwrap();
    let to = admin_recipients(&ADMINS).await;

    let kind = transport
        .send(&to, &digest())
        .await
        .expect("the send succeeds");

    assert_eq!(kind, TransportKind::Smtp);
    let delivered = server.wait_for(1, Duration::from_secs(5));
    assert_eq!(delivered.len(), 1);
    let message = &delivered[0];
    assert_eq!(
        message.auth_login.as_deref(),
        Some(server_config.username.as_str())
    );
    assert_eq!(message.mail_from, "digest@fund.test");
    assert_eq!(message.rcpt_to, ADMINS);
    let parsed = MessageParser::default()
        .parse(&message.raw)
        .expect("the message parses");
    assert_eq!(
        parsed.subject(),
        Some("mailroom digest: 3 emails with 2 investors")
    );
    let header_to: Vec<&str> = parsed
        .to()
        .expect("a To header")
        .iter()
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(header_to, ADMINS);
    assert!(parsed.cc().is_none() && parsed.bcc().is_none());
    assert_eq!(
        parsed
            .from()
            .and_then(|f| f.first())
            .and_then(|a| a.address()),
        Some("digest@fund.test")
    );
    let body = parsed.body_text(0).expect("a text body");
    assert!(body.contains("Ann wrote to Acme Capital twice."), "{body}");
}

#[tokio::test]
async fn an_html_alternative_arrives_beside_the_text() {
    let server = SmtpServer::start(SmtpServerConfig::default());
    let c = SmtpServerConfig::default();
    let transport = SmtpTransport::new(config_for(&server, &c.username, &c.password)).unwrap();
    let mail = OutgoingMail {
        html: Some("<p>Ann wrote to <b>Acme</b>.</p>".into()),
        ..digest()
    };

    transport
        .send(&admin_recipients(&ADMINS[..1]).await, &mail)
        .await
        .expect("the send succeeds");

    let delivered = server.wait_for(1, Duration::from_secs(5));
    let parsed = MessageParser::default()
        .parse(&delivered[0].raw)
        .expect("the message parses");
    assert!(
        parsed
            .body_text(0)
            .unwrap()
            .contains("Ann wrote to Acme Capital twice.")
    );
    assert!(parsed.body_html(0).unwrap().contains("<b>Acme</b>"));
    assert_eq!(delivered[0].rcpt_to, ["ann@fund.test"]);
}

#[tokio::test]
async fn a_wrong_password_is_rejected_without_showing_the_password() {
    let server = SmtpServer::start(SmtpServerConfig::default());
    let wrong = "Wr0ng-but-still-secret-pw";
    let transport = SmtpTransport::new(config_for(&server, "digest@fund.test", wrong)).unwrap();

    let error = transport
        .send(&admin_recipients(&ADMINS).await, &digest())
        .await
        .unwrap_err();

    assert!(matches!(error, SendError::Rejected(_)), "{error:?}");
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(!shown.contains(wrong), "{shown}");
    }
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn a_permanent_refusal_is_rejected_and_a_transient_one_is_unavailable() {
    let cases = [(554, "rejected"), (451, "unavailable")];
    for (code, expected_kind) in cases {
        let c = SmtpServerConfig {
            fail_with: Some(code),
            ..SmtpServerConfig::default()
        };
        let server = SmtpServer::start(c.clone());
        let transport = SmtpTransport::new(config_for(&server, &c.username, &c.password)).unwrap();

        let error = transport
            .send(&admin_recipients(&ADMINS).await, &digest())
            .await
            .unwrap_err();

        assert_eq!(error.kind(), expected_kind, "code {code}: {error}");
        assert!(
            error.to_string().contains(&code.to_string()),
            "code {code}: {error}"
        );
        assert!(server.messages().is_empty());
    }
}

#[tokio::test]
async fn a_server_that_is_not_listening_is_unavailable() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let config = SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        username: None,
        password: None,
        from: EmailAddress::parse("digest@fund.test").unwrap(),
        tls: SmtpTls::None,
        timeout: Duration::from_secs(5),
    };
    let transport = SmtpTransport::new(config).unwrap();

    let error = transport
        .send(&admin_recipients(&ADMINS).await, &digest())
        .await
        .unwrap_err();

    assert!(matches!(error, SendError::Unavailable(_)), "{error:?}");
}
