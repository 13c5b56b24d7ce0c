//! R-CAP-1: minting, caching and refusing domain-wide delegation tokens,
//! against the fake Google's token endpoint.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use mailroom_adapters::gmail::{DwdTokenProvider, ServiceAccountKey, TokenRetry};
use mailroom_ports::EmailAddress;
use mailroom_ports::gmail::{Scope, TokenError, TokenProvider};
use mailroom_tests::fake_google::{
    Endpoint, FakeGoogle, FakeGoogleConfig, Fault, OTHER_PRIVATE_KEY_PEM, SettableClock,
};

const ANN: &str = "ann@fund.com";

fn ann() -> EmailAddress {
    EmailAddress::parse(ANN).unwrap()
}

async fn fake() -> FakeGoogle {
    FakeGoogle::start(FakeGoogleConfig {
        users: vec![ANN.into(), "bob@fund.com".into()],
        ..Default::default()
    })
    .await
}

/// Bounds a call that must not hang; the fake's hang is 30 s.
async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("the call finished")
}

#[tokio::test]
async fn the_assertion_carries_the_claims_google_expects() {
    let google = fake().await;
    let tokens = google.token_provider();

    let token = tokens
        .token(&ann(), &[Scope::GmailReadonly, Scope::GmailCompose])
        .await
        .unwrap();

    assert!(!token.secret().is_empty());
    let grants = google.grants();
    assert_eq!(grants.len(), 1);
    let grant = &grants[0];
    assert_eq!(grant.kid.as_deref(), Some(google.private_key_id().as_str()));
    assert_eq!(grant.iss, google.client_email());
    assert_eq!(grant.sub.as_deref(), Some(ANN));
    assert_eq!(grant.aud, google.token_url());
    assert_eq!(grant.exp - grant.iat, 3600);
    assert_eq!(
        grant.scope,
        "https://www.googleapis.com/auth/gmail.readonly https://www.googleapis.com/auth/gmail.compose"
    );
}

#[tokio::test]
async fn ten_concurrent_callers_share_one_mint() {
    let google = fake().await;
    let tokens = google.token_provider();

    let calls = (0..10).map(|_| {
        let tokens = tokens.clone();
        async move { tokens.token(&ann(), &[Scope::GmailReadonly]).await.unwrap() }
    });
    let got = futures::future::join_all(calls).await;

    assert_eq!(google.calls(Endpoint::Token), 1);
    assert!(got.iter().all(|t| t.secret() == got[0].secret()));
}

#[tokio::test]
async fn tokens_are_cached_per_user_and_scope_set() {
    let google = fake().await;
    let tokens = google.token_provider();
    let bob = EmailAddress::parse("bob@fund.com").unwrap();

    let a1 = tokens
        .token(&ann(), &[Scope::GmailReadonly, Scope::GmailCompose])
        .await
        .unwrap();
    let a2 = tokens
        .token(&ann(), &[Scope::GmailCompose, Scope::GmailReadonly])
        .await
        .unwrap();
    let a3 = tokens.token(&ann(), &[Scope::GmailReadonly]).await.unwrap();
    let b1 = tokens.token(&bob, &[Scope::GmailReadonly]).await.unwrap();

    assert_eq!(a1.secret(), a2.secret());
    assert_ne!(a1.secret(), a3.secret());
    assert_ne!(a3.secret(), b1.secret());
    assert_eq!(google.calls(Endpoint::Token), 3);
}

#[tokio::test]
async fn a_token_is_minted_again_five_minutes_before_it_expires() {
    let google = FakeGoogle::start(FakeGoogleConfig {
        users: vec![ANN.into()],
        token_lifetime_secs: 400,
        ..Default::default()
    })
    .await;
    // The provider's clock starts in the past so its assertions stay valid
    // for the fake, which checks them against the real time.
    let real_now = Timestamp::now();
    let clock = Arc::new(SettableClock::new(
        real_now - SignedDuration::from_secs(200),
    ));
    let tokens = google.token_provider_with_clock(clock.clone());

    let first = tokens.token(&ann(), &[Scope::GmailReadonly]).await.unwrap();
    clock.set(real_now - SignedDuration::from_secs(110));
    let still_cached = tokens.token(&ann(), &[Scope::GmailReadonly]).await.unwrap();
    clock.set(real_now - SignedDuration::from_secs(90));
    let refreshed = tokens.token(&ann(), &[Scope::GmailReadonly]).await.unwrap();

    assert_eq!(first.secret(), still_cached.secret());
    assert_ne!(first.secret(), refreshed.secret());
    assert_eq!(google.calls(Endpoint::Token), 2);
}

#[tokio::test]
async fn an_invalidated_token_is_minted_again() {
    let google = fake().await;
    let tokens = google.token_provider();

    let first = tokens.token(&ann(), &[Scope::GmailReadonly]).await.unwrap();
    tokens.invalidate(&ann(), &[Scope::GmailReadonly]).await;
    let second = tokens.token(&ann(), &[Scope::GmailReadonly]).await.unwrap();

    assert_ne!(first.secret(), second.secret());
    assert_eq!(google.calls(Endpoint::Token), 2);
}

#[tokio::test]
async fn an_unknown_user_is_reported_without_the_assertion() {
    let google = fake().await;
    let tokens = google.token_provider();
    let ghost = EmailAddress::parse("ghost@fund.com").unwrap();

    let err = tokens
        .token(&ghost, &[Scope::GmailReadonly])
        .await
        .unwrap_err();

    assert!(
        matches!(err, TokenError::UnknownUser(ref u) if u == "ghost@fund.com"),
        "{err:?}"
    );
    let assertion = google
        .assertions()
        .pop()
        .expect("the fake saw the assertion");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(&assertion), "{shown}");
    assert!(
        !shown.contains(&assertion[assertion.len() - 40..]),
        "{shown}"
    );
    assert_eq!(google.calls(Endpoint::Token), 1, "a refusal is not retried");
}

#[tokio::test]
async fn a_scope_outside_the_delegation_grant_tells_the_admin_what_to_add() {
    let google = FakeGoogle::start(FakeGoogleConfig {
        users: vec![ANN.into()],
        granted_scopes: vec!["https://www.googleapis.com/auth/gmail.readonly".into()],
        ..Default::default()
    })
    .await;
    let tokens = google.token_provider();

    let err = tokens
        .token(&ann(), &[Scope::GmailCompose])
        .await
        .unwrap_err();

    let TokenError::NotAuthorized(why) = &err else {
        panic!("expected NotAuthorized, got {err:?}")
    };
    assert!(
        why.contains("103456789012345678901"),
        "names the numeric client id: {why}"
    );
    assert!(why.contains("gmail.compose"), "names the scope: {why}");
    assert!(why.contains("Admin console"), "says where to fix it: {why}");
}

#[tokio::test]
async fn a_key_google_does_not_recognise_is_a_bad_key() {
    let google = fake().await;
    let mut json: serde_json::Value = serde_json::from_str(&google.service_account_json()).unwrap();
    json["private_key"] = serde_json::Value::String(OTHER_PRIVATE_KEY_PEM.into());
    let key = ServiceAccountKey::from_json(&json.to_string()).unwrap();
    let tokens = DwdTokenProvider::new(
        key,
        reqwest::Client::new(),
        Arc::new(SettableClock::default()),
    );

    let err = tokens
        .token(&ann(), &[Scope::GmailReadonly])
        .await
        .unwrap_err();

    assert!(matches!(err, TokenError::BadKey(_)), "{err:?}");
    assert!(!format!("{err:?}").contains("PRIVATE KEY"));
}

#[tokio::test]
async fn the_token_endpoint_is_retried_after_server_errors() {
    let google = fake().await;
    google.push_faults(Endpoint::Token, [Fault::Status(503), Fault::Status(500)]);
    let tokens = google.token_provider();

    let token = tokens.token(&ann(), &[Scope::GmailReadonly]).await;

    assert!(token.is_ok(), "{token:?}");
    assert_eq!(google.calls(Endpoint::Token), 3);
}

#[tokio::test]
async fn a_token_endpoint_that_stays_down_is_unavailable_after_bounded_attempts() {
    let google = fake().await;
    google.push_faults(
        Endpoint::Token,
        [
            Fault::Status(500),
            Fault::RetryAfter(0),
            Fault::Status(503),
            Fault::Status(503),
        ],
    );
    let tokens = google.token_provider();

    let err = tokens
        .token(&ann(), &[Scope::GmailReadonly])
        .await
        .unwrap_err();

    assert!(matches!(err, TokenError::Unavailable(_)), "{err:?}");
    assert_eq!(google.calls(Endpoint::Token), 3);
}

#[tokio::test]
async fn a_token_endpoint_that_hangs_is_given_up_on() {
    let google = fake().await;
    google.push_faults(Endpoint::Token, [Fault::Hang, Fault::Hang]);
    let tokens = DwdTokenProvider::new(
        google.service_account_key(),
        reqwest::Client::new(),
        Arc::new(SettableClock::default()),
    )
    .with_retry(TokenRetry {
        max_attempts: 2,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(10),
        timeout: Duration::from_millis(300),
    });

    let err = bounded(tokens.token(&ann(), &[Scope::GmailReadonly]))
        .await
        .unwrap_err();

    assert!(matches!(err, TokenError::Unavailable(_)), "{err:?}");
    assert_eq!(google.calls(Endpoint::Token), 2);
}

#[test]
fn the_key_file_is_read_from_disk_and_its_debug_hides_the_private_key() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/test-service-account.json"
    );

    let key = ServiceAccountKey::from_file(path).unwrap();

    assert_eq!(
        key.client_email,
        "mailroom-dwd@mailroom-test.iam.gserviceaccount.com"
    );
    assert_eq!(key.token_uri, "https://oauth2.googleapis.com/token");
    let shown = format!("{key:?}");
    assert!(
        !shown.contains("PRIVATE KEY") && !shown.contains("MII"),
        "{shown}"
    );
}

#[test]
fn a_missing_key_file_is_a_bad_key() {
    let err = ServiceAccountKey::from_file("/nonexistent/key.json").unwrap_err();
    assert!(matches!(err, TokenError::BadKey(_)), "{err:?}");
}
