//! Captured mailboxes (docs/requirements.md HTTP API): list with sync state, add, enable
//! or disable, and sync one now.

use mailroom_domain::capture::{SyncError, SyncReport};
use mailroom_ports::gmail::{GmailError, TokenError};
use mailroom_ports::records::EmailAccount;
use mailroom_ports::trust::AuditFigure;
use mailroom_ports::{AccountId, EmailAddress, StoreError};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use crate::http::auth::{AdminAuth, BearerAuth};
use crate::http::error::{ApiError, ApiResult, DisplayChain, ErrorCode, on};
use crate::http::paging::{self, List};
use crate::http::types::ApiTimestamp;
use crate::http::types::Text;
use crate::http::views::CaptureErrorList;
use crate::http::wire;
use crate::state::AppState;

#[derive(Tags)]
enum Tag {
    /// The Gmail mailboxes mailroom captures.
    Mailboxes,
}

pub struct AccountsApi;

/// A captured mailbox: its owner, sync state, counts and last audit.
#[derive(Debug, Object)]
#[oai(example)]
pub struct AccountEntry {
    pub id: i64,
    pub user_email: String,
    pub email_address: String,
    pub enabled: bool,
    pub sync_state: wire::SyncState,
    /// Gmail's history id of the last sync; `null` before the first.
    #[oai(nullable)]
    pub history_id: Option<String>,
    /// The last sync error, redacted; `null` when the last sync succeeded.
    #[oai(nullable)]
    pub last_error: Option<String>,
    #[oai(nullable)]
    pub last_synced_at: Option<ApiTimestamp>,
    pub message_count: u64,
    /// The last completeness audit (scheduled or asked for); `null` before
    /// the first.
    #[oai(nullable)]
    pub audit: Option<AccountAudit>,
}

/// A page of mailboxes.
#[derive(Debug, Object)]
pub struct AccountList {
    pub items: Vec<AccountEntry>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// A mailbox's last completeness audit figure.
#[derive(Debug, Object)]
pub struct AccountAudit {
    /// Messages Gmail listed in the backfill window.
    pub in_gmail: u64,
    /// Of those, captured.
    pub captured: u64,
    /// `captured / in_gmail` in percent (100 when Gmail listed nothing).
    /// Rounded down to a tenth: 100 only when nothing is missing.
    pub complete_percent: f64,
    /// `complete 100.0% (12,345 / 12,345) at <time>`.
    pub summary: String,
    pub at: ApiTimestamp,
}

fn account_audit(figure: AuditFigure) -> AccountAudit {
    let (complete_percent, summary) =
        super::audit::summary(figure.in_gmail, figure.captured, figure.at);
    AccountAudit {
        in_gmail: figure.in_gmail,
        captured: figure.captured,
        complete_percent,
        summary,
        at: figure.at.into(),
    }
}

/// A mailbox was added.
#[derive(Debug, ApiResponse)]
pub enum AccountCreated {
    /// The new mailbox, in state `new` until its first sync.
    #[oai(status = 201)]
    Created(Json<AccountEntry>),
}

#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct NewAccount {
    /// The CRM user who owns the mailbox.
    #[oai(validator(max_length = 320))]
    pub user_email: Text,
    /// The Gmail address to capture.
    #[oai(validator(max_length = 320))]
    pub email_address: Text,
}

#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct AccountPatch {
    pub enabled: bool,
}

/// What one sync of a mailbox did: messages fetched from Gmail, captured
/// (new to mailroom), matched to investors, skipped and failed, and whether
/// it was a full sync.
#[derive(Debug, Object)]
#[oai(example)]
pub struct SyncResult {
    pub fetched: u32,
    pub captured: u32,
    pub matched: u32,
    pub skipped: u32,
    pub errors: u32,
    pub full: bool,
}

fn entry(a: EmailAccount) -> AccountEntry {
    AccountEntry {
        id: a.id.0,
        user_email: a.user_email.to_string(),
        email_address: a.email_address.to_string(),
        enabled: a.enabled,
        sync_state: a.sync_state.into(),
        history_id: a.history_id,
        last_error: a.last_error,
        last_synced_at: a.last_synced_at.map(Into::into),
        message_count: a.message_count,
        audit: None,
    }
}

fn address(field: &str, value: &str) -> Result<EmailAddress, ApiError> {
    // The parser's error quotes the value; the answer names the field only.
    EmailAddress::parse(value).map_err(|_| {
        ApiError::unprocessable(
            ErrorCode::Invalid,
            format!("{field} is not an email address"),
        )
    })
}

impl From<SyncError> for ApiError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::NotFound => ApiError::not_found("mailbox not found"),
            SyncError::Disabled => ApiError::conflict("the mailbox is disabled"),
            // A second request while a run is under way is refused rather
            // than joined: the run may belong to another replica (nothing to
            // join there), and a full backfill can take minutes, longer than
            // a caller should hold a request open. The caller polls the
            // mailbox list for the run's outcome instead.
            SyncError::Busy => ApiError::conflict_with(
                ErrorCode::SyncRunning,
                "a sync of this mailbox is running; its outcome shows in the mailbox list",
            ),
            SyncError::Stopped => ApiError::unavailable_retry(
                ErrorCode::ShuttingDown,
                "the service is stopping; try again shortly",
            ),
            // Google has no such user: the mailbox's own address is wrong,
            // not an upstream failure. A 409 (the stored mailbox conflicts
            // with the Workspace directory); fixing the address fixes it.
            SyncError::Gmail(GmailError::Auth(TokenError::UnknownUser(_))) => {
                ApiError::conflict_with(
                    ErrorCode::GmailFailed,
                    "Google Workspace has no user with this mailbox's address; check the address",
                )
            }
            SyncError::Gmail(cause) => {
                tracing::error!(error = %DisplayChain(&cause), "sync failed");
                ApiError::bad_gateway(
                    ErrorCode::GmailFailed,
                    "the sync did not complete; see the mailbox's last error",
                )
            }
            SyncError::Store(s) => ApiError::from(s),
        }
    }
}

fn sync_result(r: SyncReport) -> SyncResult {
    SyncResult {
        fetched: r.fetched,
        captured: r.captured,
        matched: r.matched,
        skipped: r.skipped,
        errors: r.errors,
        full: r.full,
    }
}

#[OpenApi(tag = "Tag::Mailboxes")]
impl AccountsApi {
    /// The captured mailboxes with their sync state, in the order they were
    /// added.
    #[oai(
        path = "/api/email/accounts",
        method = "get",
        operation_id = "listEmailAccounts"
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
    ) -> ApiResult<Json<AccountList>, { on::ADMIN | on::QUERY }> {
        auth.admin()?;
        let (accounts, next_cursor) = paging::page_by_id(
            List::Accounts,
            state.store.list_accounts().await?,
            |a| a.id.0,
            limit.0,
            cursor.0.as_deref(),
        )?;
        let mut items = Vec::with_capacity(accounts.len());
        for account in accounts {
            let figure = state.trust.last_audit(account.id).await?;
            let mut e = entry(account);
            e.audit = figure.map(account_audit);
            items.push(e);
        }
        Ok(Json(AccountList { items, next_cursor }))
    }

    /// Adds a mailbox to capture.
    #[oai(
        path = "/api/email/accounts",
        method = "post",
        operation_id = "createEmailAccount"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        _admin: AdminAuth,
        body: Json<NewAccount>,
    ) -> ApiResult<
        AccountCreated,
        { on::ADMIN | on::JSON_BODY | on::NOT_FOUND | on::CONFLICT | on::UNPROCESSABLE },
    > {
        let user = address("user_email", &body.0.user_email)?;
        let mailbox = address("email_address", &body.0.email_address)?;
        let entries = state.trust.never_log_entries().await?;
        if let Some(why) = mailroom_domain::trust::mailbox_refusal(&mailbox, &entries) {
            // Refused for what is stored (the never-log list): a conflict.
            return Err(ApiError::conflict(why).into());
        }
        Ok(AccountCreated::Created(Json(entry(
            state.store.create_account(&user, &mailbox).await?,
        ))))
    }

    /// Enables or disables a mailbox's capture.
    #[oai(
        path = "/api/email/accounts/:id",
        method = "patch",
        operation_id = "updateEmailAccount"
    )]
    async fn patch(
        &self,
        state: Data<&AppState>,
        _admin: AdminAuth,
        id: Path<i64>,
        body: Json<AccountPatch>,
    ) -> ApiResult<Json<AccountEntry>, { on::ADMIN | on::PATH_ID | on::JSON_BODY }> {
        Ok(Json(entry(
            state
                .store
                .set_account_enabled(AccountId(id.0), body.0.enabled)
                .await?,
        )))
    }

    /// Syncs one mailbox now.
    #[oai(
        path = "/api/email/accounts/:id/sync",
        method = "post",
        operation_id = "syncEmailAccount"
    )]
    async fn sync(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> ApiResult<Json<SyncResult>, { on::ADMIN | on::PATH_ID | on::CONFLICT | on::BAD_GATEWAY }>
    {
        auth.admin()?;
        let sync = state.sync.as_ref().ok_or_else(|| {
            ApiError::unavailable(ErrorCode::NotConfigured, "Gmail is not configured")
        })?;
        Ok(Json(sync_result(sync.sync_account(AccountId(id.0)).await?)))
    }

    /// A mailbox's capture errors, most recent first: the messages that
    /// could not be captured, with a fixed text per kind of failure.
    #[oai(
        path = "/api/email/accounts/:id/errors",
        method = "get",
        operation_id = "listEmailAccountErrors"
    )]
    async fn list_errors(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
        /// 1–200, default 50.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<CaptureErrorList>, { on::ADMIN | on::PATH_ID | on::QUERY }> {
        auth.admin()?;
        let page = paging::page_request(List::CaptureErrors, limit.0, cursor.0.as_deref())?;
        let errors = state
            .store
            .capture_errors(AccountId(id.0), page)
            .await
            .map_err(|e| match e {
                StoreError::NotFound(_) => ApiError::not_found("mailbox not found"),
                other => other.into(),
            })?;
        Ok(Json(errors.into()))
    }
}
