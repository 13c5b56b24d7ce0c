//! The digest's narrative paragraphs through the running app (R-DIG-1):
//! Spark's paragraph per team member when it answers, the count-only
//! paragraphs when it is down, failing or slow, and the digest sent either way.

use std::time::{Duration, Instant};

use crate::digest_e2e_common::{
    ANN, ANN_LINE, BOB_LINE, Env, SEEDED_SUBJECT, assert_seeded_digest_body, outbox_messages, post,
    seed_fund,
};
use mailroom_tests::app::{Backend, spawn_app_with};
use mailroom_tests::fake_spark::{FakeSpark, SparkMode};
use serde_json::json;

const SEND_NOW: &str = "/api/admin/digest/send-now";
const MODEL: &str = "digest-test-model";
/// Team members with activity in the seeded window: one Spark call each.
const ACTIVE_MEMBERS: u64 = 2;
/// `SPARK_TIMEOUT_S` in these tests (the smallest it accepts).
const TIMEOUT_S: u64 = 1;

fn spark_env(base_url: &str) -> Env {
    Env::new()
        .set("SPARK_BASE_URL", base_url)
        .set("SPARK_MODEL", MODEL)
        .set("SPARK_TIMEOUT_S", TIMEOUT_S.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spark_writes_one_paragraph_per_active_team_member() {
    let spark = FakeSpark::start(SparkMode::Normal).await;
    let app = spawn_app_with(Backend::Sqlite, &spark_env(&spark.base_url()).pairs()).await;
    seed_fund(&app).await;

    let (status, answer) = post(&app, SEND_NOW, ANN, json!({})).await;

    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["transport"], "outbox");
    let sent = outbox_messages(app.outbox.path());
    assert_eq!(sent.len(), 1);
    let body = &sent[0].text;
    assert_eq!(sent[0].subject, SEEDED_SUBJECT);
    assert_seeded_digest_body(body);
    let marker = format!("[fake-spark:{MODEL}]");
    assert_eq!(
        body.matches(&marker).count(),
        ACTIVE_MEMBERS as usize,
        "one narrated paragraph per member with activity:\n{body}"
    );
    // Each paragraph sits in its member's part, after the count-only line.
    for line in [ANN_LINE, BOB_LINE] {
        let after = &body[body.find(line).expect("the count line") + line.len()..];
        let next_line = after.trim_start_matches('\n').lines().next().unwrap_or("");
        assert!(
            next_line.starts_with(&marker),
            "no paragraph after {line:?}:\n{body}"
        );
    }
    assert_eq!(spark.request_count(), ACTIVE_MEMBERS as usize);
    // The narrator is asked about the seeded mail, not about anyone else's.
    let prompts: String = spark
        .requests()
        .iter()
        .filter_map(|r| r.message("user"))
        .collect();
    assert!(prompts.contains("Q4 capital call"), "{prompts}");
    assert!(!prompts.contains("Cat's private thread"), "{prompts}");
}

/// How Spark fails in [`check_the_digest_goes_out_with_count_only_paragraphs`].
enum Failure {
    Down,
    Error500,
    SlowerThanTheTimeout,
}

async fn check_the_digest_goes_out_with_count_only_paragraphs(failure: Failure) {
    let spark = match failure {
        Failure::Down => None,
        Failure::Error500 => Some(FakeSpark::start(SparkMode::Error500).await),
        Failure::SlowerThanTheTimeout => {
            Some(FakeSpark::start(SparkMode::Slow(Duration::from_secs(TIMEOUT_S * 30))).await)
        }
    };
    let base_url = spark
        .as_ref()
        .map(FakeSpark::base_url)
        .unwrap_or_else(FakeSpark::down);
    let app = spawn_app_with(Backend::Sqlite, &spark_env(&base_url).pairs()).await;
    seed_fund(&app).await;

    let started = Instant::now();
    let (status, answer) = post(&app, SEND_NOW, ANN, json!({})).await;
    let took = started.elapsed();

    // A bound on a hang, not a performance target: each member's call may
    // use the whole timeout, plus ample slack for a loaded machine.
    let bound = Duration::from_secs(TIMEOUT_S * ACTIVE_MEMBERS + 5);
    assert!(took < bound, "send-now took {took:?}, over {bound:?}");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["sent"], true);
    assert_eq!(answer["transport"], "outbox");
    let sent = outbox_messages(app.outbox.path());
    assert_eq!(sent.len(), 1, "the digest is sent without the narrator");
    let body = &sent[0].text;
    assert_seeded_digest_body(body);
    assert!(!body.contains("[fake-spark"), "{body}");
    assert!(!body.contains("model crashed"), "{body}");
    if let Some(spark) = &spark {
        assert!(spark.request_count() >= 1, "Spark was asked");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_spark_down_the_digest_goes_out_with_count_only_paragraphs() {
    check_the_digest_goes_out_with_count_only_paragraphs(Failure::Down).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_spark_answering_500_the_digest_goes_out_with_count_only_paragraphs() {
    check_the_digest_goes_out_with_count_only_paragraphs(Failure::Error500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_spark_slower_than_its_timeout_the_digest_goes_out_with_count_only_paragraphs() {
    check_the_digest_goes_out_with_count_only_paragraphs(Failure::SlowerThanTheTimeout).await;
}
