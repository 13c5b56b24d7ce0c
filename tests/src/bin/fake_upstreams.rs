//! The fake Google (Gmail API and token endpoint) and the fake Spark on
//! loopback, for running a real `mailroom serve` against them (the
//! schemathesis script). Writes the service-account key file to the path
//! given as the first argument, seeds Ann's and Bob's mailboxes, prints the
//! environment for mailroom as `NAME=value` lines, then runs until stdin
//! closes.

use std::io::Read;

use mailroom_tests::capture_team::{ANN, BOB, seed_mail};
use mailroom_tests::fake_google::{FakeGoogle, FakeGoogleConfig};
use mailroom_tests::fake_spark::{FakeSpark, SparkMode};

#[tokio::main]
async fn main() {
    let key_path = std::env::args()
        .nth(1)
        .expect("usage: fake_upstreams KEY_FILE_PATH");
    let google = FakeGoogle::start(FakeGoogleConfig::default()).await;
    for user in [ANN, BOB] {
        google.add_user(user);
    }
    seed_mail(&google);
    let spark = FakeSpark::start(SparkMode::Normal).await;
    std::fs::write(&key_path, google.service_account_json()).expect("write the key file");
    println!("GOOGLE_SERVICE_ACCOUNT_FILE={key_path}");
    println!("GMAIL_API_BASE={}", google.base_url());
    println!("SPARK_BASE_URL={}", spark.base_url());
    // A blocking read, off the runtime's worker threads.
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await;
}
