//! `mailroom bench`: seeds a realistic database and measures the activity
//! list and the digest through the HTTP API of an in-process server, and
//! capture throughput through the `capture import` path, each figure
//! printed as a `name: value unit` line.
//!
//! Run the release build (`cargo build --release -p mailroom-app`); the
//! database comes from `--database-url` (or `DATABASE_URL`).

mod capture;
mod seed;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Subcommand;
use jiff::{SignedDuration, Timestamp};
use poem::listener::{Acceptor, Listener, TcpListener};

use mailroom_adapters::store::SeaStore;
use mailroom_ports::Store;

use crate::config::Config;
use crate::{auth, http, wiring};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Fill an empty database with N deterministic, realistic emails.
    Seed {
        #[arg(long, default_value_t = 100_000)]
        emails: u64,
        #[arg(long)]
        database_url: Option<String>,
    },
    /// p50/p99 of the activity list per filter, over sequential requests.
    Activity {
        /// Requests per scenario (at least 200 for a stable p99).
        #[arg(long, default_value_t = 200)]
        requests: usize,
        #[arg(long)]
        database_url: Option<String>,
    },
    /// The digest preview of the seeded 24-hour window: median of 10, peak RSS.
    Digest {
        #[arg(long, default_value_t = 10)]
        runs: usize,
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Capture throughput: a generated ~100 kB .eml corpus imported into an
    /// empty database through the `capture import` path, beside the
    /// single-core parse-only rate of the same files, and peak RSS.
    Capture {
        /// Messages in the generated corpus.
        #[arg(long, default_value_t = 5_000)]
        messages: u64,
        /// The corpus folder: generated unless it holds this corpus already.
        #[arg(long, default_value = "mailroom-bench-corpus")]
        corpus: std::path::PathBuf,
        #[arg(long)]
        database_url: Option<String>,
    },
}

/// Runs one bench command.
///
/// # Errors
/// When the database cannot be reached or a request fails.
pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Seed {
            emails,
            database_url,
        } => {
            let store = open(database_url).await?;
            seed::run(&store, emails).await
        }
        BenchCommand::Activity {
            requests,
            database_url,
        } => activity(database_url, requests.max(1)).await,
        BenchCommand::Digest { runs, database_url } => digest(database_url, runs.max(1)).await,
        BenchCommand::Capture {
            messages,
            corpus,
            database_url,
        } => {
            let store = Arc::new(open(database_url).await?);
            capture::run(store, messages.max(1), &corpus).await
        }
    }
}

fn database_url(flag: Option<String>) -> String {
    flag.or_else(|| std::env::var("DATABASE_URL").ok())
        .unwrap_or_else(|| "sqlite://mailroom-bench.sqlite?mode=rwc".into())
}

async fn open(flag: Option<String>) -> anyhow::Result<SeaStore> {
    let store = SeaStore::connect(&database_url(flag))
        .await
        .context("failed to connect to the bench database")?;
    store.migrate().await.context("failed to migrate")?;
    Ok(store)
}

/// A server on a loopback port and an admin token for it.
struct Server {
    base: String,
    token: String,
    client: reqwest::Client,
    store: Arc<SeaStore>,
}

impl Server {
    async fn start(flag: Option<String>) -> anyhow::Result<Server> {
        let mut secret = [0u8; 24];
        secret.iter_mut().for_each(|b| *b = rand::random());
        let secret: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let env = HashMap::from([
            ("DATABASE_URL".to_string(), database_url(flag)),
            ("CRM_JWT_SECRET".to_string(), secret),
        ]);
        let config = Config::from_map(&env).map_err(|e| anyhow::anyhow!("{e}"))?;
        let store = wiring::connect_store(&config).await?;
        let state = wiring::build_with_store(&config, store.clone(), Default::default()).await?;
        let jwt = wiring::jwt_secret(&config, store.as_ref()).await?;
        let token = auth::mint(
            &jwt,
            &seed::mailbox_address(0),
            Duration::from_secs(3600),
            Timestamp::now(),
        )?;
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await?;
        let addr = *acceptor.local_addr()[0]
            .as_socket_addr()
            .context("a socket address")?;
        let routes = http::routes(state);
        tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor).run(routes).await;
        });
        Ok(Server {
            base: format!("http://{addr}"),
            token,
            client: reqwest::Client::new(),
            store,
        })
    }

    /// One GET; returns its time and JSON answer.
    async fn get(&self, path_and_query: &str) -> anyhow::Result<(Duration, serde_json::Value)> {
        let started = Instant::now();
        let response = self
            .client
            .get(format!("{}{path_and_query}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        let status = response.status();
        let body: serde_json::Value = response.json().await?;
        let elapsed = started.elapsed();
        anyhow::ensure!(
            status.is_success(),
            "GET {path_and_query} answered {status}"
        );
        Ok((elapsed, body))
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

async fn activity(flag: Option<String>, requests: usize) -> anyhow::Result<()> {
    let server = Server::start(flag).await?;
    let accounts = server.store.list_accounts().await?;
    let account = accounts
        .get(7)
        .or(accounts.first())
        .context("no mailbox: seed the database first")?
        .id
        .0;
    // A typical investor (not a graveyard one), and the seeded window's day.
    let investor = 1234;
    let newest: Timestamp = seed::NEWEST.parse()?;
    let since = newest - SignedDuration::from_hours(24 * 3);
    let (common, rare, absent) = (seed::COMMON_WORD, seed::RARE_WORD, seed::ABSENT_WORD);
    let scenarios: Vec<(&str, String)> = vec![
        ("no_filter", String::new()),
        ("account", format!("account_id={account}")),
        ("investor", format!("investor_id={investor}")),
        ("outbound", "direction=outbound".into()),
        ("inbound", "direction=inbound".into()),
        ("q_common", format!("q={common}")),
        ("q_rare", format!("q={rare}")),
        ("q_absent", format!("q={absent}")),
        ("q_two_words", format!("q={common}%20fund")),
        ("since_until", format!("since={since}&until={newest}")),
        (
            "combined",
            format!("account_id={account}&direction=inbound&q={common}&since=2000-01-01T00:00:00Z"),
        ),
        (
            "combined_investor",
            format!("investor_id={investor}&account_id={account}&direction=outbound&q=fund"),
        ),
        (
            "all_filters",
            format!(
                "investor_id={investor}&account_id={account}&direction=inbound&q={common}\
                 &since=2000-01-01T00:00:00Z&until={newest}"
            ),
        ),
    ];
    for (name, query) in scenarios {
        let path = format!("/api/email/activity?{query}");
        server.get(&path).await?; // warm-up
        let mut times = Vec::with_capacity(requests);
        let mut items = 0;
        for _ in 0..requests {
            let (t, body) = server.get(&path).await?;
            items = body["items"].as_array().map_or(0, Vec::len);
            times.push(t);
        }
        report(&format!("activity_{name}"), &mut times);
        println!("activity_{name}_items: {items} items");
    }

    // Twenty pages of 20 deep by cursor, again and again.
    let mut times = Vec::with_capacity(requests);
    let mut cursor: Option<String> = None;
    let mut depth = 0;
    while times.len() < requests {
        let path = match &cursor {
            None => "/api/email/activity?limit=20".to_string(),
            Some(c) => format!("/api/email/activity?limit=20&cursor={c}"),
        };
        let (t, body) = server.get(&path).await?;
        times.push(t);
        depth += 1;
        cursor = body["next_cursor"]
            .as_str()
            .map(str::to_string)
            .filter(|_| depth < 20);
        if cursor.is_none() {
            depth = 0;
        }
    }
    report("activity_page20_by_cursor", &mut times);
    Ok(())
}

fn report(name: &str, times: &mut [Duration]) {
    times.sort();
    println!("{name}_p50: {:.2} ms", percentile(times, 50.0));
    println!("{name}_p99: {:.2} ms", percentile(times, 99.0));
}

async fn digest(flag: Option<String>, runs: usize) -> anyhow::Result<()> {
    let server = Server::start(flag).await?;
    let until: Timestamp = seed::NEWEST.parse()?;
    // Captures land a minute after sending: the window covers the last day.
    let until = until + SignedDuration::from_secs(60);
    let since = until - SignedDuration::from_hours(24);
    let path = format!("/api/admin/digest/preview?since={since}&until={until}");
    let (_, first) = server.get(&path).await?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        times.push(server.get(&path).await?.0);
    }
    times.sort();
    println!(
        "digest_window_emails: {} emails",
        first["email_count"].as_u64().unwrap_or(0)
    );
    println!(
        "digest_investors: {} investors",
        first["investor_count"].as_u64().unwrap_or(0)
    );
    println!(
        "digest_body: {} chars",
        first["body"].as_str().map_or(0, |b| b.chars().count())
    );
    println!("digest_median: {:.1} ms", percentile(&times, 50.0));
    println!("digest_max: {:.1} ms", percentile(&times, 100.0));
    if let Some(kb) = peak_rss_kb() {
        println!("digest_peak_rss: {:.1} MB", kb as f64 / 1024.0);
    }
    Ok(())
}

/// This process's peak resident set (Linux `VmHWM`).
pub fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
