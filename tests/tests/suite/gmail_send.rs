//! R-DIG-2, R-HARD-1: the digest through Gmail `messages.send` reaches exactly
//! the active admins, as the configured sender or the first admin.

use mail_parser::MessageParser;
use mailroom_adapters::gmail::GmailSendTransport;
use mailroom_ports::records::{Role, User};
use mailroom_ports::{
    AdminRecipients, EmailAddress, MailTransport, MockStore, OutgoingMail, SendError,
    TransportKind, UserId,
};
use mailroom_tests::fake_google::{Endpoint, FakeGoogle, FakeGoogleConfig, Fault};

const ANN: &str = "ann@fund.com";
const CARL: &str = "carl@fund.com";
const DIGEST: &str = "digest@fund.com";

fn address(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

fn user(id: i64, email: &str, role: Role) -> User {
    User {
        id: UserId(id),
        email: address(email),
        display_name: email.into(),
        role,
        is_active: true,
    }
}

async fn admins() -> AdminRecipients {
    let mut store = MockStore::new();
    store
        .expect_active_admins()
        .returning(|| Ok(vec![user(1, ANN, Role::Admin), user(2, CARL, Role::Admin)]));
    AdminRecipients::load(&store).await.unwrap()
}

fn digest() -> OutgoingMail {
    OutgoingMail {
        subject: "mailroom digest".into(),
        text: "3 emails with 2 investors".into(),
        html: None,
    }
}

async fn fake() -> FakeGoogle {
    FakeGoogle::start(FakeGoogleConfig {
        users: vec![ANN.into(), CARL.into(), DIGEST.into()],
        ..Default::default()
    })
    .await
}

fn recipients(raw: &[u8]) -> (Vec<String>, bool, bool) {
    let message = MessageParser::default().parse(raw).unwrap();
    let to = message
        .to()
        .unwrap()
        .iter()
        .filter_map(|a| a.address().map(str::to_string))
        .collect();
    (to, message.cc().is_some(), message.bcc().is_some())
}

#[tokio::test]
async fn the_digest_is_sent_by_the_first_admin_to_exactly_the_admins() {
    let google = fake().await;
    let transport = GmailSendTransport::new(google.token_provider(), google.gmail_config(), None);

    let kind = transport.send(&admins().await, &digest()).await.unwrap();

    assert_eq!(kind, TransportKind::Gmail);
    let sent = google.sent(ANN);
    assert_eq!(sent.len(), 1);
    let (to, has_cc, has_bcc) = recipients(&sent[0].raw);
    assert_eq!(to, vec![ANN.to_string(), CARL.to_string()]);
    assert!(!has_cc && !has_bcc);
    let message = MessageParser::default().parse(&sent[0].raw).unwrap();
    assert_eq!(message.subject(), Some("mailroom digest"));
    assert_eq!(
        message.from().unwrap().first().unwrap().address(),
        Some(ANN)
    );
    assert!(
        message
            .body_text(0)
            .unwrap()
            .contains("3 emails with 2 investors")
    );
    let grant = google.grants().pop().unwrap();
    assert_eq!(grant.sub.as_deref(), Some(ANN));
    assert_eq!(grant.scope, "https://www.googleapis.com/auth/gmail.compose");
}

#[tokio::test]
async fn a_configured_sender_sends_instead_of_the_first_admin() {
    let google = fake().await;
    let transport = GmailSendTransport::new(
        google.token_provider(),
        google.gmail_config(),
        Some(address(DIGEST)),
    );

    transport.send(&admins().await, &digest()).await.unwrap();

    assert!(google.sent(ANN).is_empty());
    let sent = google.sent(DIGEST);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        recipients(&sent[0].raw).0,
        vec![ANN.to_string(), CARL.to_string()]
    );
}

#[tokio::test]
async fn a_restricted_recipient_set_reaches_only_that_admin() {
    let google = fake().await;
    let transport = GmailSendTransport::new(google.token_provider(), google.gmail_config(), None);
    let only_carl = admins().await.restrict_to(&[address(CARL)]).unwrap();

    transport.send(&only_carl, &digest()).await.unwrap();

    // Sent as the first active admin (R-DIG-2), to Carl alone.
    assert!(google.sent(CARL).is_empty());
    let sent = google.sent(ANN);
    assert_eq!(sent.len(), 1);
    assert_eq!(recipients(&sent[0].raw).0, vec![CARL.to_string()]);
}

#[tokio::test]
async fn gmail_failing_to_send_is_unavailable_without_a_token_in_the_text() {
    let google = fake().await;
    google.push_faults(
        Endpoint::MessagesSend,
        std::iter::repeat_n(Fault::Status(500), 10),
    );
    let transport = GmailSendTransport::new(google.token_provider(), google.gmail_config(), None);

    let err = transport
        .send(&admins().await, &digest())
        .await
        .unwrap_err();

    assert!(matches!(err, SendError::Unavailable(_)), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("ya29"), "{shown}");
    assert!(google.sent(ANN).is_empty());
}

#[tokio::test]
async fn gmail_refusing_the_message_is_a_rejection() {
    let google = fake().await;
    google.push_faults(Endpoint::MessagesSend, [Fault::Status(400)]);
    let transport = GmailSendTransport::new(google.token_provider(), google.gmail_config(), None);

    let err = transport
        .send(&admins().await, &digest())
        .await
        .unwrap_err();

    assert!(matches!(err, SendError::Rejected(_)), "{err:?}");
    assert_eq!(google.calls(Endpoint::MessagesSend), 1);
}

#[tokio::test]
async fn a_sender_outside_the_workspace_is_a_rejection() {
    let google = fake().await;
    let transport = GmailSendTransport::new(
        google.token_provider(),
        google.gmail_config(),
        Some(address("nobody@fund.com")),
    );

    let err = transport
        .send(&admins().await, &digest())
        .await
        .unwrap_err();

    assert!(matches!(err, SendError::Rejected(_)), "{err:?}");
    assert_eq!(google.calls(Endpoint::MessagesSend), 0);
}

#[tokio::test]
async fn a_token_endpoint_outage_is_unavailable_so_the_selector_can_fall_back() {
    let google = fake().await;
    google.push_faults(Endpoint::Token, std::iter::repeat_n(Fault::Status(503), 5));
    let transport = GmailSendTransport::new(google.token_provider(), google.gmail_config(), None);

    let err = transport
        .send(&admins().await, &digest())
        .await
        .unwrap_err();

    assert!(matches!(err, SendError::Unavailable(_)), "{err:?}");
}
