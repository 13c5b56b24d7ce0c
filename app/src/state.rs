//! What every request handler and scheduler shares: the ports, wired.

use std::sync::Arc;

use jiff::tz::TimeZone;
use mailroom_domain::capture::SyncService;
use mailroom_domain::digest::service::DigestService;
use mailroom_domain::drafts::DraftService;
use mailroom_domain::proposals::ProposalService;
use mailroom_domain::trust::RematchService;
use mailroom_domain::trust::audit::{AuditSchedule, AuditService};
use mailroom_ports::gmail::{DraftCreator, MailboxReader};
use mailroom_ports::parse::MessageParser;
use mailroom_ports::{Clock, Domain, LlmNarrator, MailTransport, Store, TrustStore};
use serde::Serialize;

use crate::config::JwtSecret;

pub type Digests = DigestService<dyn Store, dyn LlmNarrator, dyn MailTransport, dyn Clock>;
pub type Syncs = SyncService<dyn Store, dyn MailboxReader, dyn MessageParser, dyn Clock>;
pub type Proposals = ProposalService<dyn Store, dyn Clock>;
pub type Drafts = DraftService<dyn Store, dyn DraftCreator, dyn Clock>;
pub type Audits = AuditService<dyn TrustStore, dyn MailboxReader, dyn MessageParser, dyn Clock>;
pub type Rematches =
    RematchService<dyn TrustStore, dyn MailboxReader, dyn MessageParser, dyn Clock>;

/// The wired application.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The same store, for the never-log list and the background jobs.
    pub trust: Arc<dyn TrustStore>,
    pub clock: Arc<dyn Clock>,
    pub jwt: JwtSecret,
    pub timezone: TimeZone,
    pub internal_domains: Vec<Domain>,
    pub digest: Arc<Digests>,
    pub proposals: Arc<Proposals>,
    /// `None` when Google is not configured.
    pub drafts: Option<Arc<Drafts>>,
    /// `None` when Google is not configured.
    pub sync: Option<Arc<Syncs>>,
    /// The re-match job's steps. Without Google it links mail whose content
    /// is stored and leaves metadata-only mail (it cannot fetch content).
    pub rematch: Option<Arc<Rematches>>,
    /// The completeness audit; `None` when Google is not configured.
    pub audit: Option<Arc<Audits>>,
    /// When the scheduled audit runs and under which lease holder.
    pub audit_schedule: AuditSchedule,
    pub features: Arc<Features>,
    /// Readiness and the admin-only status details.
    pub ops: Arc<crate::ops::Ops>,
    /// Origins allowed to call the API from a browser (`MAILROOM_CORS_ORIGINS`).
    pub cors_origins: Vec<String>,
}

/// Whether each optional piece is on, and why not, for the log and `/healthz`.
#[derive(Debug, Clone, Serialize)]
pub struct Features {
    pub gmail: Feature,
    pub smtp: Feature,
    pub outbox: Feature,
    pub spark: Feature,
    /// The transports the digest tries, in order.
    pub transports: Vec<mailroom_ports::transport::TransportKind>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Feature {
    pub enabled: bool,
    pub detail: String,
}

impl Feature {
    pub fn on(detail: impl Into<String>) -> Self {
        Self {
            enabled: true,
            detail: detail.into(),
        }
    }

    pub fn off(detail: impl Into<String>) -> Self {
        Self {
            enabled: false,
            detail: detail.into(),
        }
    }
}
