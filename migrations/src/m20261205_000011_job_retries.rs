//! Re-match steps that fail: a persisted backoff and a bounded number of
//! attempts per email, after which the email is skipped and recorded.
//!
//! Decisions:
//! - `attempts` counts the failed steps in a row at `failing_email_id` (NULL
//!   when the step failed before reaching an email); `retry_at` is when the
//!   next step may take the lease. Both live on the job row, so every
//!   replica respects them and a restart does not reset them.
//! - `skipped` is a progress counter like `scanned`; `job_skipped_emails`
//!   keeps which emails the run gave up on and why (redacted), one row per
//!   (job kind, email), emptied when the job is requested again.
//! - Plain SQL both databases accept: BIGINT and TEXT only.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "ALTER TABLE jobs ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE jobs ADD COLUMN failing_email_id BIGINT NULL",
    "ALTER TABLE jobs ADD COLUMN retry_at TEXT NULL",
    "ALTER TABLE jobs ADD COLUMN skipped BIGINT NOT NULL DEFAULT 0",
    "CREATE TABLE job_skipped_emails (\
         kind TEXT NOT NULL, \
         email_id BIGINT NOT NULL, \
         error TEXT NOT NULL, \
         skipped_at TEXT NOT NULL, \
         PRIMARY KEY (kind, email_id))",
];

const DOWN: &[&str] = &[
    "DROP TABLE IF EXISTS job_skipped_emails",
    "ALTER TABLE jobs DROP COLUMN skipped",
    "ALTER TABLE jobs DROP COLUMN retry_at",
    "ALTER TABLE jobs DROP COLUMN failing_email_id",
    "ALTER TABLE jobs DROP COLUMN attempts",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in UP {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in DOWN {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
