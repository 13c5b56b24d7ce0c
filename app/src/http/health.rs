//! Health for load balancers and operators: `GET /healthz` (public: ok or
//! degraded per feature, 503 when the database is down), `GET /readyz`
//! (public: database reachable and migrated) and `GET /api/admin/status`
//! (admins: the details, redacted of secrets). Public answers never carry a
//! path, a URL or an error text.

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};

use crate::http::auth::AdminAuth;
use crate::http::error::{ApiResult, on};
use crate::http::types::ApiTimestamp;
use crate::http::wire;
use crate::ops::{ConfigSummary, Readiness};
use crate::state::{AppState, Feature};

#[derive(Tags)]
enum Tag {
    /// Liveness, readiness and status.
    Health,
}

pub struct HealthApi;

/// Seconds a client should wait before asking again while the database is down.
const RETRY_AFTER_S: u64 = 5;

/// The service as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum HealthState {
    Ok,
    /// The database does not answer.
    Degraded,
}

/// Whether the database answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DatabaseState {
    Ok,
    Unavailable,
}

/// Whether the service takes traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ReadinessState {
    Ready,
    NotReady,
}

/// Whether the database has every migration of this binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum MigrationState {
    Ok,
    Pending,
    /// The database does not answer.
    Unknown,
}

/// The database as the admin status reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DatabaseCondition {
    Ok,
    Unavailable,
    MigrationsPending,
}

#[derive(Debug, Object)]
pub struct FeatureStatus {
    pub enabled: bool,
    /// A fixed sentence: why the feature is on or off.
    pub detail: String,
}

#[derive(Debug, Object)]
pub struct Health {
    /// `degraded` when the database does not answer.
    pub status: HealthState,
    pub version: String,
    pub database: DatabaseState,
    pub gmail: FeatureStatus,
    pub smtp: FeatureStatus,
    pub outbox: FeatureStatus,
    pub spark: FeatureStatus,
    /// The digest's transports, in the order they are tried.
    pub transports: Vec<wire::Transport>,
}

#[derive(Debug, ApiResponse)]
pub enum HealthResponse {
    /// The database answers.
    #[oai(status = 200)]
    Ok(Json<Health>),
    /// The database does not answer; the body says what still works.
    #[oai(status = 503)]
    Degraded(Json<Health>, #[oai(header = "Retry-After")] u64),
}

#[derive(Debug, Object)]
pub struct ReadinessBody {
    pub status: ReadinessState,
    pub database: DatabaseState,
    pub migrations: MigrationState,
}

#[derive(Debug, ApiResponse)]
pub enum ReadinessResponse {
    /// Ready to take traffic.
    #[oai(status = 200)]
    Ready(Json<ReadinessBody>),
    /// Not ready: the database does not answer or is not migrated.
    #[oai(status = 503)]
    NotReady(Json<ReadinessBody>, #[oai(header = "Retry-After")] u64),
}

/// The database: whether it answers and is fully migrated.
#[derive(Debug, Object)]
pub struct DatabaseStatus {
    pub status: DatabaseCondition,
    pub backend: wire::DatabaseBackend,
    /// Migrations this binary has that the database lacks; null when the
    /// database does not answer.
    #[oai(nullable)]
    pub pending_migrations: Option<u64>,
    /// Why the database does not answer (no credentials); null when it does.
    #[oai(nullable)]
    pub error: Option<String>,
}

/// The service's state for admins: database, optional features, digest
/// transports and the configuration in use (no secret).
#[derive(Debug, Object)]
pub struct ServiceStatus {
    pub version: String,
    pub started_at: ApiTimestamp,
    pub uptime_s: i64,
    pub database: DatabaseStatus,
    pub gmail: FeatureStatus,
    pub smtp: FeatureStatus,
    pub outbox: FeatureStatus,
    pub spark: FeatureStatus,
    pub transports: Vec<wire::Transport>,
    /// The configuration in use, without secrets.
    pub config: ConfigSummary,
}

fn feature(f: &Feature) -> FeatureStatus {
    FeatureStatus {
        enabled: f.enabled,
        detail: f.detail.clone(),
    }
}

#[OpenApi(tag = "Tag::Health")]
impl HealthApi {
    /// Liveness, database reachability and the features in use (no token).
    #[oai(path = "/healthz", method = "get", operation_id = "getHealth")]
    async fn healthz(&self, state: Data<&AppState>) -> HealthResponse {
        let db_ok = state.store.get_setting("healthz").await.is_ok();
        let f = &state.features;
        let body = Json(Health {
            status: if db_ok {
                HealthState::Ok
            } else {
                HealthState::Degraded
            },
            version: env!("CARGO_PKG_VERSION").into(),
            database: if db_ok {
                DatabaseState::Ok
            } else {
                DatabaseState::Unavailable
            },
            gmail: feature(&f.gmail),
            smtp: feature(&f.smtp),
            outbox: feature(&f.outbox),
            spark: feature(&f.spark),
            transports: f.transports.iter().map(|&t| t.into()).collect(),
        });
        if db_ok {
            HealthResponse::Ok(body)
        } else {
            HealthResponse::Degraded(body, RETRY_AFTER_S)
        }
    }

    /// Readiness: the database answers and has every migration (no token).
    #[oai(path = "/readyz", method = "get", operation_id = "getReadiness")]
    async fn readyz(&self, state: Data<&AppState>) -> ReadinessResponse {
        let (database, migrations) = match state.ops.readiness().await {
            Readiness::Ready => {
                return ReadinessResponse::Ready(Json(ReadinessBody {
                    status: ReadinessState::Ready,
                    database: DatabaseState::Ok,
                    migrations: MigrationState::Ok,
                }));
            }
            Readiness::MigrationsPending(_) => (DatabaseState::Ok, MigrationState::Pending),
            Readiness::DatabaseUnavailable(_) => {
                (DatabaseState::Unavailable, MigrationState::Unknown)
            }
        };
        ReadinessResponse::NotReady(
            Json(ReadinessBody {
                status: ReadinessState::NotReady,
                database,
                migrations,
            }),
            RETRY_AFTER_S,
        )
    }

    /// The service's details for admins: database, features, configuration
    /// (secrets left out).
    #[oai(path = "/api/admin/status", method = "get", operation_id = "getStatus")]
    async fn status(
        &self,
        state: Data<&AppState>,
        _admin: AdminAuth,
    ) -> ApiResult<Json<ServiceStatus>, { on::ADMIN }> {
        let ops = &state.ops;
        let database = match ops.readiness().await {
            Readiness::Ready => db_status(DatabaseCondition::Ok, ops, Some(0), None),
            Readiness::MigrationsPending(n) => db_status(
                DatabaseCondition::MigrationsPending,
                ops,
                Some(n as u64),
                None,
            ),
            Readiness::DatabaseUnavailable(e) => {
                db_status(DatabaseCondition::Unavailable, ops, None, Some(e))
            }
        };
        let f = &state.features;
        let uptime_s = jiff::Timestamp::now().as_second() - ops.started.as_second();
        Ok(Json(ServiceStatus {
            version: env!("CARGO_PKG_VERSION").into(),
            started_at: ops.started.into(),
            uptime_s,
            database,
            gmail: feature(&f.gmail),
            smtp: feature(&f.smtp),
            outbox: feature(&f.outbox),
            spark: feature(&f.spark),
            transports: f.transports.iter().map(|&t| t.into()).collect(),
            config: ops.summary.clone(),
        }))
    }
}

fn db_status(
    status: DatabaseCondition,
    ops: &crate::ops::Ops,
    pending: Option<u64>,
    error: Option<String>,
) -> DatabaseStatus {
    DatabaseStatus {
        status,
        backend: ops.summary.database_backend,
        pending_migrations: pending,
        error,
    }
}
