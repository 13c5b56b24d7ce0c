//! The admin's email-activity search (docs/requirements.md HTTP API): matched-only,
//! live-only, newest first, keyset-paginated.

use mailroom_ports::reads::Keyset;
use mailroom_ports::records::{ActivityCursor, ActivityItem, ActivityQuery, Direction};
use mailroom_ports::{AccountId, EmailId, InvestorId, StoreError};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

use crate::http::auth::BearerAuth;
use crate::http::error::{ApiError, ApiResult, on};
use crate::http::paging::{self, List};
use crate::http::types::ApiTimestamp;
use crate::http::views::EmailActivityDetail;
use crate::http::wire;
use crate::state::AppState;

#[derive(Tags)]
enum Tag {
    /// Captured email linked to investors.
    Activity,
}

pub struct ActivityApi;

#[derive(Debug, Object)]
pub struct InvestorSummary {
    pub id: i64,
    pub name: String,
    pub graveyard: bool,
}

#[derive(Debug, Object)]
pub struct MailboxSummary {
    pub account_id: i64,
    pub email_address: String,
    pub is_sent: bool,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ActivityEntry {
    pub email_id: i64,
    #[oai(nullable)]
    pub subject: Option<String>,
    #[oai(nullable)]
    pub snippet: Option<String>,
    #[oai(nullable)]
    pub from_email: Option<String>,
    #[oai(nullable)]
    pub from_name: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub sent_at: ApiTimestamp,
    /// Decided at the email level.
    pub direction: wire::Direction,
    pub investors: Vec<InvestorSummary>,
    pub mailboxes: Vec<MailboxSummary>,
}

/// A page of investor-linked email, newest first.
#[derive(Debug, Object)]
pub struct ActivityResponse {
    pub items: Vec<ActivityEntry>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// An investor the activity list can be filtered by.
#[derive(Debug, Object)]
pub struct InvestorOption {
    pub id: i64,
    pub name: String,
}

/// A page of dropdown investors.
#[derive(Debug, Object)]
pub struct InvestorOptionList {
    pub items: Vec<InvestorOption>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// Parses `inbound` / `outbound`.
pub fn parse_direction(s: &str) -> Result<Direction, ApiError> {
    match s {
        "inbound" => Ok(Direction::Inbound),
        "outbound" => Ok(Direction::Outbound),
        _ => Err(ApiError::bad_request(
            "direction must be inbound or outbound",
        )),
    }
}

fn encode_cursor(c: ActivityCursor) -> Option<String> {
    paging::next_cursor(
        List::Activity,
        Some(Keyset {
            at: c.sent_at,
            id: c.email_id.0,
        }),
    )
}

fn decode_cursor(
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<(u32, Option<ActivityCursor>), ApiError> {
    let page = paging::page_request(List::Activity, limit, cursor)?;
    Ok((
        page.limit,
        page.after.map(|k| ActivityCursor {
            sent_at: k.at,
            email_id: EmailId(k.id),
        }),
    ))
}

fn entry(item: ActivityItem) -> ActivityEntry {
    ActivityEntry {
        email_id: item.email_id.0,
        subject: item.subject,
        snippet: item.snippet,
        from_email: item.from_email.map(|a| a.to_string()),
        from_name: item.from_name,
        to: item.to.iter().map(|a| a.to_string()).collect(),
        cc: item.cc.iter().map(|a| a.to_string()).collect(),
        sent_at: item.sent_at.into(),
        direction: item.direction.into(),
        investors: item
            .investors
            .into_iter()
            .map(|i| InvestorSummary {
                id: i.id.0,
                name: i.name,
                graveyard: i.graveyard,
            })
            .collect(),
        mailboxes: item
            .mailboxes
            .into_iter()
            .map(|m| MailboxSummary {
                account_id: m.account_id.0,
                email_address: m.email_address.to_string(),
                is_sent: m.is_sent,
            })
            .collect(),
    }
}

#[OpenApi(tag = "Tag::Activity")]
impl ActivityApi {
    /// Investor-linked, live email, newest first.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/api/email/activity",
        method = "get",
        operation_id = "listEmailActivity"
    )]
    async fn activity(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        investor_id: Query<Option<i64>>,
        account_id: Query<Option<i64>>,
        direction: Query<Option<wire::Direction>>,
        /// Free text over subject, snippet and sender: up to 16 words and
        /// 256 characters (longer is a 400; more words a 422).
        #[oai(validator(max_length = 256))]
        q: Query<Option<String>>,
        /// 1–200, default 50.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        cursor: Query<Option<String>>,
        /// Only email sent at or after this time (RFC 3339).
        since: Query<Option<ApiTimestamp>>,
        /// Only email sent before this time (RFC 3339).
        until: Query<Option<ApiTimestamp>>,
    ) -> ApiResult<Json<ActivityResponse>, { on::ADMIN | on::QUERY | on::UNPROCESSABLE }> {
        auth.admin()?;
        let (limit, cursor) = decode_cursor(limit.0, cursor.0.as_deref())?;
        let query = ActivityQuery {
            investor_id: investor_id.0.map(InvestorId),
            account_id: account_id.0.map(AccountId),
            direction: direction.0.map(Into::into),
            q: q.0.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
            limit,
            cursor,
            since: since.0.map(|t| t.0),
            until: until.0.map(|t| t.0),
        };
        // A window with `since` at or after `until` holds nothing: an empty
        // page, like any other filter that matches no email.
        let page = state.store.query_activity(query).await?;
        Ok(Json(ActivityResponse {
            items: page.items.into_iter().map(entry).collect(),
            next_cursor: page.next_cursor.and_then(encode_cursor),
        }))
    }

    /// Investors for the filter dropdown (graveyard and deleted ones hidden),
    /// in the order they were added: a dropdown reads every page and sorts
    /// by name.
    #[oai(
        path = "/api/email/activity/investors",
        method = "get",
        operation_id = "listActivityInvestors"
    )]
    async fn investors(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// 1–200, default 50.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<InvestorOptionList>, { on::ADMIN | on::QUERY }> {
        auth.admin()?;
        let (investors, next_cursor) = paging::page_by_id(
            List::Investors,
            state.store.dropdown_investors().await?,
            |i| i.id.0,
            limit.0,
            cursor.0.as_deref(),
        )?;
        Ok(Json(InvestorOptionList {
            items: investors
                .into_iter()
                .map(|i| InvestorOption {
                    id: i.id.0,
                    name: i.name,
                })
                .collect(),
            next_cursor,
        }))
    }

    /// One investor-linked, live email in full: headers, body, attachment
    /// names, investors and matched contacts, the mailboxes that hold it and
    /// its thread. Unmatched or deleted email is not found.
    #[oai(
        path = "/api/email/activity/:email_id",
        method = "get",
        operation_id = "getEmailActivity"
    )]
    async fn email(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        email_id: Path<i64>,
    ) -> ApiResult<Json<EmailActivityDetail>, { on::ADMIN | on::PATH_ID }> {
        auth.admin()?;
        let detail = state
            .store
            .email_detail(EmailId(email_id.0))
            .await
            .map_err(|e| match e {
                StoreError::NotFound(_) => ApiError::not_found("email not found"),
                other => other.into(),
            })?;
        Ok(Json(detail.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_activity_cursor_survives_the_round_trip_and_garbage_is_refused() {
        let c = ActivityCursor {
            sent_at: "2026-11-24T10:00:00.123456Z".parse().unwrap(),
            email_id: EmailId(42),
        };
        let encoded = encode_cursor(c).unwrap();
        assert_eq!(decode_cursor(None, Some(&encoded)).unwrap(), (50, Some(c)));
        assert!(decode_cursor(None, Some("abc")).is_err());
        assert!(decode_cursor(None, Some("1.x")).is_err());
    }
}
