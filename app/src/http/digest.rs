//! Digest administration (SPEC §6 Digest): policy, test email, send now, preview.

use jiff::SignedDuration;
use mailroom_domain::digest::compose::Digest;
use mailroom_domain::digest::policy::PolicyPatch;
use mailroom_domain::digest::service::{DigestError, PolicyView, SendReport};
use mailroom_ports::EmailAddress;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

use crate::http::auth::BearerAuth;
use crate::http::error::{ApiError, DisplayChain};
use crate::http::paging::{self, List};
use crate::http::types::ApiTimestamp;
use crate::http::views::DigestSendList;
use crate::state::AppState;

#[derive(Tags)]
enum Tag {
    /// The daily digest to the fund's admins.
    Digest,
}

pub struct DigestApi;

/// The digest policy and where it came from.
#[derive(Debug, Object)]
pub struct PolicyResponse {
    pub enabled: bool,
    /// Local hour (0–23, `CRM_TIMEZONE`) at or after which the digest is sent.
    pub send_hour: u8,
    /// `db`, `env` or `default`.
    pub source: String,
}

/// Fields to change; absent fields keep their value.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct PolicyPatchBody {
    pub enabled: Option<bool>,
    pub send_hour: Option<i64>,
}

#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct TestEmailBody {
    /// Recipients; each must be an active admin. Default: the caller.
    pub to: Option<Vec<String>>,
}

#[derive(Debug, Object)]
pub struct TestEmailResponse {
    pub sent: bool,
    /// `gmail`, `smtp` or `outbox`.
    pub transport: String,
    pub recipients: Vec<String>,
}

#[derive(Debug, Object)]
pub struct SendNowResponse {
    pub sent: bool,
    pub transport: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub has_activity: bool,
    pub user_count: u32,
    pub email_count: u32,
    pub investor_count: u32,
}

#[derive(Debug, Object)]
pub struct DigestPreview {
    pub since: ApiTimestamp,
    pub until: ApiTimestamp,
    pub subject: String,
    pub body: String,
    pub has_activity: bool,
    pub user_count: u32,
    pub email_count: u32,
    pub investor_count: u32,
}

fn policy_response(view: PolicyView) -> Json<PolicyResponse> {
    Json(PolicyResponse {
        enabled: view.policy.enabled,
        send_hour: view.policy.send_hour.get(),
        source: view.source.as_str().to_string(),
    })
}

fn recipients(report: &SendReport) -> Vec<String> {
    report.recipients.iter().map(|a| a.to_string()).collect()
}

impl From<DigestError> for ApiError {
    fn from(e: DigestError) -> Self {
        match e {
            DigestError::InvalidPolicy(m) | DigestError::InvalidWindow(m) => {
                ApiError::unprocessable("invalid", m)
            }
            DigestError::NotAnAdmin(n) => ApiError::unprocessable("not_an_admin", n.to_string()),
            DigestError::NoAdmins => {
                ApiError::unprocessable("no_admins", "there is no active admin to send to")
            }
            DigestError::SendFailed(cause) => {
                // R-HARD-4: the cause may hold a credential; it goes to the log only.
                tracing::error!(kind = cause.kind(), error = %DisplayChain(&cause), "digest send failed");
                ApiError::bad_gateway(
                    "send_failed",
                    "the email could not be sent; see the server log",
                )
            }
            DigestError::Store(s) => ApiError::from(s),
        }
    }
}

#[OpenApi(tag = "Tag::Digest")]
impl DigestApi {
    /// The digest policy.
    #[oai(path = "/api/admin/digest/policy", method = "get")]
    async fn get_policy(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<PolicyResponse>, ApiError> {
        auth.admin()?;
        Ok(policy_response(state.digest.policy().await?))
    }

    /// Changes the digest policy; takes effect at the scheduler's next cycle.
    #[oai(path = "/api/admin/digest/policy", method = "patch")]
    async fn patch_policy(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<PolicyPatchBody>,
    ) -> Result<Json<PolicyResponse>, ApiError> {
        auth.admin()?;
        let patch = PolicyPatch {
            enabled: body.0.enabled,
            send_hour: body.0.send_hour,
        };
        Ok(policy_response(state.digest.update_policy(patch).await?))
    }

    /// Sends a short test email to active admins (default: the caller).
    #[oai(path = "/api/admin/digest/test-email", method = "post")]
    async fn test_email(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<TestEmailBody>,
    ) -> Result<Json<TestEmailResponse>, ApiError> {
        let caller = auth.admin()?;
        let to = match body.0.to {
            None => vec![caller.email.clone()],
            Some(list) if list.is_empty() => {
                return Err(ApiError::unprocessable(
                    "invalid",
                    "`to` must name at least one admin",
                ));
            }
            Some(list) => list
                .iter()
                .map(|a| {
                    EmailAddress::parse(a)
                        .map_err(|e| ApiError::unprocessable("invalid", e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let report = state.digest.send_test(&to).await?;
        Ok(Json(TestEmailResponse {
            sent: true,
            transport: report.transport.as_str().into(),
            recipients: recipients(&report),
        }))
    }

    /// Builds the last 24 hours' digest and sends it to the admins now,
    /// whatever the policy; the daily schedule is not affected.
    #[oai(path = "/api/admin/digest/send-now", method = "post")]
    async fn send_now(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<SendNowResponse>, ApiError> {
        auth.admin()?;
        let report = state.digest.send_now().await?;
        let digest = report
            .digest
            .clone()
            .ok_or_else(|| ApiError::unavailable("internal", "the digest was not built"))?;
        Ok(Json(SendNowResponse {
            sent: true,
            transport: report.transport.as_str().into(),
            recipients: recipients(&report),
            subject: digest.subject,
            has_activity: digest.has_activity,
            user_count: digest.user_count,
            email_count: digest.email_count,
            investor_count: digest.investor_count,
        }))
    }

    /// Builds the digest for a window without sending it
    /// (default: the 24 hours before now).
    #[oai(path = "/api/admin/digest/preview", method = "get")]
    async fn preview(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        since: Query<Option<ApiTimestamp>>,
        until: Query<Option<ApiTimestamp>>,
    ) -> Result<Json<DigestPreview>, ApiError> {
        auth.admin()?;
        let until = until.0.map(|t| t.0).unwrap_or_else(|| state.clock.now());
        let since = since
            .0
            .map(|t| t.0)
            .unwrap_or(until - SignedDuration::from_hours(24));
        let d: Digest = state.digest.build(since, until).await?;
        Ok(Json(DigestPreview {
            since: since.into(),
            until: until.into(),
            subject: d.subject,
            body: d.body,
            has_activity: d.has_activity,
            user_count: d.user_count,
            email_count: d.email_count,
            investor_count: d.investor_count,
        }))
    }

    /// The digest send log, newest first: when, why, the window, the
    /// transport, how many admins, and the error kind (never its text).
    #[oai(
        path = "/api/admin/digest/sends",
        method = "get",
        operation_id = "listDigestSends"
    )]
    async fn list_sends(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// 1–200, default 50.
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<DigestSendList>, ApiError> {
        auth.admin()?;
        let page = paging::page_request(List::DigestSends, limit.0, cursor.0.as_deref())?;
        Ok(Json(state.store.digest_sends(page).await?.into()))
    }
}
