//! R-CAP-2: reading a mailbox through the fake Gmail: paging, history,
//! raw messages, and the client's retries, refreshes, timeouts and quota.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use mailroom_adapters::gmail::{GmailConfig, GmailMailbox};
use mailroom_ports::EmailAddress;
use mailroom_ports::gmail::{GmailError, MailboxReader, TokenError};
use mailroom_tests::fake_google::{Endpoint, FakeGoogle, FakeGoogleConfig, Fault, NewMessage};

const ANN: &str = "ann@fund.com";

fn ann() -> EmailAddress {
    EmailAddress::parse(ANN).unwrap()
}

fn raw(n: usize) -> Vec<u8> {
    format!(
        "From: lp{n}@investor.com\r\nTo: ann@fund.com\r\nSubject: note {n}\r\nMessage-ID: <m{n}@investor.com>\r\n\r\nbody {n}\r\n"
    )
    .into_bytes()
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap()
}

async fn fake() -> FakeGoogle {
    FakeGoogle::start(FakeGoogleConfig {
        users: vec![ANN.into()],
        ..Default::default()
    })
    .await
}

fn reader(google: &FakeGoogle, config: GmailConfig) -> GmailMailbox {
    GmailMailbox::new(google.token_provider(), config)
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("the call finished")
}

#[tokio::test]
async fn the_profile_names_the_mailbox_and_its_history_id() {
    let google = fake().await;
    google.add_message(ANN, raw(1));

    let profile = reader(&google, google.gmail_config())
        .profile(&ann())
        .await
        .unwrap();

    assert_eq!(profile.email_address, ann());
    assert_eq!(profile.history_id, google.history_id(ANN));
    let grant = google.grants().pop().unwrap();
    assert_eq!(
        grant.scope,
        "https://www.googleapis.com/auth/gmail.readonly"
    );
}

#[tokio::test]
async fn listing_pages_through_every_message_newest_first() {
    let google = fake().await;
    for n in 0..1203 {
        let message = NewMessage {
            internal_date: Some(at(1_700_000_000 + n as i64)),
            ..NewMessage::new(raw(n))
        };
        google.add_message_with(ANN, message);
    }
    let mailbox = reader(&google, google.gmail_config());

    let mut pages = Vec::new();
    let mut token = None;
    loop {
        let page = mailbox.list_messages(&ann(), None, token).await.unwrap();
        pages.push(page.messages);
        token = page.next_page_token;
        if token.is_none() {
            break;
        }
    }

    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![500, 500, 203]
    );
    let all: Vec<_> = pages.concat();
    let unique: std::collections::HashSet<_> = all.iter().map(|m| m.id.clone()).collect();
    assert_eq!(unique.len(), 1203);
    let newest = mailbox.fetch_raw(&ann(), &all[0].id).await.unwrap();
    assert_eq!(newest.internal_date, Some(at(1_700_001_202)));
}

#[tokio::test]
async fn listing_after_a_time_returns_only_newer_messages() {
    let google = fake().await;
    let old = google.add_message_with(
        ANN,
        NewMessage {
            internal_date: Some(at(1_000)),
            ..NewMessage::new(raw(1))
        },
    );
    let new = google.add_message_with(
        ANN,
        NewMessage {
            internal_date: Some(at(5_000)),
            ..NewMessage::new(raw(2))
        },
    );

    let page = reader(&google, google.gmail_config())
        .list_messages(&ann(), Some(at(2_000)), None)
        .await
        .unwrap();

    let ids: Vec<_> = page.messages.iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids, vec![new.id]);
    assert!(!ids.contains(&old.id));
    assert_eq!(page.next_page_token, None);
}

#[tokio::test]
async fn an_empty_mailbox_lists_no_messages() {
    let google = fake().await;

    let page = reader(&google, google.gmail_config())
        .list_messages(&ann(), None, None)
        .await
        .unwrap();

    assert!(page.messages.is_empty());
    assert_eq!(page.next_page_token, None);
}

#[tokio::test]
async fn a_raw_message_comes_back_byte_for_byte_with_its_gmail_metadata() {
    let google = fake().await;
    let bytes = b"From: a@investor.com\r\nTo: ann@fund.com\r\nSubject: caf\xc3\xa9\r\n\r\n\xff\xfe binary-ish\r\n".to_vec();
    let added = google.add_message_with(
        ANN,
        NewMessage {
            labels: vec!["INBOX".into(), "IMPORTANT".into()],
            thread_id: Some("thread-9".into()),
            internal_date: Some(at(1_700_000_000)),
            raw: bytes.clone(),
        },
    );

    let got = reader(&google, google.gmail_config())
        .fetch_raw(&ann(), &added.id)
        .await
        .unwrap();

    assert_eq!(got.raw, bytes);
    assert_eq!(got.id, added.id);
    assert_eq!(got.thread_id, "thread-9");
    assert_eq!(
        got.label_ids,
        vec!["INBOX".to_string(), "IMPORTANT".to_string()]
    );
    assert_eq!(got.internal_date, Some(at(1_700_000_000)));
    assert_eq!(got.size_estimate, bytes.len() as u64);
    assert!(got.history_id.is_some());
}

#[tokio::test]
async fn the_same_message_in_two_mailboxes_has_two_gmail_ids() {
    let google = fake().await;
    let bob = EmailAddress::parse("bob@fund.com").unwrap();
    let in_ann = google.add_message(ANN, raw(1));
    let in_bob = google.add_message("bob@fund.com", raw(1));
    let mailbox = reader(&google, google.gmail_config());

    let a = mailbox.fetch_raw(&ann(), &in_ann.id).await.unwrap();
    let b = mailbox.fetch_raw(&bob, &in_bob.id).await.unwrap();

    assert_ne!(a.id, b.id);
    assert_eq!(a.raw, b.raw);
    assert!(matches!(
        mailbox.fetch_raw(&ann(), &in_bob.id).await,
        Err(GmailError::NotFound)
    ));
}

#[tokio::test]
async fn a_deleted_message_is_not_found() {
    let google = fake().await;
    let added = google.add_message(ANN, raw(1));
    assert!(google.delete_message(ANN, &added.id));

    let got = reader(&google, google.gmail_config())
        .fetch_raw(&ann(), &added.id)
        .await;

    assert!(matches!(got, Err(GmailError::NotFound)), "{got:?}");
}

#[tokio::test]
async fn history_lists_additions_and_deletions_since_a_history_id() {
    let google = fake().await;
    let kept = google.add_message(ANN, raw(1));
    let start = google.history_id(ANN);
    let added = google.add_message(ANN, raw(2));
    google.delete_message(ANN, &kept.id);

    let page = reader(&google, google.gmail_config())
        .list_history(&ann(), &start, None)
        .await
        .unwrap();

    assert_eq!(
        page.added.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        vec![added.id.clone()]
    );
    assert_eq!(page.added[0].thread_id, added.thread_id);
    assert_eq!(
        page.deleted
            .iter()
            .map(|m| m.id.clone())
            .collect::<Vec<_>>(),
        vec![kept.id]
    );
    assert_eq!(page.history_id, google.history_id(ANN));
    assert_eq!(page.next_page_token, None);
}

#[tokio::test]
async fn history_pages_through_many_changes() {
    let google = fake().await;
    let start = google.history_id(ANN);
    for n in 0..650 {
        google.add_message(ANN, raw(n));
    }
    let mailbox = reader(&google, google.gmail_config());

    let first = mailbox.list_history(&ann(), &start, None).await.unwrap();
    let second = mailbox
        .list_history(&ann(), &start, first.next_page_token.clone())
        .await
        .unwrap();

    assert_eq!(first.added.len(), 500);
    assert!(first.next_page_token.is_some());
    assert_eq!(second.added.len(), 150);
    assert_eq!(second.next_page_token, None);
}

#[tokio::test]
async fn an_expired_history_id_is_history_expired() {
    let google = fake().await;
    google.add_message(ANN, raw(1));
    let stale = google.history_id(ANN);
    google.add_message(ANN, raw(2));
    google.expire_history(ANN);

    let got = reader(&google, google.gmail_config())
        .list_history(&ann(), &stale, None)
        .await;

    assert!(matches!(got, Err(GmailError::HistoryExpired)), "{got:?}");
    assert_eq!(
        google.calls(Endpoint::HistoryList),
        1,
        "a 404 is not retried"
    );
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_until_gmail_answers() {
    let google = fake().await;
    google.push_faults(
        Endpoint::Profile,
        [Fault::Status(429), Fault::Status(500), Fault::Status(403)],
    );

    let got = reader(&google, google.gmail_config()).profile(&ann()).await;

    assert!(got.is_ok(), "{got:?}");
    assert_eq!(google.calls(Endpoint::Profile), 4);
}

#[tokio::test]
async fn a_rate_limit_that_outlasts_the_attempts_is_rate_limited() {
    let google = fake().await;
    google.push_faults(
        Endpoint::Profile,
        std::iter::repeat_n(Fault::Status(429), 10),
    );
    let config = GmailConfig {
        max_attempts: 3,
        ..google.gmail_config()
    };

    let got = reader(&google, config).profile(&ann()).await;

    assert!(
        matches!(got, Err(GmailError::RateLimited { .. })),
        "{got:?}"
    );
    assert_eq!(google.calls(Endpoint::Profile), 3);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_backoff_cap_stops_at_once() {
    let google = fake().await;
    google.push_faults(Endpoint::Profile, [Fault::RetryAfter(3600)]);

    let got = reader(&google, google.gmail_config()).profile(&ann()).await;

    assert!(
        matches!(got, Err(GmailError::RateLimited { retry_after: Some(d) }) if d == Duration::from_secs(3600)),
        "{got:?}"
    );
    assert_eq!(google.calls(Endpoint::Profile), 1);
}

#[tokio::test]
async fn server_errors_that_outlast_the_attempts_are_unavailable() {
    let google = fake().await;
    google.push_faults(
        Endpoint::MessagesList,
        std::iter::repeat_n(Fault::Status(503), 10),
    );
    let config = GmailConfig {
        max_attempts: 2,
        ..google.gmail_config()
    };

    let got = reader(&google, config)
        .list_messages(&ann(), None, None)
        .await;

    assert!(
        matches!(&got, Err(e @ GmailError::Unavailable(_)) if e.is_retryable()),
        "{got:?}"
    );
    assert_eq!(google.calls(Endpoint::MessagesList), 2);
}

#[tokio::test]
async fn a_revoked_token_is_refreshed_once_and_the_call_succeeds() {
    let google = fake().await;
    let mailbox = reader(&google, google.gmail_config());
    mailbox.profile(&ann()).await.unwrap();
    google.revoke_tokens();

    let got = mailbox.profile(&ann()).await;

    assert!(got.is_ok(), "{got:?}");
    assert_eq!(google.calls(Endpoint::Token), 2);
    assert_eq!(google.calls(Endpoint::Profile), 3);
}

#[tokio::test]
async fn a_second_401_after_a_refresh_is_an_auth_error() {
    let google = fake().await;
    google.reject_all_tokens(true);

    let got = reader(&google, google.gmail_config()).profile(&ann()).await;

    assert!(
        matches!(got, Err(GmailError::Auth(TokenError::NotAuthorized(_)))),
        "{got:?}"
    );
    assert_eq!(google.calls(Endpoint::Token), 2, "one refresh");
    assert_eq!(google.calls(Endpoint::Profile), 2);
}

#[tokio::test]
async fn an_unknown_mailbox_owner_is_an_auth_error() {
    let google = fake().await;
    let ghost = EmailAddress::parse("ghost@fund.com").unwrap();

    let got = reader(&google, google.gmail_config()).profile(&ghost).await;

    assert!(
        matches!(got, Err(GmailError::Auth(TokenError::UnknownUser(_)))),
        "{got:?}"
    );
    assert_eq!(google.calls(Endpoint::Profile), 0);
}

#[tokio::test]
async fn a_gmail_call_that_hangs_times_out_within_its_attempts() {
    let google = fake().await;
    google.push_faults(Endpoint::Profile, [Fault::Hang, Fault::Hang]);
    let config = GmailConfig {
        max_attempts: 2,
        timeout: Duration::from_millis(300),
        ..google.gmail_config()
    };

    let got = bounded(reader(&google, config).profile(&ann())).await;

    assert!(matches!(got, Err(GmailError::Unavailable(_))), "{got:?}");
    assert_eq!(google.calls(Endpoint::Profile), 2);
}

#[tokio::test]
async fn the_quota_limiter_keeps_a_burst_under_the_per_user_limit() {
    let google = FakeGoogle::start(FakeGoogleConfig {
        users: vec![ANN.into()],
        rate_limit: true,
        units_per_second: 50,
        ..Default::default()
    })
    .await;
    let ids: Vec<String> = (0..12)
        .map(|n| google.add_message(ANN, raw(n)).id)
        .collect();
    // Half the server's budget: a token bucket can spend up to twice its
    // rate within one of the server's fixed one-second windows.
    let config = GmailConfig {
        max_attempts: 1,
        units_per_second: 20,
        per_mailbox_concurrency: 12,
        ..google.gmail_config()
    };
    let mailbox = Arc::new(reader(&google, config));

    let fetches = ids.iter().map(|id| {
        let mailbox = mailbox.clone();
        async move { mailbox.fetch_raw(&ann(), id).await }
    });
    let results = bounded(futures::future::join_all(fetches)).await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(google.calls(Endpoint::MessagesGet), 12);
}

#[tokio::test]
async fn without_the_quota_limiter_a_burst_is_rate_limited_by_gmail() {
    let google = FakeGoogle::start(FakeGoogleConfig {
        users: vec![ANN.into()],
        rate_limit: true,
        units_per_second: 50,
        ..Default::default()
    })
    .await;
    let ids: Vec<String> = (0..40)
        .map(|n| google.add_message(ANN, raw(n)).id)
        .collect();
    let config = GmailConfig {
        max_attempts: 1,
        units_per_second: 0,
        per_mailbox_concurrency: 40,
        ..google.gmail_config()
    };
    let mailbox = Arc::new(reader(&google, config));
    mailbox.profile(&ann()).await.unwrap();

    let fetches = ids.iter().map(|id| {
        let mailbox = mailbox.clone();
        async move { mailbox.fetch_raw(&ann(), id).await }
    });
    let results = bounded(futures::future::join_all(fetches)).await;

    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(GmailError::RateLimited { .. }))),
        "{results:?}"
    );
}

#[tokio::test]
async fn a_flaky_gmail_is_ridden_out_by_retries() {
    let google = FakeGoogle::start(FakeGoogleConfig {
        users: vec![ANN.into()],
        failure_rate: 0.4,
        seed: 11,
        ..Default::default()
    })
    .await;
    let ids: Vec<String> = (0..20)
        .map(|n| google.add_message(ANN, raw(n)).id)
        .collect();
    let config = GmailConfig {
        max_attempts: 10,
        ..google.gmail_config()
    };
    let mailbox = reader(&google, config);

    for id in &ids {
        let got = mailbox.fetch_raw(&ann(), id).await;
        assert!(got.is_ok(), "{id}: {got:?}");
    }

    assert!(
        google.calls(Endpoint::MessagesGet) > 20,
        "some calls failed and were retried"
    );
}
