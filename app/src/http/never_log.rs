//! The never-log list (docs/requirements.md R-TRUST-1): addresses and
//! domains whose mail is kept as metadata only, never linked, proposed,
//! listed or put in a digest.

use mailroom_domain::trust::{NeverLogError, add_never_log, remove_never_log};
use mailroom_ports::trust::{NeverLogEntry, NeverLogTarget, PurgeOutcome};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};

use crate::http::auth::AdminAuth;
use crate::http::error::{ApiError, ApiResult, ErrorCode, on};
use crate::http::jobs::{JobBody, job_body};
use crate::http::paging::{self, List};
use crate::http::types::ApiTimestamp;
use crate::http::types::Text;
use crate::state::AppState;

#[derive(Tags)]
enum Tag {
    /// Addresses and domains whose mail is never captured in full.
    NeverLog,
}

pub struct NeverLogApi;

/// Whether an entry names one address or a whole domain (and its subdomains).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum NeverLogKind {
    Address,
    Domain,
}

/// One never-log entry.
#[derive(Debug, Object)]
pub struct NeverLogEntryBody {
    pub id: i64,
    pub kind: NeverLogKind,
    /// The normalised address or domain.
    pub value: String,
    pub created_at: ApiTimestamp,
}

/// A page of never-log entries.
#[derive(Debug, Object)]
pub struct NeverLogList {
    pub items: Vec<NeverLogEntryBody>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// A new never-log entry.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct NewNeverLogEntry {
    /// An address (`lawyer@firm.com`) or a domain (`firm.com`, which also
    /// covers its subdomains).
    #[oai(validator(min_length = 1, max_length = 320))]
    pub value: Text,
    /// Also remove the approved activities (and decided proposals) of the
    /// mail the entry covers; by default they stay.
    #[oai(default)]
    pub purge_activities: bool,
}

/// What adding the entry removed from mail already stored.
#[derive(Debug, Object)]
pub struct NeverLogPurge {
    /// Emails whose subject, snippet, body and attachment names were erased.
    pub emails_purged: u64,
    /// Pending proposals removed.
    pub proposals_removed: u64,
    /// Approved activities removed (only with `purge_activities`).
    pub activities_removed: u64,
}

/// A never-log entry was added and the mail it covers purged.
#[derive(Debug, Object)]
pub struct NeverLogAdded {
    pub entry: NeverLogEntryBody,
    pub purged: NeverLogPurge,
}

/// A never-log entry was added.
#[derive(Debug, ApiResponse)]
pub enum NeverLogCreated {
    /// The new entry and what it purged.
    #[oai(status = 201)]
    Created(Json<NeverLogAdded>),
}

/// A never-log entry was removed and a re-match requested.
#[derive(Debug, Object)]
pub struct NeverLogRemoved {
    pub entry: NeverLogEntryBody,
    /// The re-match job it requested.
    pub rematch: JobBody,
}

fn entry(e: NeverLogEntry) -> NeverLogEntryBody {
    NeverLogEntryBody {
        id: e.id,
        kind: match e.target {
            NeverLogTarget::Address(_) => NeverLogKind::Address,
            NeverLogTarget::Domain(_) => NeverLogKind::Domain,
        },
        value: e.target.value().to_string(),
        created_at: e.created_at.into(),
    }
}

fn purged(p: PurgeOutcome) -> NeverLogPurge {
    NeverLogPurge {
        emails_purged: p.emails_purged,
        proposals_removed: p.proposals_removed,
        activities_removed: p.activities_removed,
    }
}

#[OpenApi(tag = "Tag::NeverLog")]
impl NeverLogApi {
    /// The never-log list, in the order the entries were added.
    #[oai(
        path = "/api/admin/never-log",
        method = "get",
        operation_id = "listNeverLog"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        _admin: AdminAuth,
        /// 1–200, default 50.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<NeverLogList>, { on::ADMIN | on::QUERY }> {
        let (entries, next_cursor) = paging::page_by_id(
            List::NeverLog,
            state.trust.never_log_entries().await?,
            |e| e.id,
            limit.0,
            cursor.0.as_deref(),
        )?;
        Ok(Json(NeverLogList {
            items: entries.into_iter().map(entry).collect(),
            next_cursor,
        }))
    }

    /// Adds an address or domain: the content already stored for its mail
    /// is erased, its links and pending proposals removed (approved
    /// activities stay unless `purge_activities`), and its future mail is
    /// kept as metadata only. The fund's own addresses are refused with 409:
    /// a captured mailbox, an address or domain at an internal domain
    /// (`CRM_INTERNAL_DOMAINS`, or a subdomain), or a domain covering either.
    #[oai(
        path = "/api/admin/never-log",
        method = "post",
        operation_id = "addNeverLog"
    )]
    async fn add(
        &self,
        state: Data<&AppState>,
        _admin: AdminAuth,
        body: Json<NewNeverLogEntry>,
    ) -> ApiResult<NeverLogCreated, { on::ADMIN | on::JSON_BODY | on::CONFLICT | on::UNPROCESSABLE }>
    {
        // The parser's error quotes the value; the answer names the field only.
        let target = NeverLogTarget::parse(&body.0.value).map_err(|_| {
            ApiError::unprocessable(
                ErrorCode::Invalid,
                "value is neither an email address nor a domain",
            )
        })?;
        let (added, outcome) = add_never_log(
            state.trust.as_ref(),
            &target,
            body.0.purge_activities,
            &state.internal_domains,
            state.clock.now(),
        )
        .await
        .map_err(|e| match e {
            // The refusal depends on the service's state (its mailboxes and
            // internal domains), not on the request alone: a conflict.
            NeverLogError::Refused(reason) => ApiError::conflict(reason),
            NeverLogError::Store(e) => e.into(),
        })?;
        tracing::info!(
            entry = added.id,
            emails = outcome.emails_purged,
            proposals = outcome.proposals_removed,
            activities = outcome.activities_removed,
            "never-log entry added"
        );
        Ok(NeverLogCreated::Created(Json(NeverLogAdded {
            entry: entry(added),
            purged: purged(outcome),
        })))
    }

    /// Removes an entry: its mail can match again, and a re-match starts
    /// (see `listJobs`) so mail stored meanwhile as metadata only is matched
    /// and its content fetched.
    #[oai(
        path = "/api/admin/never-log/:id",
        method = "delete",
        operation_id = "removeNeverLog"
    )]
    async fn remove(
        &self,
        state: Data<&AppState>,
        _admin: AdminAuth,
        id: Path<i64>,
    ) -> ApiResult<Json<NeverLogRemoved>, { on::ADMIN | on::PATH_ID }> {
        let (removed, job) =
            remove_never_log(state.trust.as_ref(), id.0, state.clock.now()).await?;
        tracing::info!(
            entry = removed.id,
            "never-log entry removed; re-match requested"
        );
        Ok(Json(NeverLogRemoved {
            entry: entry(removed),
            rematch: job_body(job, &state),
        }))
    }
}
