//! Propose → approve (docs/requirements.md HTTP API, R-CAP-7): the mailbox owner or an
//! admin decides; nothing lands on an investor record before that.

use mailroom_domain::proposals::ProposalError;
use mailroom_ports::ProposalId;
use mailroom_ports::records::{Decision, Proposal};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

use crate::http::auth::BearerAuth;
use crate::http::error::{ApiError, ApiResult, on};
use crate::http::paging::{self, List};
use crate::http::types::ApiTimestamp;
use crate::http::wire;
use crate::state::AppState;

#[derive(Tags)]
enum Tag {
    /// Activity proposals awaiting a human decision.
    Proposals,
}

pub struct ProposalsApi;

#[derive(Debug, Object)]
#[oai(example)]
pub struct ProposalEntry {
    pub id: i64,
    pub email_id: i64,
    pub investor_id: i64,
    #[oai(nullable)]
    pub investor_name: Option<String>,
    #[oai(nullable)]
    pub contact_id: Option<i64>,
    #[oai(nullable)]
    pub subject: Option<String>,
    #[oai(nullable)]
    pub from_email: Option<String>,
    pub sent_at: ApiTimestamp,
    pub direction: wire::Direction,
    pub status: wire::ProposalStatus,
    /// The activity an approval created; `null` until approved.
    #[oai(nullable)]
    pub activity_id: Option<i64>,
    /// Who approved or rejected it; `null` while pending.
    #[oai(nullable)]
    pub decided_by: Option<String>,
    /// When it was decided; `null` while pending.
    #[oai(nullable)]
    pub decided_at: Option<ApiTimestamp>,
}

/// A page of proposals, newest first.
#[derive(Debug, Object)]
pub struct ProposalList {
    pub items: Vec<ProposalEntry>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// A decided proposal, and the activity an approval created.
#[derive(Debug, Object)]
#[oai(example)]
pub struct DecisionResponse {
    pub id: i64,
    pub status: wire::ProposalStatus,
    /// The activity an approval created (the same one on a repeat); `null`
    /// for a rejection.
    #[oai(nullable)]
    pub activity_id: Option<i64>,
}

fn entry(p: Proposal) -> ProposalEntry {
    ProposalEntry {
        id: p.id.0,
        email_id: p.email_id.0,
        investor_id: p.investor_id.0,
        investor_name: p.investor_name,
        contact_id: p.contact_id.map(|c| c.0),
        subject: p.subject,
        from_email: p.from_email.map(|a| a.to_string()),
        sent_at: p.sent_at.into(),
        direction: p.direction.into(),
        status: p.status.into(),
        activity_id: p.activity_id.map(|a| a.0),
        decided_by: p.decided_by_email.map(|a| a.to_string()),
        decided_at: p.decided_at.map(Into::into),
    }
}

impl From<ProposalError> for ApiError {
    fn from(e: ProposalError) -> Self {
        match e {
            ProposalError::NotFound => ApiError::not_found("proposal not found"),
            ProposalError::Forbidden => ApiError::forbidden(
                "only the mailbox owner or an admin may decide on this proposal",
            ),
            ProposalError::Conflict(m) => ApiError::conflict(m),
            ProposalError::Store(s) => ApiError::from(s),
        }
    }
}

impl ProposalsApi {
    async fn decide(
        &self,
        state: &AppState,
        auth: BearerAuth,
        id: i64,
        decision: Decision,
    ) -> Result<Json<DecisionResponse>, ApiError> {
        let p = state
            .proposals
            .decide(&auth.0, ProposalId(id), decision)
            .await?;
        Ok(Json(DecisionResponse {
            id: p.id.0,
            status: p.status.into(),
            activity_id: p.activity_id.map(|a| a.0),
        }))
    }
}

#[OpenApi(tag = "Tag::Proposals")]
impl ProposalsApi {
    /// Proposals on email in the caller's mailboxes (all of them for an admin).
    #[oai(
        path = "/api/email/proposals",
        method = "get",
        operation_id = "listProposals"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        status: Query<Option<wire::ProposalStatus>>,
        /// 1–200, default 50.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<ProposalList>, { on::AUTHED | on::QUERY }> {
        let status = status.0.map(Into::into);
        let page = paging::page_request(List::Proposals, limit.0, cursor.0.as_deref())?;
        let page = state.proposals.page(&auth.0, status, page).await?;
        Ok(Json(ProposalList {
            items: page.items.into_iter().map(entry).collect(),
            next_cursor: paging::next_cursor(List::Proposals, page.next),
        }))
    }

    /// Approves: creates the activity exactly once (a repeat answers the same).
    #[oai(
        path = "/api/email/proposals/:id/approve",
        method = "post",
        operation_id = "approveProposal"
    )]
    async fn approve(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> ApiResult<Json<DecisionResponse>, { on::AUTHED | on::PATH_ID | on::CONFLICT }> {
        Ok(self.decide(state.0, auth, id.0, Decision::Approve).await?)
    }

    /// Rejects: nothing is recorded on the investor.
    #[oai(
        path = "/api/email/proposals/:id/reject",
        method = "post",
        operation_id = "rejectProposal"
    )]
    async fn reject(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> ApiResult<Json<DecisionResponse>, { on::AUTHED | on::PATH_ID | on::CONFLICT }> {
        Ok(self.decide(state.0, auth, id.0, Decision::Reject).await?)
    }
}
