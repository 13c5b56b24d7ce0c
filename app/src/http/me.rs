//! Who the caller is: the user the bearer token names, as the database has
//! it now (role and `is_active` are read on every request).

use poem_openapi::payload::Json;
use poem_openapi::{OpenApi, Tags};

use crate::http::auth::BearerAuth;
use crate::http::error::ApiError;
use crate::http::views::MeResponse;

#[derive(Tags)]
enum Tag {
    /// The caller's own account.
    Me,
}

pub struct MeApi;

#[OpenApi(tag = "Tag::Me")]
impl MeApi {
    /// The user the token names, with their role; any active user may ask.
    #[oai(path = "/api/me", method = "get", operation_id = "getMe")]
    async fn get_me(&self, auth: BearerAuth) -> Result<Json<MeResponse>, ApiError> {
        Ok(Json(MeResponse::from(&auth.0)))
    }
}
