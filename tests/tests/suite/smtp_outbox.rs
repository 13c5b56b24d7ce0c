//! The outbox transport: the digest as .eml files in a folder (docs/requirements.md Configuration).

use mail_parser::MessageParser;
use mailroom_adapters::outbox::OutboxTransport;
use mailroom_ports::{EmailAddress, MailTransport, OutgoingMail, SendError, TransportKind};
use mailroom_tests::smtp_server::admin_recipients;

fn eml_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn each_send_writes_one_eml_that_parses_into_the_digest() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("not-yet-created/outbox");
    let outbox = OutboxTransport::new(
        dir.clone(),
        EmailAddress::parse("digest@fund.test").unwrap(),
    );
    let to = admin_recipients(&["ann@fund.test", "raj@fund.test"]).await;
    let mail = OutgoingMail {
        subject: "mailroom digest".into(),
        text: "No activity today.\n".into(),
        html: None,
    };

    let kind = outbox
        .send(&to, &mail)
        .await
        .expect("the outbox accepts the mail");
    outbox
        .send(&to, &mail)
        .await
        .expect("a second send works too");

    assert_eq!(kind, TransportKind::Outbox);
    let files = eml_files(&dir);
    assert_eq!(files.len(), 2, "{files:?}");
    let raw = std::fs::read(&files[0]).unwrap();
    let parsed = MessageParser::default()
        .parse(&raw)
        .expect("the .eml parses");
    assert_eq!(parsed.subject(), Some("mailroom digest"));
    let header_to: Vec<&str> = parsed
        .to()
        .unwrap()
        .iter()
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(header_to, ["ann@fund.test", "raj@fund.test"]);
    assert!(parsed.body_text(0).unwrap().contains("No activity today."));
    let everything = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(everything, files.len(), "no partial files stay behind");
}

#[tokio::test]
async fn an_outbox_path_that_is_a_file_fails_the_send() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("outbox");
    std::fs::write(&file, b"not a folder").unwrap();
    let outbox = OutboxTransport::new(file, EmailAddress::parse("digest@fund.test").unwrap());
    let to = admin_recipients(&["ann@fund.test"]).await;
    let mail = OutgoingMail {
        subject: "s".into(),
        text: "t".into(),
        html: None,
    };

    let error = outbox.send(&to, &mail).await.unwrap_err();

    assert!(
        matches!(error, SendError::Rejected(_) | SendError::Unavailable(_)),
        "{error:?}"
    );
}
