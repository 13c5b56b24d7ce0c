//! Digest administration (docs/requirements.md HTTP API): policy, test email, send now, preview.

use jiff::SignedDuration;
use mailroom_domain::digest::compose::Digest;
use mailroom_domain::digest::policy::PolicyPatch;
use mailroom_domain::digest::service::{DigestError, PolicyView, SendReport};
use mailroom_ports::EmailAddress;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

use crate::http::auth::{AdminAuth, BearerAuth};
use crate::http::error::{ApiError, ApiResult, DisplayChain, ErrorCode, on};
use crate::http::paging::{self, List};
use crate::http::types::Text;
use crate::http::types::{ApiTimestamp, HourOfDay};
use crate::http::views::DigestSendList;
use crate::http::wire;
use crate::state::AppState;

#[derive(Tags)]
enum Tag {
    /// The daily digest to the fund's admins.
    Digest,
}

pub struct DigestApi;

/// The digest policy and where it came from.
#[derive(Debug, Object)]
#[oai(example)]
pub struct PolicyResponse {
    pub enabled: bool,
    /// Local hour (0–23, in `timezone`) at or after which the digest is sent.
    #[oai(validator(minimum(value = "0"), maximum(value = "23")))]
    pub send_hour: u8,
    pub source: wire::PolicySource,
    /// The fund's IANA time zone (`CRM_TIMEZONE`), in which `send_hour` is read.
    pub timezone: String,
}

impl poem_openapi::types::Example for PolicyResponse {
    fn example() -> Self {
        Self {
            enabled: true,
            send_hour: 7,
            source: wire::PolicySource::Db,
            timezone: "Europe/Paris".into(),
        }
    }
}

/// Fields to change; absent fields keep their value.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct PolicyPatchBody {
    /// Absent or `null`: unchanged.
    #[oai(nullable)]
    pub enabled: Option<bool>,
    /// 0–23; a value out of range is refused with 422.
    #[oai(nullable)]
    pub send_hour: Option<HourOfDay>,
}

#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct TestEmailBody {
    /// Recipients; each must be an active admin. Default: the caller.
    #[oai(validator(max_items = 100), nullable)]
    pub to: Option<Vec<Text>>,
}

/// A test digest was sent: the transport that delivered it and to whom.
#[derive(Debug, Object)]
pub struct TestEmailResponse {
    pub sent: bool,
    pub transport: wire::Transport,
    pub recipients: Vec<String>,
}

/// Today's digest was sent now: to whom, by which transport, and what it
/// counted.
#[derive(Debug, Object)]
#[oai(example)]
pub struct SendNowResponse {
    pub sent: bool,
    pub transport: wire::Transport,
    pub recipients: Vec<String>,
    pub subject: String,
    pub has_activity: bool,
    pub user_count: u32,
    pub email_count: u32,
    pub investor_count: u32,
}

/// The digest as it would be sent now (its window ends now), not sent.
#[derive(Debug, Object)]
#[oai(example)]
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

fn policy_response(state: &AppState, view: PolicyView) -> Json<PolicyResponse> {
    Json(PolicyResponse {
        enabled: view.policy.enabled,
        send_hour: view.policy.send_hour.get(),
        source: view.source.into(),
        timezone: state.timezone.iana_name().unwrap_or("UTC").to_string(),
    })
}

/// The digest of a window with `since` at or after `until`: it holds no
/// email, like an activity query over the same window, so the preview shows
/// the team with nothing to report rather than refusing the question.
async fn empty_window(
    state: &AppState,
    since: jiff::Timestamp,
    until: jiff::Timestamp,
) -> Result<Digest, ApiError> {
    use mailroom_domain::digest::compose::{DigestInput, compose};
    let team = state.store.digest_team().await?;
    let rows = mailroom_domain::gating::LiveRows::new(Vec::new());
    let own = mailroom_domain::direction::OwnMailboxes::new(Vec::new());
    Ok(compose(
        &DigestInput {
            since,
            until,
            timezone: &state.timezone,
            team: &team,
            rows: &rows,
            own: &own,
        },
        &Default::default(),
    ))
}

fn recipients(report: &SendReport) -> Vec<String> {
    report.recipients.iter().map(|a| a.to_string()).collect()
}

impl From<DigestError> for ApiError {
    fn from(e: DigestError) -> Self {
        match e {
            DigestError::InvalidPolicy(m) => ApiError::unprocessable(ErrorCode::Invalid, m),
            // The domain's text quotes the window; the answer does not echo input.
            DigestError::InvalidWindow(_) => {
                ApiError::unprocessable(ErrorCode::Invalid, "since must be before until")
            }
            // Who is an active admin is stored state: a refusal that depends
            // on it is a 409 (the same request succeeds once the directory
            // changes). The addresses are not echoed.
            DigestError::NotAnAdmin(_) => ApiError::conflict_with(
                ErrorCode::NotAnAdmin,
                "a recipient is not an active admin; only active admins receive mail",
            ),
            DigestError::NoAdmins => {
                ApiError::conflict_with(ErrorCode::NoAdmins, "there is no active admin to send to")
            }
            DigestError::SendFailed(cause) => {
                // R-HARD-4: the cause may hold a credential; it goes to the log only.
                tracing::error!(kind = cause.kind(), error = %DisplayChain(&cause), "digest send failed");
                ApiError::bad_gateway(
                    ErrorCode::SendFailed,
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
    #[oai(
        path = "/api/admin/digest/policy",
        method = "get",
        operation_id = "getDigestPolicy"
    )]
    async fn get_policy(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> ApiResult<Json<PolicyResponse>, { on::ADMIN }> {
        auth.admin()?;
        Ok(policy_response(&state, state.digest.policy().await?))
    }

    /// Changes the digest policy; takes effect at the scheduler's next cycle.
    #[oai(
        path = "/api/admin/digest/policy",
        method = "patch",
        operation_id = "updateDigestPolicy"
    )]
    async fn patch_policy(
        &self,
        state: Data<&AppState>,
        _admin: AdminAuth,
        body: Json<PolicyPatchBody>,
    ) -> ApiResult<Json<PolicyResponse>, { on::ADMIN | on::JSON_BODY | on::UNPROCESSABLE }> {
        let patch = PolicyPatch {
            enabled: body.0.enabled,
            send_hour: body.0.send_hour.map(|h| h.0),
        };
        Ok(policy_response(
            &state,
            state.digest.update_policy(patch).await?,
        ))
    }

    /// Sends a short test email to active admins (default: the caller).
    #[oai(
        path = "/api/admin/digest/test-email",
        method = "post",
        operation_id = "sendTestDigestEmail"
    )]
    async fn test_email(
        &self,
        state: Data<&AppState>,
        admin: AdminAuth,
        body: Json<TestEmailBody>,
    ) -> ApiResult<
        Json<TestEmailResponse>,
        { on::ADMIN | on::JSON_BODY | on::CONFLICT | on::BAD_GATEWAY },
    > {
        let caller = &admin.0;
        let to = match body.0.to {
            None => vec![caller.email.clone()],
            Some(list) if list.is_empty() => {
                return Err(ApiError::unprocessable(
                    ErrorCode::Invalid,
                    "`to` must name at least one admin",
                )
                .into());
            }
            Some(list) => list
                .iter()
                .map(|a| {
                    EmailAddress::parse(a).map_err(|_| {
                        ApiError::unprocessable(
                            ErrorCode::Invalid,
                            "`to` holds a value that is not an email address",
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let report = state.digest.send_test(&to).await?;
        Ok(Json(TestEmailResponse {
            sent: true,
            transport: report.transport.into(),
            recipients: recipients(&report),
        }))
    }

    /// Builds the last 24 hours' digest and sends it to the admins now,
    /// whatever the policy; the daily schedule is not affected.
    #[oai(
        path = "/api/admin/digest/send-now",
        method = "post",
        operation_id = "sendDigestNow"
    )]
    async fn send_now(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> ApiResult<Json<SendNowResponse>, { on::ADMIN | on::CONFLICT | on::BAD_GATEWAY }> {
        auth.admin()?;
        let report = state.digest.send_now().await?;
        let digest = report.digest.clone().ok_or_else(|| {
            tracing::error!("send-now reported no digest");
            ApiError::internal_msg()
        })?;
        Ok(Json(SendNowResponse {
            sent: true,
            transport: report.transport.into(),
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
    #[oai(
        path = "/api/admin/digest/preview",
        method = "get",
        operation_id = "previewDigest"
    )]
    async fn preview(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        since: Query<Option<ApiTimestamp>>,
        until: Query<Option<ApiTimestamp>>,
    ) -> ApiResult<Json<DigestPreview>, { on::ADMIN | on::QUERY | on::UNPROCESSABLE }> {
        auth.admin()?;
        let until = until.0.map(|t| t.0).unwrap_or_else(|| state.clock.now());
        let since = since
            .0
            .map(|t| t.0)
            .unwrap_or(until - SignedDuration::from_hours(24));
        let d: Digest = if since < until {
            state.digest.build(since, until).await?
        } else {
            empty_window(&state, since, until).await?
        };
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
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<DigestSendList>, { on::ADMIN | on::QUERY }> {
        auth.admin()?;
        let page = paging::page_request(List::DigestSends, limit.0, cursor.0.as_deref())?;
        Ok(Json(state.store.digest_sends(page).await?.into()))
    }
}
