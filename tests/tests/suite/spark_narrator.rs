//! The Spark narrator against a fake OpenAI-compatible server on loopback
//! (R-DIG-1: a bounded LLM call per user).

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use mailroom_adapters::spark::{SparkConfig, SparkNarrator};
use mailroom_ports::llm::NarrativeItem;
use mailroom_ports::records::Direction;
use mailroom_ports::{Clock, LlmError, LlmNarrator, NarrativeRequest};
use mailroom_tests::fake_spark::{FakeSpark, SparkMode};

/// Every test is cut off here, so a hang fails instead of stalling the suite.
const TEST_BOUND: Duration = Duration::from_secs(10);

struct FixedClock(Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

fn now() -> Timestamp {
    "2025-03-04T17:00:00Z".parse().unwrap()
}

fn config(base_url: String, api_key: Option<&str>, timeout: Duration) -> SparkConfig {
    SparkConfig {
        base_url,
        model: "gemma-3-12b".into(),
        api_key: api_key.map(str::to_string),
        timeout,
        max_tokens: 220,
        temperature: 0.2,
    }
}

fn narrator(config: SparkConfig) -> SparkNarrator {
    SparkNarrator::new(config, Arc::new(FixedClock(now()))).expect("the config is valid")
}

fn request() -> NarrativeRequest {
    NarrativeRequest {
        user_name: "Ann Lee".into(),
        since: now() - SignedDuration::from_hours(24),
        until: now(),
        items: vec![NarrativeItem {
            direction: Direction::Outbound,
            counterpart: "Bob Chen".into(),
            investor: "Acme Capital".into(),
            subject: Some("Q3 report".into()),
            snippet: Some("Attached is the Q3 report".into()),
            sent_at: now() - SignedDuration::from_hours(3),
        }],
    }
}

async fn narrate(narrator: &SparkNarrator, deadline: Timestamp) -> Result<String, LlmError> {
    tokio::time::timeout(TEST_BOUND, narrator.narrate(&request(), deadline))
        .await
        .expect("narrate returned within the test bound")
}

fn in_a_minute() -> Timestamp {
    now() + SignedDuration::from_secs(60)
}

#[tokio::test]
async fn the_paragraph_comes_from_the_llm_and_the_request_has_the_openai_shape() {
    let spark = FakeSpark::start(SparkMode::Normal).await;
    let narrator = narrator(config(
        spark.base_url(),
        Some("sk-test-key"),
        Duration::from_secs(5),
    ));

    let text = narrate(&narrator, in_a_minute())
        .await
        .expect("a paragraph");

    assert_eq!(text, "[fake-spark:gemma-3-12b] Team member: Ann Lee.");
    assert_eq!(spark.request_count(), 1);
    let sent = &spark.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.authorization.as_deref(), Some("Bearer sk-test-key"));
    assert_eq!(sent.body["model"], "gemma-3-12b");
    assert_eq!(sent.body["max_tokens"], 220);
    assert!((sent.body["temperature"].as_f64().unwrap() - 0.2).abs() < 1e-6);
    let roles: Vec<&str> = sent.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user"]);
    let system = sent.message("system").unwrap();
    assert!(system.contains("do not invent"), "{system}");
    let user = sent.message("user").unwrap();
    for fact in [
        "Ann Lee",
        "sent to Bob Chen",
        "Acme Capital",
        "Q3 report",
        "Attached is the Q3 report",
        "14:00 UTC",
    ] {
        assert!(user.contains(fact), "missing {fact:?} in {user}");
    }
}

#[tokio::test]
async fn without_an_api_key_no_authorization_header_is_sent() {
    let spark = FakeSpark::start(SparkMode::Normal).await;
    let narrator = narrator(config(
        format!("{}/v1/", spark.base_url()),
        None,
        Duration::from_secs(5),
    ));

    narrate(&narrator, in_a_minute())
        .await
        .expect("a paragraph");

    let sent = &spark.requests()[0];
    assert_eq!(sent.authorization, None);
    assert_eq!(sent.path, "/v1/chat/completions");
}

#[tokio::test]
async fn a_server_error_is_unavailable_with_its_reason() {
    let spark = FakeSpark::start(SparkMode::Error500).await;
    let narrator = narrator(config(
        spark.base_url(),
        Some("sk-test-key"),
        Duration::from_secs(5),
    ));

    let error = narrate(&narrator, in_a_minute()).await.unwrap_err();

    match error {
        LlmError::Unavailable(reason) => {
            assert!(reason.contains("500"), "{reason}");
            assert!(reason.contains("model crashed while decoding"), "{reason}");
            assert!(!reason.contains("sk-test-key"), "{reason}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_blank_completion_is_invalid() {
    let spark = FakeSpark::start(SparkMode::Content("  \n ".into())).await;
    let narrator = narrator(config(spark.base_url(), None, Duration::from_secs(5)));

    let error = narrate(&narrator, in_a_minute()).await.unwrap_err();

    assert!(matches!(error, LlmError::Invalid(_)), "{error:?}");
}

#[tokio::test]
async fn a_reply_slower_than_the_timeout_is_a_timeout() {
    let spark = FakeSpark::start(SparkMode::Slow(Duration::from_secs(60))).await;
    let narrator = narrator(config(spark.base_url(), None, Duration::from_millis(300)));

    let error = narrate(&narrator, in_a_minute()).await.unwrap_err();

    assert!(matches!(error, LlmError::Timeout), "{error:?}");
    assert_eq!(spark.request_count(), 1);
}

#[tokio::test]
async fn a_deadline_sooner_than_the_timeout_cuts_the_call_short() {
    let spark = FakeSpark::start(SparkMode::Slow(Duration::from_secs(60))).await;
    let narrator = narrator(config(spark.base_url(), None, Duration::from_secs(60)));

    let error = narrate(&narrator, now() + SignedDuration::from_millis(300))
        .await
        .unwrap_err();

    assert!(matches!(error, LlmError::Timeout), "{error:?}");
}

#[tokio::test]
async fn a_deadline_already_passed_times_out_without_a_request() {
    let spark = FakeSpark::start(SparkMode::Normal).await;
    let narrator = narrator(config(spark.base_url(), None, Duration::from_secs(5)));

    for deadline in [now(), now() - SignedDuration::from_secs(1)] {
        let error = narrate(&narrator, deadline).await.unwrap_err();
        assert!(matches!(error, LlmError::Timeout), "{error:?}");
    }
    assert_eq!(spark.request_count(), 0);
}

#[tokio::test]
async fn a_server_that_is_down_is_unavailable() {
    let narrator = narrator(config(FakeSpark::down(), None, Duration::from_secs(5)));

    let error = narrate(&narrator, in_a_minute()).await.unwrap_err();

    assert!(matches!(error, LlmError::Unavailable(_)), "{error:?}");
}

#[tokio::test]
async fn a_blank_base_url_is_not_configured() {
    let result = SparkNarrator::new(
        config("  ".into(), None, Duration::from_secs(5)),
        Arc::new(FixedClock(now())),
    );

    assert!(matches!(result, Err(LlmError::NotConfigured)));
}
