//! The completeness audit of a mailbox (docs/requirements.md R-TRUST-3):
//! Gmail's messages in the backfill window against the captured sightings,
//! and a repair.

use mailroom_domain::trust::audit::{AuditError, AuditReport, RepairOutcome};
use mailroom_ports::AccountId;
use mailroom_ports::gmail::{GmailError, TokenError};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

use crate::http::auth::AdminAuth;
use crate::http::error::{ApiError, ApiResult, DisplayChain, ErrorCode, on};
use crate::http::types::ApiTimestamp;
use crate::state::AppState;

/// Examples listed per finding.
pub(crate) const EXAMPLES: usize = 10;

#[derive(Tags)]
enum Tag {
    /// Whether a mailbox was captured completely.
    Audit,
}

pub struct AuditApi;

/// How many, and the first few Gmail message ids.
#[derive(Debug, Object)]
pub struct AuditFinding {
    pub count: u64,
    pub examples: Vec<String>,
}

/// A message that failed to parse, with its recorded (redacted) error.
#[derive(Debug, Object)]
pub struct AuditFailure {
    pub gmail_message_id: String,
    pub error: String,
}

#[derive(Debug, Object)]
pub struct AuditFailures {
    pub count: u64,
    pub examples: Vec<AuditFailure>,
}

/// What a repair changed.
#[derive(Debug, Object)]
pub struct AuditRepair {
    /// Missing messages now captured.
    pub captured: u64,
    /// Matched mail whose content was fetched and stored.
    pub refetched: u64,
    /// Sightings Gmail no longer has, soft-deleted.
    pub soft_deleted: u64,
    /// Messages that failed to parse again.
    pub unparsable: u64,
}

/// The audit of one mailbox.
#[derive(Debug, Object)]
pub struct MailboxAudit {
    pub account_id: i64,
    /// Messages Gmail lists in the backfill window.
    pub in_gmail: u64,
    /// Of those, captured when the audit ended.
    pub captured: u64,
    /// `captured / in_gmail` in percent, rounded down to a tenth (100 only
    /// when nothing is missing, and when Gmail lists nothing).
    pub complete_percent: f64,
    /// `complete 100.0% (12,345 / 12,345) at <time>`.
    pub summary: String,
    /// In Gmail, not captured.
    pub missing: AuditFinding,
    /// Captured, no longer in Gmail, not soft-deleted.
    pub extra: AuditFinding,
    /// Failed to parse.
    pub failed: AuditFailures,
    /// Matched, but stored without its content.
    pub content_missing: AuditFinding,
    /// `null` unless this was a repair.
    #[oai(nullable)]
    pub repair: Option<AuditRepair>,
    pub at: ApiTimestamp,
}

fn finding(ids: &[String]) -> AuditFinding {
    AuditFinding {
        count: ids.len() as u64,
        examples: ids.iter().take(EXAMPLES).cloned().collect(),
    }
}

/// `12345` as `12,345`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A figure's percentage and the mailbox list's line for it. The
/// percentage is rounded down to a tenth, so it is 100.0 only when nothing
/// is missing (12,344 of 12,345 is 99.9, never a rounded-up 100.0); the
/// time is to the second.
pub fn summary(in_gmail: u64, captured: u64, at: jiff::Timestamp) -> (f64, String) {
    let percent = if captured >= in_gmail {
        100.0
    } else {
        // Tenths of a percent, rounded down, in integers (no float edge).
        (u128::from(captured) * 1000 / u128::from(in_gmail)) as f64 / 10.0
    };
    let at = jiff::Timestamp::from_second(at.as_second()).unwrap_or(at);
    let text = format!(
        "complete {percent:.1}% ({} / {}) at {at}",
        thousands(captured),
        thousands(in_gmail)
    );
    (percent, text)
}

fn body(r: AuditReport) -> MailboxAudit {
    let (complete_percent, summary) = summary(r.in_gmail, r.captured, r.at);
    MailboxAudit {
        account_id: r.account_id.0,
        in_gmail: r.in_gmail,
        captured: r.captured,
        complete_percent,
        summary,
        missing: finding(&r.missing),
        extra: finding(&r.extra),
        failed: AuditFailures {
            count: r.failed.len() as u64,
            examples: r
                .failed
                .iter()
                .take(EXAMPLES)
                .map(|f| AuditFailure {
                    gmail_message_id: f.gmail_message_id.clone(),
                    error: f.error.clone(),
                })
                .collect(),
        },
        content_missing: finding(&r.content_missing),
        repair: r.repair.map(|o: RepairOutcome| AuditRepair {
            captured: o.captured,
            refetched: o.refetched,
            soft_deleted: o.soft_deleted,
            unparsable: o.unparsable,
        }),
        at: r.at.into(),
    }
}

impl From<AuditError> for ApiError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::NotFound => ApiError::not_found("mailbox not found"),
            // As for a sync: the stored address is wrong, not Google.
            AuditError::Gmail(GmailError::Auth(TokenError::UnknownUser(_))) => {
                ApiError::conflict_with(
                    ErrorCode::GmailFailed,
                    "Google Workspace has no user with this mailbox's address; check the address",
                )
            }
            AuditError::Gmail(cause) => {
                tracing::error!(error = %DisplayChain(&cause), "audit failed");
                ApiError::bad_gateway(ErrorCode::GmailFailed, "Gmail failed; see the server log")
            }
            AuditError::Store(s) => ApiError::from(s),
        }
    }
}

async fn run(state: &AppState, id: i64, repair: bool) -> Result<MailboxAudit, ApiError> {
    let Some(audit) = state.audit.clone() else {
        return Err(ApiError::unavailable(
            ErrorCode::NotConfigured,
            "Gmail is not configured",
        ));
    };
    Ok(body(audit.audit(AccountId(id), repair).await?))
}

#[OpenApi(tag = "Tag::Audit")]
impl AuditApi {
    /// Audits a mailbox against Gmail (the backfill window) and records its
    /// figure; changes nothing else.
    #[oai(
        path = "/api/email/accounts/:id/audit",
        method = "get",
        operation_id = "auditEmailAccount"
    )]
    async fn audit(
        &self,
        state: Data<&AppState>,
        _admin: AdminAuth,
        id: Path<i64>,
    ) -> ApiResult<Json<MailboxAudit>, { on::ADMIN | on::PATH_ID | on::CONFLICT | on::BAD_GATEWAY }>
    {
        Ok(Json(run(&state, id.0, false).await?))
    }

    /// Audits a mailbox and repairs it: captures the missing, fetches the
    /// missing content of matched mail, soft-deletes the extra.
    #[oai(
        path = "/api/email/accounts/:id/audit/repair",
        method = "post",
        operation_id = "repairEmailAccount"
    )]
    async fn repair(
        &self,
        state: Data<&AppState>,
        _admin: AdminAuth,
        id: Path<i64>,
    ) -> ApiResult<Json<MailboxAudit>, { on::ADMIN | on::PATH_ID | on::CONFLICT | on::BAD_GATEWAY }>
    {
        Ok(Json(run(&state, id.0, true).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_reads_like_the_mailbox_list() {
        let at: jiff::Timestamp = "2026-12-01T06:00:00Z".parse().unwrap();
        let (p, s) = summary(12_345, 12_345, at);
        assert_eq!(p, 100.0);
        assert_eq!(
            s,
            "complete 100.0% (12,345 / 12,345) at 2026-12-01T06:00:00Z"
        );
        assert_eq!(
            summary(3, 2, at).1,
            "complete 66.6% (2 / 3) at 2026-12-01T06:00:00Z"
        );
        // One message missing never reads as complete.
        let (p, s) = summary(12_345, 12_344, at);
        assert_eq!(p, 99.9);
        assert_eq!(
            s,
            "complete 99.9% (12,344 / 12,345) at 2026-12-01T06:00:00Z"
        );
        let (_, s) = summary(1_000_000, 999_999, at);
        assert!(s.starts_with("complete 99.9% "), "{s}");
        // The time is shown to the second.
        let later: jiff::Timestamp = "2026-12-01T06:00:05.123456Z".parse().unwrap();
        assert!(summary(1, 1, later).1.ends_with(" at 2026-12-01T06:00:05Z"));
        assert_eq!(summary(0, 0, at).0, 100.0);
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
    }
}
