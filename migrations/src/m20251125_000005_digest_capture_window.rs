//! The digest windows on capture time (not send time), so the sightings'
//! `captured_at` needs an index.

use sea_orm_migration::prelude::*;

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The digest selects sightings captured in (since, until].
        manager
            .create_index(index("email_account_messages", &["captured_at"], false))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut drop = Index::drop();
        drop.name("ix_email_account_messages_captured_at")
            .table("email_account_messages");
        manager.drop_index(drop).await
    }
}
