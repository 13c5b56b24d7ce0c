//! R-DRAFT-1, R-DRAFT-3: reply drafts land in the thread with the right
//! headers, through `drafts.create` with `gmail.compose`, and nothing is sent.

use mail_parser::{HeaderValue, MessageParser};
use mailroom_adapters::gmail::GmailDrafts;
use mailroom_ports::EmailAddress;
use mailroom_ports::gmail::{DraftCreator, GmailError, ReplyDraft, TokenError};
use mailroom_tests::fake_google::{Endpoint, FakeGoogle, FakeGoogleConfig, Fault};

const ANN: &str = "ann@fund.com";

fn address(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

fn reply() -> ReplyDraft {
    ReplyDraft {
        thread_id: "18f0aa".into(),
        from: address(ANN),
        to: vec![address("lp@investor.com")],
        cc: vec![address("partner@investor.com"), address("bob@fund.com")],
        subject: "Re: Q3 capital call".into(),
        in_reply_to: Some("m2@investor.com".into()),
        references: vec!["m1@investor.com".into(), "m2@investor.com".into()],
        body: "Thanks, we will wire on Friday.\n\nAnn".into(),
    }
}

async fn fake() -> FakeGoogle {
    FakeGoogle::start(FakeGoogleConfig {
        users: vec![ANN.into()],
        ..Default::default()
    })
    .await
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

#[tokio::test]
async fn a_reply_draft_is_created_in_the_thread_with_threading_headers() {
    let google = fake().await;
    let drafts = GmailDrafts::new(google.token_provider(), google.gmail_config());

    let created = drafts.create_draft(&address(ANN), &reply()).await.unwrap();

    let stored = google.drafts(ANN);
    assert_eq!(stored.len(), 1);
    assert_eq!(created.draft_id, stored[0].id);
    assert_eq!(
        created.message_id.as_deref(),
        Some(stored[0].message_id.as_str())
    );
    assert_eq!(created.thread_id, "18f0aa");
    assert_eq!(stored[0].requested_thread_id.as_deref(), Some("18f0aa"));
    let message = MessageParser::default().parse(&stored[0].raw).unwrap();
    assert_eq!(message.subject(), Some("Re: Q3 capital call"));
    assert_eq!(ids(message.in_reply_to()), vec!["m2@investor.com"]);
    assert_eq!(
        ids(message.references()),
        vec!["m1@investor.com", "m2@investor.com"]
    );
    assert_eq!(
        message.from().unwrap().first().unwrap().address(),
        Some(ANN)
    );
    let to: Vec<_> = message
        .to()
        .unwrap()
        .iter()
        .filter_map(|a| a.address())
        .collect();
    let cc: Vec<_> = message
        .cc()
        .unwrap()
        .iter()
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(to, vec!["lp@investor.com"]);
    assert_eq!(cc, vec!["partner@investor.com", "bob@fund.com"]);
    assert!(message.body_text(0).unwrap().contains("wire on Friday"));
}

#[tokio::test]
async fn a_subject_without_re_gets_one() {
    let google = fake().await;
    let drafts = GmailDrafts::new(google.token_provider(), google.gmail_config());
    let draft = ReplyDraft {
        subject: "Q3 capital call".into(),
        ..reply()
    };

    drafts.create_draft(&address(ANN), &draft).await.unwrap();

    let message = MessageParser::default()
        .parse(&google.drafts(ANN)[0].raw)
        .unwrap()
        .into_owned();
    assert_eq!(message.subject(), Some("Re: Q3 capital call"));
}

#[tokio::test]
async fn drafts_use_the_compose_scope_and_never_send() {
    let google = fake().await;
    let drafts = GmailDrafts::new(google.token_provider(), google.gmail_config());

    drafts.create_draft(&address(ANN), &reply()).await.unwrap();

    let grant = google.grants().pop().unwrap();
    assert_eq!(grant.scope, "https://www.googleapis.com/auth/gmail.compose");
    assert_eq!(grant.sub.as_deref(), Some(ANN));
    assert_eq!(google.calls(Endpoint::DraftsCreate), 1);
    assert_eq!(google.calls(Endpoint::MessagesSend), 0);
    assert!(google.sent(ANN).is_empty());
}

#[tokio::test]
async fn a_draft_for_an_unknown_mailbox_owner_is_an_auth_error() {
    let google = fake().await;
    let drafts = GmailDrafts::new(google.token_provider(), google.gmail_config());

    let got = drafts
        .create_draft(&address("ghost@fund.com"), &reply())
        .await;

    assert!(
        matches!(got, Err(GmailError::Auth(TokenError::UnknownUser(_)))),
        "{got:?}"
    );
}

#[tokio::test]
async fn a_refused_draft_is_invalid() {
    let google = fake().await;
    google.push_faults(Endpoint::DraftsCreate, [Fault::Status(400)]);
    let drafts = GmailDrafts::new(google.token_provider(), google.gmail_config());

    let got = drafts.create_draft(&address(ANN), &reply()).await;

    assert!(matches!(got, Err(GmailError::Invalid(_))), "{got:?}");
    assert!(google.drafts(ANN).is_empty());
}
