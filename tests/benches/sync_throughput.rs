//! Sync throughput against the loopback fake Gmail, which enforces Gmail's
//! per-user quota (250 units/s, a 429 past it) when asked to.
//!
//! 1. One mailbox through the real wiring (config → wiring → `SyncService`
//!    on the Gmail adapters → SeaStore on SQLite), with the fake's quota and
//!    the client's limiter on and off.
//! 2. Many mailboxes in one process (PostgreSQL and SQLite): first the way
//!    the scheduler syncs them (`SyncService::run_once`: at most
//!    `account_concurrency` mailboxes at once), then all of them at once.
//! 3. The same mailboxes served by three `mailroom serve` replicas of the
//!    release binary on one PostgreSQL database.
//! 4. The resident memory of one idle `mailroom serve` (SQLite, no Google).
//!
//! ```sh
//! cargo build --release -p mailroom-app   # the replicas run target/release/mailroom
//! cargo bench -p mailroom-tests --bench sync_throughput
//! ```
//!
//! Environment: `BENCH_MESSAGES` (one mailbox, default 500),
//! `BENCH_MAILBOXES` (default 20), `BENCH_MESSAGES_PER_MAILBOX` (default
//! 200), `BENCH_REPLICAS` (default 3), `BENCH_REPLICAS_TIMEOUT_S` (default
//! 600), `BENCH_ONLY` (a comma-separated subset of
//! `one,many,replicas,idle`), `MAILROOM_BIN` (another binary),
//! `MAILROOM_TEST_PG_URL` (the PostgreSQL server, default
//! `postgres://postgres@127.0.0.1:5432/postgres`). Figures of parts 2–4
//! are `name: value unit` lines.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use mailroom_adapters::gmail::GmailConfig;
use mailroom_domain::capture::{SyncError, SyncReport};
use mailroom_ports::AccountId;
use mailroom_tests::app::{Backend, TEST_JWT_SECRET};
use mailroom_tests::capture_team::{ANN, CaptureTeam, bulk_message, distinct_bulk_message};
use mailroom_tests::fake_google::{Endpoint, FakeGoogleConfig};
use mailroom_tests::service::Service;

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

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Whether `part` is to run (`BENCH_ONLY` unset runs every part).
fn wanted(part: &str) -> bool {
    match std::env::var("BENCH_ONLY") {
        Ok(only) => only.split(',').any(|p| p.trim() == part),
        Err(_) => true,
    }
}

fn main() {
    let messages = env_number("BENCH_MESSAGES", 500);
    let mailboxes = env_number("BENCH_MAILBOXES", 20);
    let per_mailbox = env_number("BENCH_MESSAGES_PER_MAILBOX", 200);
    let replicas = env_number("BENCH_REPLICAS", 3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    if wanted("one") {
        println!("full sync of one mailbox, {messages} messages, SQLite, fetch concurrency 4");
        for setup in &SETUPS {
            runtime.block_on(run_one(setup, messages));
        }
    }
    if wanted("many") {
        for backend in [Backend::Postgres, Backend::Sqlite] {
            for mode in [Mode::Scheduler, Mode::AllAtOnce] {
                runtime.block_on(run_many(backend, mode, mailboxes, per_mailbox));
            }
        }
    }
    if wanted("replicas") {
        runtime.block_on(run_replicas(replicas, mailboxes, per_mailbox));
    }
    if wanted("idle") {
        runtime.block_on(run_idle());
    }
}

async fn run_one(setup: &Setup, messages: usize) {
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

/// How the in-process part syncs the mailboxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// As `SyncService::run_once` (what the scheduler calls each tick) does:
    /// the mailboxes as a stream, `account_concurrency` of them at once.
    Scheduler,
    /// Every mailbox at once.
    AllAtOnce,
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// The production Gmail client settings (1 s first backoff, 5 attempts,
/// limiter at 250 units/s per mailbox) aimed at the fake.
fn production_gmail(fake: GmailConfig) -> GmailConfig {
    GmailConfig {
        api_base: fake.api_base,
        ..GmailConfig::default()
    }
}

fn quota_on() -> FakeGoogleConfig {
    FakeGoogleConfig {
        rate_limit: true,
        units_per_second: 250,
        ..FakeGoogleConfig::default()
    }
}

/// A team with `mailboxes` more teammates, each mailbox holding
/// `per_mailbox` distinct messages, on a quota-enforcing fake.
async fn many_team(
    backend: Backend,
    mailboxes: usize,
    per_mailbox: usize,
) -> (CaptureTeam, Vec<(String, i64)>) {
    let team = CaptureTeam::start_with(backend, quota_on(), production_gmail).await;
    let boxes = team.add_teammates(mailboxes).await;
    for (address, _) in &boxes {
        for n in 0..per_mailbox {
            team.google
                .add_message_with(address, distinct_bulk_message(n, address));
        }
    }
    (team, boxes)
}

async fn run_many(backend: Backend, mode: Mode, mailboxes: usize, per_mailbox: usize) {
    let (team, boxes) = many_team(backend, mailboxes, per_mailbox).await;
    let sync = team.app.state.sync.clone().expect("sync is wired");
    let width = match mode {
        Mode::Scheduler => sync.config().account_concurrency.max(1),
        Mode::AllAtOnce => boxes.len().max(1),
    };
    let name = format!(
        "many.{}.{}",
        backend_name(backend),
        match mode {
            Mode::Scheduler => "scheduler",
            Mode::AllAtOnce => "all_at_once",
        }
    );
    let peak_reset = reset_peak_rss();
    let started = Instant::now();
    let results: Vec<(Duration, Result<SyncReport, SyncError>)> =
        stream::iter(boxes.iter().map(|(_, id)| AccountId(*id)))
            .map(|id| {
                let sync = &sync;
                async move {
                    let began = Instant::now();
                    let result = sync.sync_account(id).await;
                    (began.elapsed(), result)
                }
            })
            .buffer_unordered(width)
            .collect()
            .await;
    let wall = started.elapsed();
    let peak = rss_kb("self", "VmHWM");

    let mut rates: Vec<f64> = Vec::new();
    let mut captured = 0_u64;
    let mut failed = 0;
    for (took, result) in &results {
        match result {
            Ok(report) => {
                captured += u64::from(report.captured);
                rates.push(f64::from(report.captured) / took.as_secs_f64());
            }
            Err(e) => {
                failed += 1;
                eprintln!("{name}: a mailbox sync failed: {e}");
            }
        }
    }
    rates.sort_by(f64::total_cmp);
    let stored = team
        .count("SELECT COUNT(*) FROM email_account_messages")
        .await;
    println!(
        "# {mailboxes} mailboxes x {per_mailbox} messages, {}, {} at once \
         (the scheduler's account_concurrency is {}), fake quota 250 u/s per user, \
         client limiter 250 u/s per mailbox, production retries",
        backend_name(backend),
        width,
        sync.config().account_concurrency,
    );
    println!("{name}.wall_time: {:.2} s", wall.as_secs_f64());
    println!(
        "{name}.total: {:.1} messages/s",
        captured as f64 / wall.as_secs_f64()
    );
    println!(
        "{name}.per_mailbox_min: {:.1} messages/s",
        rates.first().copied().unwrap_or(0.0)
    );
    println!(
        "{name}.per_mailbox_median: {:.1} messages/s",
        median(&rates)
    );
    println!(
        "{name}.http_429: {} responses",
        team.google.quota_rejections()
    );
    println!(
        "{name}.messages_get: {} calls",
        team.google.calls(Endpoint::MessagesGet)
    );
    println!("{name}.failed_syncs: {failed} mailboxes");
    println!("{name}.stored_sightings: {stored} rows");
    match peak {
        Some(kb) => println!(
            "{name}.peak_rss: {:.1} MB{}",
            kb as f64 / 1024.0,
            if peak_reset {
                " (bench process: app, fake Google and the mail it holds; peak reset before the sync)"
            } else {
                " (bench process since its start: the peak could not be reset)"
            }
        ),
        None => println!("{name}.peak_rss: unknown (no /proc/self/status)"),
    }
    assert_eq!(
        stored,
        (mailboxes * per_mailbox) as i64,
        "{name}: every message is stored once"
    );
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// A field of `/proc/<pid>/status` in kB (`pid` may be `self`).
fn rss_kb(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resets this process's peak RSS (VmHWM) to its current RSS; false when
/// the kernel refuses.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Where the release `mailroom` binary is: `MAILROOM_BIN`, else next to
/// this bench (`target/release/mailroom`).
fn release_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MAILROOM_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the bench's path");
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the bench sits in target/release/deps")
        .join("mailroom");
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --release -p mailroom-app` first (or set MAILROOM_BIN)",
        path.display()
    );
    // `Service` (which starts the replicas) finds the binary the same way.
    path
}

/// How long the replicas get to capture everything, unless
/// `BENCH_REPLICAS_TIMEOUT_S` says otherwise.
const REPLICAS_LIMIT_S: usize = 600;
/// The replicas' scheduler period.
const REPLICA_SYNC_INTERVAL_S: &str = "2";

async fn run_replicas(count: usize, mailboxes: usize, per_mailbox: usize) {
    let binary = release_binary();
    // Dropped last: the team owns the database (dropped WITH (FORCE)) and
    // the fake Google.
    let (team, _boxes) = many_team(Backend::Postgres, mailboxes, per_mailbox).await;
    let mut env = team.service_env();
    env.push(("SYNC_INTERVAL_S".into(), REPLICA_SYNC_INTERVAL_S.into()));
    env.push(("RUST_LOG".into(), "info".into()));
    let expected = (mailboxes * per_mailbox) as i64;
    let name = "replicas";
    println!(
        "# {mailboxes} mailboxes x {per_mailbox} messages, {count} `mailroom serve` replicas \
         ({}) on one PostgreSQL database, SYNC_INTERVAL_S={REPLICA_SYNC_INTERVAL_S}, \
         fake quota 250 u/s per user",
        binary.display()
    );

    // Dropped (SIGKILL) before the team, on success and on panic alike.
    let mut services: Vec<Service> = Vec::with_capacity(count);
    let started = Instant::now();
    for _ in 0..count {
        services.push(Service::start(&env).await);
    }
    let limit =
        Duration::from_secs(env_number("BENCH_REPLICAS_TIMEOUT_S", REPLICAS_LIMIT_S) as u64);
    let deadline = Instant::now() + limit;
    let mut stored = 0;
    while Instant::now() < deadline {
        stored = team
            .count("SELECT COUNT(*) FROM email_account_messages")
            .await;
        if stored >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wall = started.elapsed();
    // A replica logs a mailbox's report just after committing its last
    // batch: give the last lines a moment to arrive.
    let log_deadline = Instant::now() + Duration::from_secs(10);
    while services
        .iter()
        .map(|s| fetched_in_log(&s.log()))
        .sum::<u64>()
        < expected as u64
        && Instant::now() < log_deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let peaks: Vec<Option<u64>> = services
        .iter()
        .map(|s| rss_kb(&s.pid().to_string(), "VmHWM"))
        .collect();
    let fetched: Vec<u64> = services.iter().map(|s| fetched_in_log(&s.log())).collect();
    assert!(
        stored >= expected,
        "{name}: only {stored} of {expected} messages captured within {limit:?}"
    );
    // Let the replicas go before the checks read the database.
    drop(services);

    let emails = team.count("SELECT COUNT(*) FROM emails").await;
    let duplicates = team
        .count(
            "SELECT COUNT(*) FROM (SELECT account_id, gmail_message_id \
             FROM email_account_messages GROUP BY account_id, gmail_message_id \
             HAVING COUNT(*) > 1) AS d",
        )
        .await;
    let gets = team.google.calls(Endpoint::MessagesGet);
    let rejected = team.google.quota_rejections();
    println!(
        "{name}.wall_time: {:.2} s (from the first replica's start to the last capture)",
        wall.as_secs_f64()
    );
    println!(
        "{name}.total: {:.1} messages/s",
        stored as f64 / wall.as_secs_f64()
    );
    println!("{name}.messages: {expected} in the fake");
    println!("{name}.sightings: {stored} rows");
    println!("{name}.emails: {emails} rows");
    println!("{name}.duplicate_sightings: {duplicates} (mailbox, gmail id) pairs");
    println!("{name}.messages_get: {gets} calls");
    println!("{name}.http_429: {rejected} responses");
    println!(
        "{name}.extra_gets: {} calls beyond one per message ({} explained by 429s)",
        gets.saturating_sub(expected as usize),
        gets.saturating_sub(expected as usize).min(rejected)
    );
    for (n, (peak, fetched)) in peaks.iter().zip(&fetched).enumerate() {
        match peak {
            Some(kb) => println!(
                "{name}.replica{}.peak_rss: {:.1} MB",
                n + 1,
                *kb as f64 / 1024.0
            ),
            None => println!("{name}.replica{}.peak_rss: unknown", n + 1),
        }
        println!("{name}.replica{}.fetched: {fetched} messages", n + 1);
    }
    let once = stored == expected
        && emails == expected
        && duplicates == 0
        && fetched.iter().sum::<u64>() == expected as u64
        && gets.saturating_sub(expected as usize) <= rejected;
    println!(
        "{name}.captured_exactly_once: {} (sightings = emails = messages, no duplicate, \
         the replicas' fetches add up to the messages, extra gets <= 429s)",
        if once { "yes" } else { "NO" }
    );
}

/// Messages a replica reported fetched: the sum of `fetched: N` over the
/// scheduler's "mailbox synced" log lines.
fn fetched_in_log(log: &str) -> u64 {
    log.lines()
        .filter(|l| l.contains("mailroom_app::schedulers") && l.contains("mailbox synced"))
        .filter_map(|l| {
            let rest = &l[l.find("fetched: ")? + "fetched: ".len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u64>().ok()
        })
        .sum()
}

/// How long the idle replica sits before its memory is read.
const IDLE_FOR: Duration = Duration::from_secs(3);

async fn run_idle() {
    release_binary();
    let dir = tempfile::tempdir().expect("a folder for the database");
    let env = vec![
        (
            "DATABASE_URL".to_string(),
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("idle.sqlite").display()
            ),
        ),
        ("CRM_JWT_SECRET".to_string(), TEST_JWT_SECRET.to_string()),
        (
            "MAILROOM_OUTBOX_DIR".to_string(),
            dir.path().join("outbox").display().to_string(),
        ),
        ("RUST_LOG".to_string(), "info".to_string()),
    ];
    let service = Service::start(&env).await;
    tokio::time::sleep(IDLE_FOR).await;
    let pid = service.pid().to_string();
    let now = rss_kb(&pid, "VmRSS");
    let peak = rss_kb(&pid, "VmHWM");
    drop(service);
    let mb = |kb: Option<u64>| {
        kb.map_or_else(
            || "unknown".to_string(),
            |kb| format!("{:.1}", kb as f64 / 1024.0),
        )
    };
    println!("# one `mailroom serve`, SQLite, no Google, idle for {IDLE_FOR:?} after /readyz");
    println!("idle.rss: {} MB", mb(now));
    println!("idle.peak_rss: {} MB", mb(peak));
}
