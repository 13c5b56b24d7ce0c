//! Background jobs (docs/requirements.md R-TRUST-2): the re-match after the
//! directory widened or a never-log entry was removed, with its progress.

use mailroom_ports::trust::{Job, JobKind, JobState};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi, Tags};

use crate::http::auth::AdminAuth;
use crate::http::error::{ApiResult, on};
use crate::http::paging::{self, List};
use crate::http::types::ApiTimestamp;
use crate::state::AppState;

#[derive(Tags)]
enum Tag {
    /// Background jobs and their progress.
    Jobs,
}

pub struct JobsApi;

/// Which job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum JobKindBody {
    /// Re-match stored mail against the directory.
    Rematch,
}

/// `pending` (requested, or interrupted and waiting to resume), `running`
/// (a replica holds it), `done`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum JobStateBody {
    Pending,
    Running,
    Done,
}

/// One background job and how far its current run has got.
#[derive(Debug, Object)]
pub struct JobBody {
    pub kind: JobKindBody,
    pub state: JobStateBody,
    /// Emails in the run's scan (counted when it starts).
    pub total: u64,
    /// Emails looked at so far.
    pub scanned: u64,
    /// Emails that gained at least one link.
    pub matched: u64,
    /// Messages downloaded again from Gmail for their content.
    pub fetched: u64,
    /// Pending proposals created.
    pub proposals: u64,
    /// Emails given up on: each failed every allowed attempt (see
    /// `skipped_emails`); the run went on without them.
    pub skipped: u64,
    /// The first skipped emails (at most ten, by id), each with its last
    /// error (redacted).
    pub skipped_emails: Vec<SkippedEmailBody>,
    /// Failed steps in a row at the same place (0 after a step succeeded);
    /// at the configured limit the email is skipped.
    pub attempts: u32,
    /// After a failed step, when the next one may run (the backoff doubles
    /// with each failure in a row); `null` otherwise.
    #[oai(nullable)]
    pub retry_at: Option<ApiTimestamp>,
    pub requested_at: ApiTimestamp,
    /// `null` until the run is done.
    #[oai(nullable)]
    pub finished_at: Option<ApiTimestamp>,
    /// The last step's error, redacted; `null` when the last step succeeded.
    #[oai(nullable)]
    pub last_error: Option<String>,
    /// What this setup leaves out of the job, e.g. metadata-only mail when
    /// Gmail is not configured to fetch its content; `null` when nothing.
    #[oai(nullable)]
    pub limitation: Option<String>,
}

/// A page of jobs.
#[derive(Debug, Object)]
pub struct JobList {
    pub items: Vec<JobBody>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// A job kind's place in the list (jobs have one row per kind, no id).
fn kind_position(kind: JobKind) -> i64 {
    match kind {
        JobKind::Rematch => 1,
    }
}

/// An email a job run gave up on.
#[derive(Debug, Object)]
pub struct SkippedEmailBody {
    pub email_id: i64,
    /// Its last attempt's error, redacted.
    pub error: String,
    pub skipped_at: ApiTimestamp,
}

/// Why a re-match cannot complete everything here, if it cannot.
fn limitation(state: &AppState) -> Option<String> {
    let fetches = state.rematch.as_ref().is_some_and(|r| r.fetches_content());
    (!fetches).then(|| {
        "Gmail is not configured: mail whose content is stored is linked; metadata-only mail \
         stays unlinked until it is imported again or Gmail is configured"
            .to_string()
    })
}

pub(crate) fn job_body(job: Job, state: &AppState) -> JobBody {
    JobBody {
        limitation: match job.kind {
            JobKind::Rematch => limitation(state),
        },
        kind: match job.kind {
            JobKind::Rematch => JobKindBody::Rematch,
        },
        state: match job.state {
            JobState::Pending => JobStateBody::Pending,
            JobState::Running => JobStateBody::Running,
            JobState::Done => JobStateBody::Done,
        },
        total: job.total,
        scanned: job.progress.scanned,
        matched: job.progress.matched,
        fetched: job.progress.fetched,
        proposals: job.progress.proposals,
        skipped: job.progress.skipped,
        skipped_emails: job
            .skipped_emails
            .into_iter()
            .map(|s| SkippedEmailBody {
                email_id: s.email_id.0,
                error: s.error,
                skipped_at: s.at.into(),
            })
            .collect(),
        attempts: job.attempts,
        retry_at: job.retry_at.map(Into::into),
        requested_at: job.requested_at.into(),
        finished_at: job.finished_at.map(Into::into),
        last_error: job.last_error,
    }
}

#[OpenApi(tag = "Tag::Jobs")]
impl JobsApi {
    /// Every background job that was ever requested, with its progress
    /// (one per kind: a new request restarts the kind's run).
    #[oai(path = "/api/admin/jobs", method = "get", operation_id = "listJobs")]
    async fn list(
        &self,
        state: Data<&AppState>,
        _admin: AdminAuth,
        /// 1–200, default 50.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<JobList>, { on::ADMIN | on::QUERY }> {
        let (jobs, next_cursor) = paging::page_by_id(
            List::Jobs,
            state.trust.list_jobs().await?,
            |job| kind_position(job.kind),
            limit.0,
            cursor.0.as_deref(),
        )?;
        Ok(Json(JobList {
            items: jobs.into_iter().map(|job| job_body(job, &state)).collect(),
            next_cursor,
        }))
    }
}
