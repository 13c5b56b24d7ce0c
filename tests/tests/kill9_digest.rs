//! `kill -9` during a digest send, with the real binary: `mailroom serve`
//! claims today's digest and sends it to an SMTP server that takes the whole
//! message but never confirms it; the process is killed with SIGKILL there.
//! After a restart the day's digest goes out exactly once: not while the dead
//! process's claim stands, once when it has lapsed, and never again after the
//! transport confirmed it and the day was recorded (a further kill -9 and
//! restart sends nothing). On SQLite and PostgreSQL.
//!
//! The dead process's claim is not released by anyone; the test sets its
//! expiry in the past, which is what the 10-minute lease does.

use std::time::Duration;

use mailroom_ports::records::Role;
use mailroom_tests::app::{Backend, TEST_JWT_SECRET, spawn_app_with};
use mailroom_tests::service::Service;
use mailroom_tests::smtp_server::{SmtpServer, SmtpServerConfig};
use sea_orm::{ConnectionTrait, Database, Statement};

const ADMINS: [&str; 2] = ["ann@fund.com", "dan@fund.com"];
const MEMBER: &str = "bob@fund.com";

fn env(db_url: &str, smtp: &SmtpServer) -> Vec<(String, String)> {
    let credentials = SmtpServerConfig::default();
    [
        ("DATABASE_URL", db_url.to_string()),
        ("CRM_JWT_SECRET", TEST_JWT_SECRET.to_string()),
        ("CRM_TIMEZONE", "UTC".to_string()),
        ("CRM_DIGEST_ENABLED", "true".to_string()),
        // Hour 0: the day's digest is due whenever the test runs.
        ("CRM_DIGEST_SEND_HOUR", "0".to_string()),
        ("SMTP_HOST", "127.0.0.1".to_string()),
        ("SMTP_PORT", smtp.port().to_string()),
        ("SMTP_TLS", "none".to_string()),
        ("SMTP_USERNAME", credentials.username.clone()),
        ("SMTP_PASSWORD", credentials.password),
        ("SMTP_FROM", credentials.username),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `(holder is set, completed)` of the only digest claim.
async fn claim(db: &sea_orm::DatabaseConnection) -> (bool, bool) {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT (holder IS NOT NULL) AS held, completed FROM digest_claims",
        ))
        .await
        .expect("the claims");
    assert_eq!(rows.len(), 1, "one claimed day");
    (
        rows[0].try_get::<bool>("", "held").expect("held"),
        rows[0].try_get::<bool>("", "completed").expect("completed"),
    )
}

async fn killed_mid_send_then_restarted_sends_the_day_exactly_once(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    app.add_users(&[
        (ADMINS[0], Role::Admin, true),
        (ADMINS[1], Role::Admin, true),
        (MEMBER, Role::Member, true),
    ])
    .await;
    let db = Database::connect(app.db.url.as_str())
        .await
        .expect("the test's own connection");
    let smtp = SmtpServer::start(SmtpServerConfig {
        hold_first: 1,
        ..SmtpServerConfig::default()
    });
    let env = env(&app.db.url, &smtp);

    // The send reaches the transport, which has the message but never confirms.
    let mut first = Service::start(&env).await;
    wait_for("the digest's DATA", Duration::from_secs(60), || {
        smtp.held() == 1
    })
    .await;
    first.kill9();
    assert_eq!(smtp.messages().len(), 0, "nothing was confirmed");
    assert_eq!(claim(&db).await, (true, false), "the dead claim stands");

    // While the dead process's claim stands, a restart sends nothing.
    let mut early = Service::start(&env).await;
    early
        .wait_for_log("ClaimedElsewhere", Duration::from_secs(30))
        .await;
    early.kill9();
    assert_eq!(smtp.messages().len(), 0);

    // The claim lapses: the restarted process sends the day once, and records it.
    db.execute_unprepared("UPDATE digest_claims SET expires_at = '2000-01-01T00:00:00.000000Z'")
        .await
        .expect("the claim expires");
    let mut restarted = Service::start(&env).await;
    let delivered = smtp.wait_for(1, Duration::from_secs(60));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !claim(&db).await.1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the day was not recorded:\n{}",
            restarted.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    restarted.kill9();
    assert!(
        !restarted.log().contains('\u{1b}'),
        "colour codes in a file log"
    );
    let mut rcpt = delivered[0].rcpt_to.clone();
    rcpt.sort();
    assert_eq!(rcpt, ADMINS, "the digest goes to the active admins only");

    // Confirmed and recorded: a further kill -9 and restart sends nothing.
    let again = Service::start(&env).await;
    again
        .wait_for_log("AlreadySent", Duration::from_secs(30))
        .await;
    drop(again);
    assert_eq!(smtp.messages().len(), 1, "the day went out exactly once");
    assert_eq!(smtp.held(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_digest_send_killed_with_sigkill_goes_out_exactly_once_after_a_restart() {
    killed_mid_send_then_restarted_sends_the_day_exactly_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_digest_send_killed_with_sigkill_goes_out_exactly_once_after_a_restart() {
    killed_mid_send_then_restarted_sends_the_day_exactly_once(Backend::Postgres).await;
}
