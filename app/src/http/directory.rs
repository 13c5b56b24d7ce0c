//! The directory mirror (docs/requirements.md HTTP API): the CRM's users, investors and
//! contacts, upserted idempotently.

use mailroom_ports::records::{DirectoryCounts, DirectoryUpdate};
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

use crate::http::auth::AdminAuth;
use crate::http::error::{ApiError, ApiResult, ErrorCode, on};
use crate::http::types::Text;
use crate::http::wire;
use crate::state::AppState;

#[derive(Tags)]
enum Tag {
    /// The CRM's directory, mirrored.
    Directory,
}

pub struct DirectoryApi;

#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct DirectoryUserBody {
    #[oai(validator(max_length = 320))]
    pub email: Text,
    #[oai(validator(max_length = 512))]
    pub display_name: Text,
    pub role: wire::Role,
    pub is_active: bool,
}

#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct DirectoryInvestorBody {
    pub id: i64,
    #[oai(validator(max_length = 512))]
    pub name: Text,
    #[oai(default)]
    pub graveyard: bool,
    #[oai(default)]
    pub deleted: bool,
    #[oai(default, validator(max_items = 1000))]
    pub domains: Vec<Text>,
}

#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct DirectoryContactBody {
    pub id: i64,
    pub investor_id: i64,
    #[oai(validator(max_length = 512))]
    pub name: Text,
    #[oai(default, validator(max_items = 1000))]
    pub emails: Vec<Text>,
    #[oai(default)]
    pub deleted: bool,
}

#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct DirectoryBody {
    #[oai(default, validator(max_items = 10000))]
    pub users: Vec<DirectoryUserBody>,
    #[oai(default, validator(max_items = 100000))]
    pub investors: Vec<DirectoryInvestorBody>,
    #[oai(default, validator(max_items = 100000))]
    pub contacts: Vec<DirectoryContactBody>,
}

/// Rows upserted, by kind.
#[derive(Debug, Object)]
pub struct DirectoryCountsBody {
    pub users: u64,
    pub investors: u64,
    pub contacts: u64,
}

impl From<DirectoryCounts> for DirectoryCountsBody {
    fn from(c: DirectoryCounts) -> Self {
        Self {
            users: c.users,
            investors: c.investors,
            contacts: c.contacts,
        }
    }
}

impl DirectoryBody {
    /// Checks every field through the same serde rules the CLI import uses,
    /// so both paths accept and refuse the same files.
    fn into_update(self) -> Result<DirectoryUpdate, ApiError> {
        let value = serde_json::json!({
            "users": self.users.into_iter().map(|u| serde_json::json!({
                "email": u.email, "display_name": u.display_name, "role": mailroom_ports::records::Role::from(u.role).as_str(), "is_active": u.is_active,
            })).collect::<Vec<_>>(),
            "investors": self.investors.into_iter().map(|i| serde_json::json!({
                "id": i.id, "name": i.name, "graveyard": i.graveyard, "deleted": i.deleted, "domains": i.domains,
            })).collect::<Vec<_>>(),
            "contacts": self.contacts.into_iter().map(|c| serde_json::json!({
                "id": c.id, "investor_id": c.investor_id, "name": c.name, "emails": c.emails, "deleted": c.deleted,
            })).collect::<Vec<_>>(),
        });
        crate::directory::parse_update_value(value)
            .map_err(|e| ApiError::unprocessable(ErrorCode::Invalid, e))
    }
}

#[OpenApi(tag = "Tag::Directory")]
impl DirectoryApi {
    /// Upserts users (by email), investors and contacts (by id); idempotent.
    #[oai(
        path = "/api/admin/directory",
        method = "put",
        operation_id = "updateDirectory"
    )]
    async fn put(
        &self,
        state: Data<&AppState>,
        _admin: AdminAuth,
        body: Json<DirectoryBody>,
    ) -> ApiResult<
        Json<DirectoryCountsBody>,
        { on::ADMIN | on::JSON_BODY | on::CONFLICT | on::UNPROCESSABLE },
    > {
        let update = body.0.into_update()?;
        // A change that widens matching starts the re-match (see listJobs).
        match mailroom_domain::trust::update_directory(
            state.trust.as_ref(),
            update,
            state.clock.now(),
        )
        .await
        {
            Ok((counts, _)) => Ok(Json(counts.into())),
            // The only refusal left once the body parsed depends on what is
            // stored: a contact naming an investor neither the body nor the
            // database holds. Like every refusal that depends on stored state,
            // it is a 409; the store's text names ids, which are not echoed.
            Err(mailroom_ports::StoreError::Invalid(_)) => Err(ApiError::conflict(
                "a contact names an investor that neither this body nor the directory holds",
            )
            .into()),
            Err(e) => Err(e.into()),
        }
    }
}
