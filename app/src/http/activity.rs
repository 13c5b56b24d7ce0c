//! The admin's email-activity search (SPEC §6 Email activity): matched-only,
//! live-only, newest first, keyset-paginated.

use mailroom_ports::records::{ActivityCursor, ActivityItem, ActivityQuery, Direction};
use mailroom_ports::{AccountId, EmailId, InvestorId};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

use crate::http::auth::BearerAuth;
use crate::http::error::ApiError;
use crate::http::types::ApiTimestamp;
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
pub struct ActivityEntry {
    pub email_id: i64,
    pub subject: Option<String>,
    pub snippet: Option<String>,
    pub from_email: Option<String>,
    pub from_name: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub sent_at: ApiTimestamp,
    /// `inbound` or `outbound`, decided at the email level.
    pub direction: String,
    pub investors: Vec<InvestorSummary>,
    pub mailboxes: Vec<MailboxSummary>,
}

#[derive(Debug, Object)]
pub struct ActivityResponse {
    pub items: Vec<ActivityEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Object)]
pub struct InvestorOption {
    pub id: i64,
    pub name: String,
}

const MAX_LIMIT: u32 = 200;

/// The longest free-text search accepted; longer is refused with 422.
const MAX_Q_CHARS: usize = 500;

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

fn encode_cursor(c: ActivityCursor) -> String {
    format!("{}.{}", c.sent_at.as_microsecond(), c.email_id.0)
}

fn decode_cursor(s: &str) -> Result<ActivityCursor, ApiError> {
    let bad = || ApiError::bad_request("cursor is not one this API returned");
    let (micros, id) = s.split_once('.').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let id: i64 = id.parse().map_err(|_| bad())?;
    let sent_at = jiff::Timestamp::from_microsecond(micros).map_err(|_| bad())?;
    Ok(ActivityCursor {
        sent_at,
        email_id: EmailId(id),
    })
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
        direction: item.direction.as_str().into(),
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
    #[oai(path = "/api/email/activity", method = "get")]
    async fn activity(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        investor_id: Query<Option<i64>>,
        account_id: Query<Option<i64>>,
        /// `inbound` or `outbound`.
        direction: Query<Option<String>>,
        /// Free text over subject, snippet and sender.
        q: Query<Option<String>>,
        /// 1–200, default 50.
        limit: Query<Option<u32>>,
        cursor: Query<Option<String>>,
        /// Only email sent at or after this time (RFC 3339).
        since: Query<Option<ApiTimestamp>>,
        /// Only email sent before this time (RFC 3339).
        until: Query<Option<ApiTimestamp>>,
    ) -> Result<Json<ActivityResponse>, ApiError> {
        auth.admin()?;
        let limit = limit.0.unwrap_or(50);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ApiError::bad_request(format!(
                "limit must be from 1 to {MAX_LIMIT}"
            )));
        }
        if q.0
            .as_ref()
            .is_some_and(|q| q.chars().count() > MAX_Q_CHARS)
        {
            return Err(ApiError::unprocessable(
                "invalid",
                format!("q may be at most {MAX_Q_CHARS} characters"),
            ));
        }
        let query = ActivityQuery {
            investor_id: investor_id.0.map(InvestorId),
            account_id: account_id.0.map(AccountId),
            direction: direction.0.as_deref().map(parse_direction).transpose()?,
            q: q.0.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
            limit,
            cursor: cursor.0.as_deref().map(decode_cursor).transpose()?,
            since: since.0.map(|t| t.0),
            until: until.0.map(|t| t.0),
        };
        if matches!((query.since, query.until), (Some(s), Some(u)) if s >= u) {
            return Err(ApiError::bad_request("since must be before until"));
        }
        let page = state.store.query_activity(query).await?;
        Ok(Json(ActivityResponse {
            items: page.items.into_iter().map(entry).collect(),
            next_cursor: page.next_cursor.map(encode_cursor),
        }))
    }

    /// Investors for the filter dropdown (graveyard and deleted ones hidden).
    #[oai(path = "/api/email/activity/investors", method = "get")]
    async fn investors(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<Vec<InvestorOption>>, ApiError> {
        auth.admin()?;
        let list = state.store.dropdown_investors().await?;
        Ok(Json(
            list.into_iter()
                .map(|i| InvestorOption {
                    id: i.id.0,
                    name: i.name,
                })
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_the_round_trip_and_garbage_is_refused() {
        let c = ActivityCursor {
            sent_at: "2026-11-24T10:00:00.123456Z".parse().unwrap(),
            email_id: EmailId(42),
        };
        assert_eq!(decode_cursor(&encode_cursor(c)).unwrap(), c);
        assert!(decode_cursor("abc").is_err());
        assert!(decode_cursor("1.x").is_err());
    }
}
