//! The bearer-token security scheme: a valid token names a user, whose role
//! and `is_active` are read from the database on every request.

use mailroom_ports::EmailAddress;
use mailroom_ports::records::{Role, User};
use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use crate::auth::{TokenRejected, verify};
use crate::http::error::ApiError;
use crate::state::AppState;

/// A JWT (HS256) from `mailroom token --email E`, naming an active user.
/// Admin-only operations answer 403 to a member.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_bearer")]
pub struct BearerAuth(pub User);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<User> {
    let state = req.data::<AppState>().ok_or_else(|| {
        tracing::error!("the app state is missing from the request");
        poem::Error::from(ApiError::internal_msg())
    })?;
    let claims = verify(&state.jwt, &bearer.token).map_err(|e| {
        poem::Error::from(ApiError::unauthorized(match e {
            TokenRejected::Expired => "the token has expired",
            TokenRejected::NotYetValid => "the token is not valid yet",
            TokenRejected::Invalid => "the token is not valid",
        }))
    })?;
    let email = EmailAddress::parse(&claims.sub)
        .map_err(|_| poem::Error::from(ApiError::unauthorized("the token is not valid")))?;
    let user = state
        .store
        .user_by_email(&email)
        .await
        .map_err(|e| poem::Error::from(ApiError::from(e)))?
        .ok_or_else(|| {
            poem::Error::from(ApiError::unauthorized("the token names no known user"))
        })?;
    if !user.is_active {
        return Err(ApiError::forbidden("this user is inactive").into());
    }
    Ok(user)
}

// An authenticated, active admin: the same scheme on the wire as
// `BearerAuth` (so its documentation repeats it). The role is checked while
// the request is extracted, before its body is parsed, so a member's body
// costs no parse.
/// A JWT (HS256) from `mailroom token --email E`, naming an active user.
/// Admin-only operations answer 403 to a member.
#[derive(SecurityScheme)]
#[oai(
    rename = "BearerAuth",
    ty = "bearer",
    bearer_format = "JWT",
    checker = "check_admin"
)]
pub struct AdminAuth(pub User);

async fn check_admin(req: &Request, bearer: Bearer) -> poem::Result<User> {
    let user = check_bearer(req, bearer).await?;
    if user.role == Role::Admin {
        Ok(user)
    } else {
        Err(ApiError::forbidden("this needs an admin").into())
    }
}

impl BearerAuth {
    /// The user, if an admin.
    ///
    /// # Errors
    /// `Forbidden` for a member.
    pub fn admin(&self) -> Result<&User, ApiError> {
        if self.0.role == Role::Admin {
            Ok(&self.0)
        } else {
            Err(ApiError::forbidden("this needs an admin"))
        }
    }
}
