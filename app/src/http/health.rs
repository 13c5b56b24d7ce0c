//! `GET /healthz`: is the database reachable, and which features are on.

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

use crate::state::{AppState, Feature};

#[derive(Tags)]
enum Tag {
    /// Liveness and configuration.
    Health,
}

pub struct HealthApi;

#[derive(Debug, Object)]
pub struct FeatureStatus {
    pub enabled: bool,
    pub detail: String,
}

#[derive(Debug, Object)]
pub struct Health {
    /// `ok`, or `degraded` when the database does not answer.
    pub status: String,
    pub version: String,
    pub database: String,
    pub gmail: FeatureStatus,
    pub smtp: FeatureStatus,
    pub outbox: FeatureStatus,
    pub spark: FeatureStatus,
    /// The digest's transports, in the order they are tried.
    pub transports: Vec<String>,
}

fn status(f: &Feature) -> FeatureStatus {
    FeatureStatus {
        enabled: f.enabled,
        detail: f.detail.clone(),
    }
}

#[OpenApi(tag = "Tag::Health")]
impl HealthApi {
    /// Liveness, database reachability and the features in use.
    #[oai(path = "/healthz", method = "get", operation_id = "getHealth")]
    async fn healthz(&self, state: Data<&AppState>) -> Json<Health> {
        let db_ok = state.store.get_setting("healthz").await.is_ok();
        let f = &state.features;
        Json(Health {
            status: if db_ok { "ok" } else { "degraded" }.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            database: if db_ok { "ok" } else { "unavailable" }.into(),
            gmail: status(&f.gmail),
            smtp: status(&f.smtp),
            outbox: status(&f.outbox),
            spark: status(&f.spark),
            transports: f.transports.clone(),
        })
    }
}
