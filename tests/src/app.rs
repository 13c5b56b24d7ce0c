//! `spawn_app`: the whole service on 127.0.0.1 port 0, on a fresh database,
//! with a test clock and the fakes a test asks for. Logs only with TEST_LOG=1.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use mailroom_adapters::gmail::GmailConfig;
use mailroom_app::config::Config;
use mailroom_app::state::AppState;
use mailroom_app::wiring::{self, Overrides};
use mailroom_ports::Clock;
use mailroom_ports::EmailAddress;
use mailroom_ports::records::{DirectoryUpdate, DirectoryUser, Role};

use crate::db::TestDb;

/// A clock the test sets.
#[derive(Debug)]
pub struct TestClock(Mutex<Timestamp>);

impl TestClock {
    pub fn new(at: Timestamp) -> Arc<Self> {
        Arc::new(Self(Mutex::new(at)))
    }

    pub fn set(&self, at: Timestamp) {
        *self.0.lock().expect("clock lock") = at;
    }

    /// The time the clock shows.
    pub fn now_for_test(&self) -> Timestamp {
        *self.0.lock().expect("clock lock")
    }

    pub fn advance(&self, by: SignedDuration) {
        let mut t = self.0.lock().expect("clock lock");
        *t += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().expect("clock lock")
    }
}

/// The JWT secret every test app uses.
pub const TEST_JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// A running app.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub state: AppState,
    pub clock: Arc<TestClock>,
    pub db: TestDb,
    pub outbox: tempfile::TempDir,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Which database a test app runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The test defaults plus `env` (which wins): a JWT secret, the database,
/// and the outbox folder unless a real transport is configured.
pub fn test_config(db_url: &str, outbox: &std::path::Path, env: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = HashMap::new();
    vars.insert("DATABASE_URL".into(), db_url.into());
    vars.insert("CRM_JWT_SECRET".into(), TEST_JWT_SECRET.into());
    let explicit_transport = env
        .iter()
        .any(|(k, _)| *k == "SMTP_HOST" || *k == "GOOGLE_SERVICE_ACCOUNT_FILE");
    if !explicit_transport {
        vars.insert("MAILROOM_OUTBOX_DIR".into(), outbox.display().to_string());
    }
    for (k, v) in env {
        vars.insert((*k).into(), (*v).into());
    }
    Config::from_map(&vars).expect("test config")
}

/// Wires the app (no HTTP server) on an existing database: what a replica of
/// `mailroom serve` holds.
pub async fn build_state(config: &Config, clock: Arc<TestClock>, holder: &str) -> AppState {
    build_state_with(config, clock, holder, None).await
}

/// [`build_state`] with Gmail client settings (e.g. `FakeGoogle::gmail_config()`'s fast retries).
pub async fn build_state_with(
    config: &Config,
    clock: Arc<TestClock>,
    holder: &str,
    gmail: Option<GmailConfig>,
) -> AppState {
    let overrides = Overrides {
        clock: Some(clock),
        holder: Some(holder.into()),
        gmail,
    };
    wiring::build(config, overrides).await.expect("app wiring")
}

/// Starts the app on `backend` with extra environment (see [`test_config`]).
pub async fn spawn_app_with(backend: Backend, env: &[(&str, &str)]) -> TestApp {
    spawn_app_full(backend, env, None).await
}

/// [`spawn_app_with`] plus Gmail client settings.
pub async fn spawn_app_full(
    backend: Backend,
    env: &[(&str, &str)],
    gmail: Option<GmailConfig>,
) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        mailroom_app::telemetry::init(mailroom_app::config::LogFormat::Plain);
    }
    let db = match backend {
        Backend::Sqlite => TestDb::sqlite().await,
        Backend::Postgres => TestDb::postgres().await,
    };
    let outbox = tempfile::tempdir().expect("outbox dir");
    let config = test_config(&db.url, outbox.path(), env);
    let clock = TestClock::new("2026-11-24T12:00:00Z".parse().expect("a timestamp"));
    let state = build_state_with(&config, clock.clone(), "test-replica", gmail).await;

    // The production server loop, so connection limits and timeouts apply.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("a socket address");
    let routes = mailroom_app::http::routes_with(state.clone(), config.http.requests);
    let limits = config.http.connections;
    let server = tokio::spawn(async move {
        let _ = mailroom_app::http::server::serve(
            listener,
            routes,
            limits,
            std::future::pending::<()>(),
        )
        .await;
    });
    TestApp {
        base: format!("http://{addr}"),
        state,
        clock,
        db,
        outbox,
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("client"),
        server,
    }
}

/// Starts the app on SQLite with the test defaults.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Backend::Sqlite, &[]).await
}

impl TestApp {
    /// A token for `email`, valid for an hour from the real clock.
    pub fn token(&self, email: &str) -> String {
        let secret = mailroom_app::config::JwtSecret::new(TEST_JWT_SECRET.into());
        mailroom_app::auth::mint(
            &secret,
            email,
            std::time::Duration::from_secs(3600),
            Timestamp::now(),
        )
        .expect("token")
    }

    /// Adds users through the store, as `mailroom directory import` does.
    pub async fn add_users(&self, users: &[(&str, Role, bool)]) {
        let update = DirectoryUpdate {
            users: users
                .iter()
                .map(|(email, role, active)| DirectoryUser {
                    email: EmailAddress::parse(email).expect("email"),
                    display_name: email.split('@').next().unwrap_or_default().to_string(),
                    role: *role,
                    is_active: *active,
                })
                .collect(),
            ..DirectoryUpdate::default()
        };
        self.state
            .store
            .upsert_directory(update)
            .await
            .expect("directory");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}
