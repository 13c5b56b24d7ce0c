//! Reply drafts (docs/requirements.md HTTP API, R-DRAFT-1..3): creates a Gmail draft in the
//! thread for a human to send. Nothing here can send.

use mailroom_domain::drafts::{DraftError, DraftRequest};
use mailroom_ports::records::Role;
use mailroom_ports::{AccountId, EmailId};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use crate::http::auth::BearerAuth;
use crate::http::error::{ApiError, ApiResult, DisplayChain, ErrorCode, on};
use crate::http::paging::{self, List};
use crate::http::types::Text;
use crate::http::views::DraftList;
use crate::state::AppState;

#[derive(Tags)]
enum Tag {
    /// In-thread reply drafts; humans send them.
    Drafts,
}

pub struct DraftsApi;

#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct DraftBody {
    pub email_id: i64,
    /// The reply's text (at most 32,768 characters; the whole request body
    /// is also bounded in bytes).
    #[oai(validator(max_length = 32768))]
    pub body: Text,
    /// Reply to everyone on the original (default: the sender only).
    #[oai(default)]
    pub reply_all: bool,
    /// The mailbox to draft in (default: the caller's copy of the email).
    #[oai(nullable)]
    pub account_id: Option<i64>,
}

/// A draft was created.
#[derive(Debug, ApiResponse)]
pub enum DraftCreated {
    /// The Gmail draft, in the email's thread, for a human to send.
    #[oai(status = 201)]
    Created(Json<DraftResponse>),
}

#[derive(Debug, Object)]
pub struct DraftResponse {
    pub gmail_draft_id: String,
    pub thread_id: String,
    /// The id of the draft's message: Gmail's web UI opens the draft at
    /// `https://mail.google.com/mail/?authuser=<mailbox>#drafts?compose=<id>`.
    /// Null when Gmail did not report it.
    #[oai(nullable)]
    pub gmail_message_id: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
}

impl From<DraftError> for ApiError {
    fn from(e: DraftError) -> Self {
        match e {
            DraftError::NotFound => ApiError::not_found("email not found"),
            DraftError::Forbidden => {
                ApiError::forbidden("only the mailbox owner or an admin may draft a reply")
            }
            DraftError::NoMailbox => ApiError::unprocessable(
                ErrorCode::NoMailbox,
                "no live copy of this email is in a captured mailbox",
            ),
            DraftError::NoRecipients => ApiError::unprocessable(
                ErrorCode::NoRecipients,
                "every address on this email is one of ours: nobody to reply to",
            ),
            DraftError::EmptyBody => {
                ApiError::unprocessable(ErrorCode::Invalid, "the draft body is empty")
            }
            DraftError::Gmail(cause) => {
                tracing::error!(error = %DisplayChain(&cause), "draft creation failed");
                ApiError::bad_gateway(
                    ErrorCode::GmailFailed,
                    "Gmail did not create the draft; see the server log",
                )
            }
            DraftError::Store(s) => ApiError::from(s),
        }
    }
}

#[OpenApi(tag = "Tag::Drafts")]
impl DraftsApi {
    /// Creates an in-thread Gmail draft replying to a captured email.
    #[oai(
        path = "/api/email/drafts",
        method = "post",
        operation_id = "createDraft"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<DraftBody>,
    ) -> ApiResult<
        DraftCreated,
        { on::AUTHED | on::JSON_BODY | on::NOT_FOUND | on::UNPROCESSABLE | on::BAD_GATEWAY },
    > {
        let drafts = state.drafts.as_ref().ok_or_else(|| {
            ApiError::unavailable(ErrorCode::NotConfigured, "Gmail is not configured")
        })?;
        let req = DraftRequest {
            email_id: EmailId(body.0.email_id),
            body: body.0.body.into(),
            reply_all: body.0.reply_all,
            account_id: body.0.account_id.map(AccountId),
        };
        let d = drafts.create(&auth.0, req).await?;
        Ok(DraftCreated::Created(Json(DraftResponse {
            gmail_draft_id: d.gmail_draft_id,
            thread_id: d.thread_id,
            gmail_message_id: d.gmail_message_id,
            to: d.to.iter().map(|a| a.to_string()).collect(),
            cc: d.cc.iter().map(|a| a.to_string()).collect(),
            subject: d.subject,
        })))
    }

    /// The reply drafts mailroom created, newest first: who, which email,
    /// when, the Gmail draft id. Members see their own; admins see all.
    #[oai(
        path = "/api/email/drafts",
        method = "get",
        operation_id = "listDrafts"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// 1–200, default 50.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<DraftList>, { on::AUTHED | on::QUERY }> {
        let page = paging::page_request(List::Drafts, limit.0, cursor.0.as_deref())?;
        let created_by = (auth.0.role != Role::Admin).then_some(auth.0.id);
        Ok(Json(
            state.store.list_drafts(created_by, page).await?.into(),
        ))
    }
}
