//! Builds the adapters from the configuration and wires them into services.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use jiff::Timestamp;
use mailroom_adapters::clock::SystemClock;
use mailroom_adapters::gmail::GmailConfig;
use mailroom_adapters::gmail::credentials::{DwdTokenProvider, ServiceAccountKey};
use mailroom_adapters::gmail::drafts::GmailDrafts;
use mailroom_adapters::gmail::mailbox::GmailMailbox;
use mailroom_adapters::gmail::send::GmailSendTransport;
use mailroom_adapters::outbox::OutboxTransport;
use mailroom_adapters::parser::MailParser;
use mailroom_adapters::selector::TransportSelector;
use mailroom_adapters::smtp::{SmtpConfig, SmtpTls, SmtpTransport};
use mailroom_adapters::spark::{SparkConfig, SparkNarrator};
use mailroom_adapters::store::SeaStore;
use mailroom_domain::capture::{RetryPolicy, SyncConfig, SyncService};
use mailroom_domain::digest::policy::{EnvPolicy, SendHour};
use mailroom_domain::digest::service::{DigestConfig, DigestService};
use mailroom_domain::drafts::DraftService;
use mailroom_domain::proposals::ProposalService;
use mailroom_domain::trust::audit::{AuditConfig, AuditSchedule, AuditService};
use mailroom_domain::trust::{RematchConfig, RematchService};
use mailroom_ports::gmail::{DraftCreator, MailboxReader, TokenProvider};
use mailroom_ports::llm::NarrativeRequest;
use mailroom_ports::parse::MessageParser;
use mailroom_ports::{
    Clock, EmailAddress, LlmError, LlmNarrator, MailTransport, Store, TransportKind, TrustStore,
};

use crate::config::{Config, JwtSecret, SmtpTlsMode};
use crate::ops::Ops;
use crate::state::{AppState, Feature, Features};

/// Parts a test may replace; production passes `Overrides::default()`.
#[derive(Default, Clone)]
pub struct Overrides {
    pub clock: Option<Arc<dyn Clock>>,
    /// This replica's name for digest claims and mailbox leases.
    pub holder: Option<String>,
    /// Gmail client settings (retries, quota); `GMAIL_API_BASE` still wins
    /// for the base URL.
    pub gmail: Option<GmailConfig>,
}

/// Connects to the database and migrates it.
pub async fn connect_store(config: &Config) -> anyhow::Result<Arc<SeaStore>> {
    let store = SeaStore::connect(&config.database_url)
        .await
        .context("failed to connect to the database")?;
    store
        .migrate()
        .await
        .context("failed to migrate the database")?;
    Ok(Arc::new(store))
}

/// The JWT secret: `CRM_JWT_SECRET`, or one generated once and kept in
/// `app_settings` so `mailroom token` and `mailroom serve` agree.
pub async fn jwt_secret(config: &Config, store: &dyn Store) -> anyhow::Result<JwtSecret> {
    if let Some(s) = &config.jwt_secret {
        return Ok(s.clone());
    }
    const KEY: &str = "jwt_secret_generated";
    if let Some(serde_json::Value::String(s)) = store.get_setting(KEY).await? {
        return Ok(JwtSecret::new(s));
    }
    let bytes: [u8; 32] = rand::random();
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    store
        .put_setting(KEY, serde_json::Value::String(secret))
        .await?;
    match store.get_setting(KEY).await? {
        Some(serde_json::Value::String(s)) => Ok(JwtSecret::new(s)),
        _ => anyhow::bail!("the generated JWT secret was not stored"),
    }
}

fn replica_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "mailroom".into());
    let tag: u32 = rand::random();
    format!("{host}-{}-{tag:08x}", std::process::id())
}

/// A narrator for when no LLM is configured: the digest uses its count-only
/// paragraphs.
struct NoNarrator;

#[async_trait]
impl LlmNarrator for NoNarrator {
    async fn narrate(&self, _: &NarrativeRequest, _: Timestamp) -> Result<String, LlmError> {
        Err(LlmError::NotConfigured)
    }
}

/// Everything `serve` runs, built from the configuration.
pub async fn build(config: &Config, overrides: Overrides) -> anyhow::Result<AppState> {
    let store = connect_store(config).await?;
    build_with_store(config, store, overrides).await
}

pub async fn build_with_store(
    config: &Config,
    store: Arc<SeaStore>,
    overrides: Overrides,
) -> anyhow::Result<AppState> {
    let clock: Arc<dyn Clock> = overrides.clock.unwrap_or_else(|| Arc::new(SystemClock));
    let holder = overrides.holder.unwrap_or_else(replica_name);
    let store_for_ops = store.clone();
    let trust: Arc<dyn TrustStore> = store.clone();
    let store_dyn: Arc<dyn Store> = store;
    let jwt = jwt_secret(config, store_dyn.as_ref()).await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .context("failed to build the HTTP client")?;

    // Google: one credential provider serves capture, drafts and the digest send.
    // Google checks an assertion's iat/exp against its own clock, so the
    // provider keeps real time even when a test sets the service's clock.
    let token_clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let gmail_config = GmailConfig {
        api_base: config.gmail_api_base.clone(),
        ..overrides.gmail.unwrap_or_default()
    };
    let (tokens, gmail_feature): (Option<Arc<dyn TokenProvider>>, Feature) =
        match &config.google_service_account_file {
            None => (None, Feature::off("GOOGLE_SERVICE_ACCOUNT_FILE is not set")),
            Some(path) => match load_key(path) {
                // Google checks the assertion's iat/exp against its own clock, so
                // tokens are minted on the real time even when the app's clock is
                // overridden.
                Ok(key) => (
                    Some(Arc::new(DwdTokenProvider::new(
                        key,
                        http.clone(),
                        token_clock,
                    ))),
                    Feature::on("the service-account key is loaded"),
                ),
                // A key that is configured but unusable is a wrong value, not a
                // missing feature: the service stops rather than run without Gmail.
                Err(e) => anyhow::bail!(
                    "GOOGLE_SERVICE_ACCOUNT_FILE: the service-account key is unusable: {e}"
                ),
            },
        };

    let mut chain: Vec<(TransportKind, Arc<dyn MailTransport>)> = Vec::new();
    let mut transports = Vec::new();
    let outbox_feature = match &config.outbox_dir {
        Some(dir) => {
            let from = config.digest_sender.clone().unwrap_or_else(|| {
                EmailAddress::parse("mailroom@mailroom.local").expect("a valid literal")
            });
            chain.push((
                TransportKind::Outbox,
                Arc::new(OutboxTransport::new(dir.clone(), from)),
            ));
            transports.push(TransportKind::Outbox);
            // The folder itself is shown to admins only (getStatus).
            Feature::on("mail is written to the outbox folder as .eml files")
        }
        None => Feature::off("MAILROOM_OUTBOX_DIR is not set"),
    };
    let mut smtp_feature = Feature::off("SMTP_HOST is not set");
    if config.outbox_dir.is_none() {
        if let Some(tokens) = &tokens {
            chain.push((
                TransportKind::Gmail,
                Arc::new(GmailSendTransport::new(
                    tokens.clone(),
                    gmail_config.clone(),
                    config.digest_sender.clone(),
                )),
            ));
            transports.push(TransportKind::Gmail);
        }
        if let Some(s) = &config.smtp {
            let smtp = SmtpConfig {
                host: s.host.clone(),
                port: s.port,
                username: s.username.clone(),
                password: s.password.clone(),
                from: s.from.clone(),
                tls: match s.tls {
                    SmtpTlsMode::None => SmtpTls::None,
                    SmtpTlsMode::StartTls => SmtpTls::StartTls,
                    SmtpTlsMode::Tls => SmtpTls::Tls,
                },
                timeout: Duration::from_secs(30),
            };
            match SmtpTransport::new(smtp) {
                Ok(t) => {
                    chain.push((TransportKind::Smtp, Arc::new(t)));
                    transports.push(TransportKind::Smtp);
                    smtp_feature = Feature::on("SMTP is configured");
                }
                Err(e) => anyhow::bail!("SMTP_HOST: the SMTP settings are unusable: {e}"),
            }
        }
    } else if config.smtp.is_some() {
        smtp_feature = Feature::off("the outbox is the configured transport");
    }
    let transport: Arc<dyn MailTransport> = Arc::new(TransportSelector::new(chain));

    let (narrator, spark_feature): (Arc<dyn LlmNarrator>, Feature) = match &config.spark {
        None => (
            Arc::new(NoNarrator),
            Feature::off("SPARK_BASE_URL is not set: count-only paragraphs"),
        ),
        Some(s) => {
            let spark = SparkConfig {
                base_url: s.base_url.clone(),
                model: s.model.clone(),
                api_key: s.api_key.clone(),
                timeout: s.timeout,
                max_tokens: 300,
                temperature: 0.2,
            };
            match SparkNarrator::new(spark, clock.clone()) {
                Ok(n) => (
                    Arc::new(n.with_time_zone(config.timezone.clone())),
                    // The URL itself stays out: `/healthz` is public.
                    Feature::on("SPARK_BASE_URL is configured"),
                ),
                Err(e) => anyhow::bail!("SPARK_BASE_URL: the Spark settings are unusable: {e}"),
            }
        }
    };

    let env_policy = EnvPolicy {
        enabled: config.digest_enabled,
        send_hour: config
            .digest_send_hour
            .map(SendHour::new)
            .transpose()
            .context("CRM_DIGEST_SEND_HOUR")?,
    };
    let digest = Arc::new(DigestService::new(
        store_dyn.clone(),
        narrator,
        transport,
        clock.clone(),
        DigestConfig {
            timezone: config.timezone.clone(),
            env_policy,
            narrative_budget: config
                .spark
                .as_ref()
                .map(|s| s.timeout * 3)
                .unwrap_or(Duration::from_secs(60)),
            holder: holder.clone(),
            claim_lease: Duration::from_secs(600),
        },
    ));

    let (sync, drafts, rematch, audit) = match &tokens {
        // Import-only: the re-match still links mail whose content is stored.
        None => (
            None,
            None,
            Some(Arc::new(RematchService::without_gmail(
                trust.clone(),
                Arc::new(MailParser::default()) as Arc<dyn MessageParser>,
                clock.clone(),
                RematchConfig {
                    internal_domains: config.internal_domains.clone(),
                    holder: holder.clone(),
                    ..RematchConfig::default()
                },
            ))),
            None,
        ),
        Some(tokens) => {
            let reader: Arc<dyn MailboxReader> =
                Arc::new(GmailMailbox::new(tokens.clone(), gmail_config.clone()));
            let parser: Arc<dyn MessageParser> = Arc::new(MailParser::default());
            let creator: Arc<dyn DraftCreator> =
                Arc::new(GmailDrafts::new(tokens.clone(), gmail_config.clone()));
            // The re-match shares the reader, and so its token cache and
            // quota limiter, with sync.
            let rematch = RematchService::new(
                trust.clone(),
                reader.clone(),
                parser.clone(),
                clock.clone(),
                RematchConfig {
                    internal_domains: config.internal_domains.clone(),
                    holder: holder.clone(),
                    ..RematchConfig::default()
                },
            );
            let audit = AuditService::new(
                trust.clone(),
                reader.clone(),
                parser.clone(),
                clock.clone(),
                AuditConfig {
                    backfill_days: config.sync_backfill_days,
                    internal_domains: config.internal_domains.clone(),
                },
            );
            let sync = SyncService::new(
                store_dyn.clone(),
                reader,
                parser,
                clock.clone(),
                SyncConfig {
                    backfill_days: config.sync_backfill_days,
                    internal_domains: config.internal_domains.clone(),
                    fetch_concurrency: 4,
                    account_concurrency: config.sync_mailbox_concurrency,
                    holder: holder.clone(),
                    lease: Duration::from_secs(900),
                    retry: RetryPolicy::default(),
                },
            );
            let drafts = DraftService::new(
                store_dyn.clone(),
                creator,
                clock.clone(),
                config.internal_domains.clone(),
            );
            (
                Some(Arc::new(sync)),
                Some(Arc::new(drafts)),
                Some(Arc::new(rematch)),
                Some(Arc::new(audit)),
            )
        }
    };

    let features = Features {
        gmail: gmail_feature,
        smtp: smtp_feature,
        outbox: outbox_feature,
        spark: spark_feature,
        transports,
    };
    for note in &config.notes {
        tracing::info!("{note}");
    }
    tracing::info!(features = %serde_json::to_string(&features).unwrap_or_default(), "features");

    Ok(AppState {
        store: store_dyn.clone(),
        trust,
        clock: clock.clone(),
        jwt,
        timezone: config.timezone.clone(),
        internal_domains: config.internal_domains.clone(),
        digest,
        proposals: Arc::new(ProposalService::new(store_dyn, clock)),
        drafts,
        sync,
        rematch,
        audit,
        audit_schedule: AuditSchedule {
            every: jiff::SignedDuration::try_from(config.audit_interval)
                .unwrap_or(jiff::SignedDuration::MAX),
            // Apart from the sync's holder (see `AuditSchedule::holder`).
            holder: format!("{holder}/audit"),
            lease: jiff::SignedDuration::from_mins(30),
        },
        features: Arc::new(features),
        ops: Arc::new(Ops::new(store_for_ops, config)),
        cors_origins: config.cors_origins.clone(),
    })
}

fn load_key(path: &Path) -> Result<ServiceAccountKey, String> {
    ServiceAccountKey::from_file(path).map_err(|e| e.to_string())
}
