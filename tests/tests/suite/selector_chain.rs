//! The transport selector (R-DIG-2): first success wins, failures fall through.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailroom_adapters::selector::TransportSelector;
use mailroom_adapters::smtp::{SmtpConfig, SmtpTls, SmtpTransport};
use mailroom_ports::{
    EmailAddress, MailTransport, MockMailTransport, OutgoingMail, SendError, TransportKind,
};
use mailroom_tests::smtp_server::{SmtpServer, SmtpServerConfig, admin_recipients};

fn mail() -> OutgoingMail {
    OutgoingMail {
        subject: "mailroom digest".into(),
        text: "body".into(),
        html: None,
    }
}

/// A transport that answers `outcome` once and notes its name in `calls`.
fn transport(
    name: &'static str,
    calls: &Arc<Mutex<Vec<&'static str>>>,
    times: usize,
    outcome: fn() -> Result<TransportKind, SendError>,
) -> Arc<dyn MailTransport> {
    let calls = Arc::clone(calls);
    let mut mock = MockMailTransport::new();
    mock.expect_send().times(times).returning(move |_, _| {
        calls.lock().unwrap().push(name);
        outcome()
    });
    Arc::new(mock)
}

fn unavailable() -> Result<TransportKind, SendError> {
    Err(SendError::Unavailable(
        "gmail said 503 backend error".into(),
    ))
}
fn rejected() -> Result<TransportKind, SendError> {
    Err(SendError::Rejected("550 no such user".into()))
}
fn gmail_ok() -> Result<TransportKind, SendError> {
    Ok(TransportKind::Gmail)
}
fn smtp_ok() -> Result<TransportKind, SendError> {
    Ok(TransportKind::Smtp)
}

#[tokio::test]
async fn when_the_first_transport_fails_the_second_delivers_and_is_reported() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let selector = TransportSelector::new(vec![
        (
            TransportKind::Gmail,
            transport("gmail", &calls, 1, unavailable),
        ),
        (TransportKind::Smtp, transport("smtp", &calls, 1, smtp_ok)),
    ]);

    let kind = selector
        .send(&admin_recipients(&["ann@fund.test"]).await, &mail())
        .await;

    assert_eq!(kind.unwrap(), TransportKind::Smtp);
    assert_eq!(*calls.lock().unwrap(), ["gmail", "smtp"]);
}

#[tokio::test]
async fn the_first_success_wins_and_later_transports_are_not_tried() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let selector = TransportSelector::new(vec![
        (
            TransportKind::Gmail,
            transport("gmail", &calls, 1, gmail_ok),
        ),
        (TransportKind::Smtp, transport("smtp", &calls, 0, smtp_ok)),
    ]);

    let kind = selector
        .send(&admin_recipients(&["ann@fund.test"]).await, &mail())
        .await;

    assert_eq!(kind.unwrap(), TransportKind::Gmail);
    assert_eq!(*calls.lock().unwrap(), ["gmail"]);
}

#[tokio::test]
async fn transports_are_tried_in_the_order_given() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let selector = TransportSelector::new(vec![
        (TransportKind::Smtp, transport("smtp", &calls, 1, rejected)),
        (
            TransportKind::Gmail,
            transport("gmail", &calls, 1, unavailable),
        ),
        (
            TransportKind::Outbox,
            transport("outbox", &calls, 1, || Ok(TransportKind::Outbox)),
        ),
    ]);

    let kind = selector
        .send(&admin_recipients(&["ann@fund.test"]).await, &mail())
        .await;

    assert_eq!(kind.unwrap(), TransportKind::Outbox);
    assert_eq!(*calls.lock().unwrap(), ["smtp", "gmail", "outbox"]);
    assert_eq!(
        selector.kinds(),
        [
            TransportKind::Smtp,
            TransportKind::Gmail,
            TransportKind::Outbox
        ]
    );
}

#[tokio::test]
async fn when_every_transport_fails_the_last_error_is_returned() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let selector = TransportSelector::new(vec![
        (
            TransportKind::Gmail,
            transport("gmail", &calls, 1, rejected),
        ),
        (
            TransportKind::Smtp,
            transport("smtp", &calls, 1, unavailable),
        ),
    ]);

    let error = selector
        .send(&admin_recipients(&["ann@fund.test"]).await, &mail())
        .await
        .unwrap_err();

    assert!(
        matches!(error, SendError::Unavailable(ref d) if d.contains("503")),
        "{error:?}"
    );
    assert_eq!(*calls.lock().unwrap(), ["gmail", "smtp"]);
}

#[tokio::test]
async fn an_empty_chain_is_not_configured() {
    let selector = TransportSelector::new(Vec::new());

    let error = selector
        .send(&admin_recipients(&["ann@fund.test"]).await, &mail())
        .await
        .unwrap_err();

    assert!(matches!(error, SendError::NotConfigured), "{error:?}");
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_failure_is_logged_with_its_kind_and_the_delivering_transport_is_logged() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let calls = Arc::new(Mutex::new(Vec::new()));
    let selector = TransportSelector::new(vec![
        (
            TransportKind::Gmail,
            transport("gmail", &calls, 1, unavailable),
        ),
        (TransportKind::Smtp, transport("smtp", &calls, 1, smtp_ok)),
    ]);

    selector
        .send(&admin_recipients(&["ann@fund.test"]).await, &mail())
        .await
        .unwrap();

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let warn = log
        .lines()
        .find(|l| l.contains("WARN"))
        .expect("a warning for the failed transport");
    assert!(warn.contains("transport=\"gmail\""), "{warn}");
    assert!(warn.contains("error_kind=\"unavailable\""), "{warn}");
    assert!(warn.contains("503 backend error"), "{warn}");
    let info = log
        .lines()
        .find(|l| l.contains("delivered"))
        .expect("a line naming the delivering transport");
    assert!(info.contains("transport=\"smtp\""), "{info}");
}

#[tokio::test]
async fn a_failing_first_transport_falls_back_to_a_real_smtp_server() {
    let server_config = SmtpServerConfig::default();
    let server = SmtpServer::start(server_config.clone());
    let smtp = SmtpTransport::new(SmtpConfig {
        host: "127.0.0.1".into(),
        port: server.port(),
        username: Some(server_config.username.clone()),
        password: Some(server_config.password.clone()),
        from: EmailAddress::parse("digest@fund.test").unwrap(),
        tls: SmtpTls::None,
        timeout: Duration::from_secs(10),
    })
    .unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let selector = TransportSelector::new(vec![
        (
            TransportKind::Gmail,
            transport("gmail", &calls, 1, unavailable),
        ),
        (TransportKind::Smtp, Arc::new(smtp)),
    ]);

    let kind = selector
        .send(
            &admin_recipients(&["ann@fund.test", "raj@fund.test"]).await,
            &mail(),
        )
        .await;

    assert_eq!(kind.unwrap(), TransportKind::Smtp);
    let delivered = server.wait_for(1, Duration::from_secs(5));
    assert_eq!(delivered[0].rcpt_to, ["ann@fund.test", "raj@fund.test"]);
}
