//! Configuration from the environment (docs/requirements.md Configuration), checked once at start.
//!
//! A value that is present but wrong stops the service with a message naming
//! the variable. A missing optional piece (Google, SMTP, Spark) disables its
//! feature; [`Config::features`] says which and why, for the log and `/healthz`.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use jiff::tz::TimeZone;
use mailroom_ports::{Domain, EmailAddress};

use crate::http::edge::RequestLimits;
use crate::http::server::ConnectionLimits;

/// A configuration value that is present but unusable.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

/// Comma-separated exact origins (`scheme://host[:port]`, as a browser sends
/// them in `Origin`). Anything else stops the service.
fn parse_cors_origins(value: &str) -> Result<Vec<String>, ConfigError> {
    const VAR: &str = "MAILROOM_CORS_ORIGINS";
    let mut out = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let exact = reqwest::Url::parse(item).ok().filter(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host().is_some()
                && u.origin().ascii_serialization() == item
        });
        if exact.is_none() {
            // The value is configuration, not a secret: naming it helps.
            return Err(bad(
                VAR,
                format!(
                    "`{item}` is not an exact origin (scheme://host[:port], no path or trailing slash)"
                ),
            ));
        }
        if !out.iter().any(|o| o == item) {
            out.push(item.to_string());
        }
    }
    Ok(out)
}

fn bad(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        reason: reason.into(),
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Plain,
    Json,
}

/// TLS mode for SMTP, as `SMTP_TLS` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTlsMode {
    None,
    StartTls,
    Tls,
}

#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: EmailAddress,
    pub tls: SmtpTlsMode,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("tls", &self.tls)
            .finish()
    }
}

#[derive(Clone)]
pub struct SparkSettings {
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    pub timeout: Duration,
}

impl fmt::Debug for SparkSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SparkSettings")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The JWT signing secret; its `Debug` never shows it.
#[derive(Clone)]
pub struct JwtSecret(String);

impl JwtSecret {
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSecret(<redacted>)")
    }
}

/// Everything mailroom reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub bind: SocketAddr,
    /// `None`: no `CRM_JWT_SECRET`; the app then uses a secret generated once
    /// and kept in the database (fine for trying mailroom out, not for
    /// production).
    pub jwt_secret: Option<JwtSecret>,
    pub timezone: TimeZone,
    pub timezone_name: String,
    pub internal_domains: Vec<Domain>,
    pub digest_enabled: Option<bool>,
    pub digest_send_hour: Option<i64>,
    pub digest_sender: Option<EmailAddress>,
    pub google_service_account_file: Option<PathBuf>,
    pub gmail_api_base: String,
    pub smtp: Option<SmtpSettings>,
    pub spark: Option<SparkSettings>,
    pub sync_interval: Duration,
    pub sync_backfill_days: u32,
    /// `SYNC_MAILBOX_CONCURRENCY`: mailboxes one replica syncs at once.
    /// Gmail's quota is per mailbox, so 20 at once is 20 times one.
    pub sync_mailbox_concurrency: usize,
    /// `MAILROOM_AUDIT_INTERVAL_S`: how old a mailbox's last completeness
    /// audit may get before the scheduled audit runs it again.
    pub audit_interval: Duration,
    /// Set when the outbox is the configured transport (explicitly, or by
    /// default when neither Gmail nor SMTP is configured).
    pub outbox_dir: Option<PathBuf>,
    pub log_format: LogFormat,
    /// Connection and request limits, and the stop's grace period.
    pub http: HttpSettings,
    /// `MAILROOM_CORS_ORIGINS`: the exact origins a browser app may call the
    /// API from; empty means no cross-origin access.
    pub cors_origins: Vec<String>,
    /// Why a feature is off, for the log and `/healthz`.
    pub notes: Vec<String>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_map(&std::env::vars().collect())
    }

    /// Reads the given variables (tests pass their own).
    pub fn from_map(env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |k: &str| {
            env.get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut notes = Vec::new();

        let database_url =
            get("DATABASE_URL").unwrap_or_else(|| "sqlite://mailroom.sqlite?mode=rwc".into());
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres")) {
            return Err(bad(
                "DATABASE_URL",
                "expected a sqlite:// or postgres:// URL",
            ));
        }
        let bind: SocketAddr = get("MAILROOM_BIND")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .map_err(|_| bad("MAILROOM_BIND", "expected host:port, e.g. 127.0.0.1:8080"))?;
        if bind.port() == 0 {
            return Err(bad("MAILROOM_BIND", "the port must be from 1 to 65535"));
        }

        let jwt_secret = match get("CRM_JWT_SECRET") {
            Some(s) if s.len() < 32 => {
                return Err(bad("CRM_JWT_SECRET", "must be at least 32 characters"));
            }
            Some(s) => Some(JwtSecret(s)),
            None => {
                notes.push(
                    "CRM_JWT_SECRET is not set: using a generated secret kept in the database"
                        .into(),
                );
                None
            }
        };

        let timezone_name = get("CRM_TIMEZONE").unwrap_or_else(|| "UTC".into());
        let timezone = TimeZone::get(&timezone_name).map_err(|_| {
            bad(
                "CRM_TIMEZONE",
                format!("`{timezone_name}` is not an IANA time zone"),
            )
        })?;

        let internal_domains = match get("CRM_INTERNAL_DOMAINS") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .filter(|d| !d.trim().is_empty())
                .map(|d| Domain::parse(d).map_err(|e| bad("CRM_INTERNAL_DOMAINS", e.to_string())))
                .collect::<Result<_, _>>()?,
        };

        let digest_enabled = get("CRM_DIGEST_ENABLED")
            .map(|v| {
                parse_bool(&v).ok_or_else(|| bad("CRM_DIGEST_ENABLED", "expected true or false"))
            })
            .transpose()?;
        let digest_send_hour = get("CRM_DIGEST_SEND_HOUR")
            .map(|v| match v.parse::<i64>() {
                Ok(h) if (0..=23).contains(&h) => Ok(h),
                _ => Err(bad("CRM_DIGEST_SEND_HOUR", "expected an hour from 0 to 23")),
            })
            .transpose()?;
        let digest_sender = get("CRM_DIGEST_SENDER")
            .map(|v| EmailAddress::parse(&v).map_err(|e| bad("CRM_DIGEST_SENDER", e.to_string())))
            .transpose()?;

        let google_service_account_file = get("GOOGLE_SERVICE_ACCOUNT_FILE").map(PathBuf::from);
        if google_service_account_file.is_none() {
            notes.push("GOOGLE_SERVICE_ACCOUNT_FILE is not set: Gmail capture, drafts and Gmail sending are off".into());
        }
        let gmail_api_base =
            get("GMAIL_API_BASE").unwrap_or_else(|| "https://gmail.googleapis.com".into());
        check_url("GMAIL_API_BASE", &gmail_api_base)?;

        let smtp = match get("SMTP_HOST") {
            None => {
                notes.push("SMTP_HOST is not set: SMTP sending is off".into());
                None
            }
            Some(host) => {
                let tls = match get("SMTP_TLS").as_deref().unwrap_or("starttls") {
                    "none" => SmtpTlsMode::None,
                    "starttls" => SmtpTlsMode::StartTls,
                    "tls" => SmtpTlsMode::Tls,
                    _ => return Err(bad("SMTP_TLS", "expected none, starttls or tls")),
                };
                let default_port = match tls {
                    SmtpTlsMode::Tls => 465,
                    SmtpTlsMode::StartTls => 587,
                    SmtpTlsMode::None => 25,
                };
                let port = get("SMTP_PORT")
                    .map(|p| {
                        p.parse::<u16>()
                            .ok()
                            .filter(|&port| port != 0)
                            .ok_or_else(|| {
                                bad("SMTP_PORT", "expected a port number from 1 to 65535")
                            })
                    })
                    .transpose()?
                    .unwrap_or(default_port);
                let from = match get("SMTP_FROM") {
                    Some(f) => {
                        EmailAddress::parse(&f).map_err(|e| bad("SMTP_FROM", e.to_string()))?
                    }
                    None => return Err(bad("SMTP_FROM", "required when SMTP_HOST is set")),
                };
                Some(SmtpSettings {
                    host,
                    port,
                    username: get("SMTP_USERNAME"),
                    password: get("SMTP_PASSWORD"),
                    from,
                    tls,
                })
            }
        };

        let spark = match get("SPARK_BASE_URL") {
            None => {
                notes.push(
                    "SPARK_BASE_URL is not set: digest paragraphs use the count-only fallback"
                        .into(),
                );
                None
            }
            Some(base_url) => {
                check_url("SPARK_BASE_URL", &base_url)?;
                let timeout_s = get("SPARK_TIMEOUT_S")
                    .map(|t| match t.parse::<u64>() {
                        Ok(s) if (1..=600).contains(&s) => Ok(s),
                        _ => Err(bad("SPARK_TIMEOUT_S", "expected seconds from 1 to 600")),
                    })
                    .transpose()?
                    .unwrap_or(20);
                Some(SparkSettings {
                    base_url: base_url.trim_end_matches('/').to_string(),
                    model: get("SPARK_MODEL").unwrap_or_else(|| "default".into()),
                    api_key: get("SPARK_API_KEY"),
                    timeout: Duration::from_secs(timeout_s),
                })
            }
        };

        let sync_interval = Duration::from_secs(positive(&get, "SYNC_INTERVAL_S", 300)?);
        let sync_backfill_days = u32::try_from(positive(&get, "SYNC_BACKFILL_DAYS", 30)?)
            .map_err(|_| bad("SYNC_BACKFILL_DAYS", "too large"))?;
        let sync_mailbox_concurrency = match positive(&get, "SYNC_MAILBOX_CONCURRENCY", 20)? {
            n @ 1..=200 => n as usize,
            _ => return Err(bad("SYNC_MAILBOX_CONCURRENCY", "expected 1 to 200")),
        };
        let audit_interval =
            Duration::from_secs(positive(&get, "MAILROOM_AUDIT_INTERVAL_S", 86_400)?);

        let outbox_dir = match get("MAILROOM_OUTBOX_DIR") {
            Some(dir) => Some(PathBuf::from(dir)),
            None if smtp.is_none() && google_service_account_file.is_none() => {
                notes.push(
                    "no mail transport is configured: mail is written to ./outbox as .eml files"
                        .into(),
                );
                Some(PathBuf::from("outbox"))
            }
            None => None,
        };

        let log_format = match get("MAILROOM_LOG_FORMAT").as_deref() {
            None | Some("plain") => LogFormat::Plain,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(bad("MAILROOM_LOG_FORMAT", "expected plain or json")),
        };

        let http = HttpSettings::from_env(&get)?;
        let cors_origins = match get("MAILROOM_CORS_ORIGINS") {
            None => Vec::new(),
            Some(v) => parse_cors_origins(&v)?,
        };

        Ok(Self {
            cors_origins,
            database_url,
            bind,
            jwt_secret,
            timezone,
            timezone_name,
            internal_domains,
            digest_enabled,
            digest_send_hour,
            digest_sender,
            google_service_account_file,
            gmail_api_base,
            smtp,
            spark,
            sync_interval,
            sync_backfill_days,
            sync_mailbox_concurrency,
            audit_interval,
            outbox_dir,
            log_format,
            http,
            notes,
        })
    }
}

/// The HTTP server's limits, each from its own variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpSettings {
    pub connections: ConnectionLimits,
    pub requests: RequestLimits,
}

impl HttpSettings {
    fn from_env(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let c = ConnectionLimits::default();
        let r = RequestLimits::default();
        let secs = |var, default: Duration| -> Result<Duration, ConfigError> {
            Ok(Duration::from_secs(positive(get, var, default.as_secs())?))
        };
        let size = |var, default: usize| -> Result<usize, ConfigError> {
            usize::try_from(positive(get, var, default as u64)?).map_err(|_| bad(var, "too large"))
        };
        Ok(Self {
            connections: ConnectionLimits {
                max_connections: size("MAILROOM_MAX_CONNECTIONS", c.max_connections)?,
                header_timeout: secs("MAILROOM_HEADER_TIMEOUT_S", c.header_timeout)?,
                shutdown_grace: secs("MAILROOM_SHUTDOWN_GRACE_S", c.shutdown_grace)?,
            },
            requests: RequestLimits {
                max_body_bytes: size("MAILROOM_MAX_BODY_BYTES", r.max_body_bytes)?,
                max_directory_bytes: size("MAILROOM_MAX_DIRECTORY_BYTES", r.max_directory_bytes)?,
                body_timeout: secs("MAILROOM_BODY_TIMEOUT_S", r.body_timeout)?,
                max_query_value_chars: size(
                    "MAILROOM_MAX_QUERY_VALUE_CHARS",
                    r.max_query_value_chars,
                )?,
                slow_request: Duration::from_millis(positive(
                    get,
                    "MAILROOM_SLOW_REQUEST_MS",
                    u64::try_from(r.slow_request.as_millis()).unwrap_or(u64::MAX),
                )?),
            },
        })
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn check_url(var: &'static str, url: &str) -> Result<(), ConfigError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(bad(var, "expected an http:// or https:// URL"))
    }
}

fn positive(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(bad(var, "expected a positive whole number")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn an_empty_environment_is_the_zero_config_default() {
        let c = Config::from_map(&env(&[])).unwrap();
        assert!(c.database_url.starts_with("sqlite:"));
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.outbox_dir, Some(PathBuf::from("outbox")));
        assert!(c.smtp.is_none() && c.spark.is_none() && c.google_service_account_file.is_none());
        assert_eq!(c.sync_interval, Duration::from_secs(300));
        assert_eq!(c.audit_interval, Duration::from_secs(86_400));
        assert_eq!(c.sync_backfill_days, 30);
        assert_eq!(c.sync_mailbox_concurrency, 20);
    }

    #[test]
    fn a_wrong_value_names_its_variable() {
        for (k, v) in [
            ("CRM_TIMEZONE", "Mars/Olympus"),
            ("CRM_DIGEST_SEND_HOUR", "24"),
            ("CRM_DIGEST_ENABLED", "maybe"),
            ("SMTP_TLS", "ssl"),
            ("MAILROOM_BIND", "nowhere"),
            ("CRM_JWT_SECRET", "short"),
            ("SYNC_INTERVAL_S", "0"),
            ("SYNC_MAILBOX_CONCURRENCY", "0"),
            ("SYNC_MAILBOX_CONCURRENCY", "201"),
            ("SMTP_PORT", "0"),
            ("SMTP_PORT", "70000"),
            ("MAILROOM_BIND", "127.0.0.1:0"),
            ("MAILROOM_MAX_BODY_BYTES", "0"),
            ("MAILROOM_SHUTDOWN_GRACE_S", "soon"),
            ("MAILROOM_HEADER_TIMEOUT_S", "-1"),
        ] {
            let mut e = env(&[(k, v)]);
            if k.starts_with("SMTP_") {
                e.insert("SMTP_HOST".into(), "localhost".into());
                e.insert("SMTP_FROM".into(), "digest@fund.com".into());
            }
            let err = Config::from_map(&e).expect_err(k);
            assert_eq!(err.var, k);
        }
    }

    #[test]
    fn smtp_settings_never_show_the_password() {
        let c = Config::from_map(&env(&[
            ("SMTP_HOST", "mail.fund.com"),
            ("SMTP_FROM", "digest@fund.com"),
            ("SMTP_PASSWORD", "hunter2-secret"),
            ("SMTP_TLS", "tls"),
        ]))
        .unwrap();
        let smtp = c.smtp.as_ref().unwrap();
        assert_eq!(smtp.port, 465);
        assert!(!format!("{c:?}").contains("hunter2-secret"));
        assert!(
            c.outbox_dir.is_none(),
            "SMTP configured: the outbox is not the default"
        );
    }
}
