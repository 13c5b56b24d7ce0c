//! Full-sync throughput of one mailbox through the real wiring (config →
//! wiring → `SyncService` on the Gmail adapters → SeaStore on SQLite)
//! against the loopback fake Gmail, with Gmail's per-user quota enforced by
//! the fake (250 units/s) and without it.
//!
//! `cargo bench -p mailroom-tests --bench sync_throughput`; `BENCH_MESSAGES`
//! sets the mailbox size (default 500).

use std::time::Instant;

use mailroom_adapters::gmail::GmailConfig;
use mailroom_ports::AccountId;
use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{ANN, CaptureTeam, bulk_message};
use mailroom_tests::fake_google::{Endpoint, FakeGoogleConfig};

struct Setup {
    name: &'static str,
    /// The fake answers 429 past 250 units per user per second.
    fake_quota: bool,
    /// The client's own limiter (units per second; 0 = off).
    client_units: u32,
}

const SETUPS: [Setup; 3] = [
    Setup {
        name: "quota on  (fake 250 u/s, client limiter 250 u/s)",
        fake_quota: true,
        client_units: 250,
    },
    Setup {
        name: "quota off (fake unlimited, client limiter 250 u/s)",
        fake_quota: false,
        client_units: 250,
    },
    Setup {
        name: "quota off (fake unlimited, client limiter off)",
        fake_quota: false,
        client_units: 0,
    },
];

fn main() {
    let messages: usize = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    println!("full sync of one mailbox, {messages} messages, SQLite, fetch concurrency 4");
    for setup in &SETUPS {
        runtime.block_on(run(setup, messages));
    }
}

async fn run(setup: &Setup, messages: usize) {
    let team = CaptureTeam::start_with(
        Backend::Sqlite,
        FakeGoogleConfig {
            rate_limit: setup.fake_quota,
            units_per_second: 250,
            ..FakeGoogleConfig::default()
        },
        |c| GmailConfig {
            units_per_second: setup.client_units,
            ..c
        },
    )
    .await;
    for n in 0..messages {
        team.google.add_message_with(ANN, bulk_message(n, ANN));
    }
    let sync = team.app.state.sync.clone().expect("sync is wired");

    let started = Instant::now();
    let report = sync
        .sync_account(AccountId(team.ann_box))
        .await
        .expect("the sync completes");
    let elapsed = started.elapsed();

    let gets = team.google.calls(Endpoint::MessagesGet);
    println!(
        "{:<52} {:>8.1} messages/s  ({} captured in {:.2} s; {} messages.get calls, {} retried)",
        setup.name,
        f64::from(report.captured) / elapsed.as_secs_f64(),
        report.captured,
        elapsed.as_secs_f64(),
        gets,
        gets.saturating_sub(messages),
    );
    assert_eq!(report.captured as usize, messages, "{report:?}");
}
