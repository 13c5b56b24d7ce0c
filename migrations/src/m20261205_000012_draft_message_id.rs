//! A draft's Gmail message id, kept with the draft so every listed draft
//! can link to itself: Gmail's web UI opens a draft by its message's id,
//! not by the draft id. Drafts recorded before this migration have none
//! (NULL) and link to their thread instead.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE drafts ADD COLUMN gmail_message_id TEXT NULL")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE drafts DROP COLUMN gmail_message_id")
            .await?;
        Ok(())
    }
}
