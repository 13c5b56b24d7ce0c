//! The completeness audit's last figure per mailbox.
//!
//! Decisions:
//! - One row per mailbox, overwritten by each audit: the list shows the
//!   latest figure, and the history is in the log.
//! - The mailbox is the key and a foreign key, so a figure never outlives
//!   the mailbox it describes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE mailbox_audits (\
                 account_id BIGINT NOT NULL PRIMARY KEY REFERENCES email_accounts (id), \
                 in_gmail BIGINT NOT NULL, \
                 captured BIGINT NOT NULL, \
                 at TEXT NOT NULL)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS mailbox_audits")
            .await?;
        Ok(())
    }
}
