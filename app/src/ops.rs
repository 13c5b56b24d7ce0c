//! What operators ask of a running service: is it ready (database reachable
//! and migrated), and the configuration details admins may see. Public
//! answers (`/healthz`, `/readyz`) say ok or not; the details, redacted of
//! secrets, are for `GET /api/admin/status` and the log.

use std::sync::Arc;

use jiff::Timestamp;
use mailroom_adapters::store::SeaStore;
use poem_openapi::Object;

use crate::config::Config;

/// Whether the service can take traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// The database did not answer; the text is for admins and the log.
    DatabaseUnavailable(String),
    /// The database answers but lacks this many migrations.
    MigrationsPending(usize),
}

/// The configuration as admins may see it: no secret, no credentials in a URL.
#[derive(Debug, Clone, Object)]
pub struct ConfigSummary {
    pub bind: String,
    pub timezone: String,
    pub database_backend: crate::http::wire::DatabaseBackend,
    #[oai(nullable)]
    pub google_service_account_file: Option<String>,
    pub gmail_api_base: String,
    #[oai(nullable)]
    pub smtp: Option<String>,
    #[oai(nullable)]
    pub spark_base_url: Option<String>,
    #[oai(nullable)]
    pub outbox_dir: Option<String>,
    pub sync_interval_s: u64,
    pub sync_backfill_days: u32,
    pub max_connections: u64,
    pub max_body_bytes: u64,
    pub max_directory_bytes: u64,
    pub header_timeout_s: u64,
    pub body_timeout_s: u64,
    pub shutdown_grace_s: u64,
    /// Why optional features are off.
    pub notes: Vec<String>,
}

/// Readiness probes and the status details, shared by the handlers.
pub struct Ops {
    db: Arc<SeaStore>,
    pub started: Timestamp,
    pub summary: ConfigSummary,
}

impl Ops {
    pub fn new(db: Arc<SeaStore>, config: &Config) -> Self {
        let http = &config.http;
        let summary = ConfigSummary {
            bind: config.bind.to_string(),
            timezone: config.timezone_name.clone(),
            database_backend: match db.backend_name() {
                "postgres" => crate::http::wire::DatabaseBackend::Postgres,
                _ => crate::http::wire::DatabaseBackend::Sqlite,
            },
            google_service_account_file: config
                .google_service_account_file
                .as_ref()
                .map(|p| p.display().to_string()),
            gmail_api_base: redact_url(&config.gmail_api_base),
            smtp: config
                .smtp
                .as_ref()
                .map(|s| format!("{}:{} ({:?})", s.host, s.port, s.tls)),
            spark_base_url: config.spark.as_ref().map(|s| redact_url(&s.base_url)),
            outbox_dir: config.outbox_dir.as_ref().map(|p| p.display().to_string()),
            sync_interval_s: config.sync_interval.as_secs(),
            sync_backfill_days: config.sync_backfill_days,
            max_connections: http.connections.max_connections as u64,
            max_body_bytes: http.requests.max_body_bytes as u64,
            max_directory_bytes: http.requests.max_directory_bytes as u64,
            header_timeout_s: http.connections.header_timeout.as_secs(),
            body_timeout_s: http.requests.body_timeout.as_secs(),
            shutdown_grace_s: http.connections.shutdown_grace.as_secs(),
            notes: config.notes.clone(),
        };
        Self {
            db,
            started: Timestamp::now(),
            summary,
        }
    }

    /// Reachable and migrated. The database's error text stays in the
    /// value (for admins) and the log; public answers drop it.
    pub async fn readiness(&self) -> Readiness {
        match self.db.pending_migrations().await {
            Ok(0) => Readiness::Ready,
            Ok(n) => Readiness::MigrationsPending(n),
            Err(e) => {
                let text = crate::http::error::DisplayChain(&e).to_string();
                tracing::warn!(error = %text, "readiness: the database does not answer");
                Readiness::DatabaseUnavailable(text)
            }
        }
    }
}

/// A URL without user, password, query or fragment.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<not a URL>".into();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let path = tail.split(['?', '#']).next().unwrap_or("");
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_and_queries() {
        assert_eq!(
            redact_url("https://user:pw@llm.fund.com/v1?key=abc#x"),
            "https://llm.fund.com/v1"
        );
        assert_eq!(redact_url("http://127.0.0.1:9000"), "http://127.0.0.1:9000");
        assert_eq!(redact_url("nonsense"), "<not a URL>");
    }
}
