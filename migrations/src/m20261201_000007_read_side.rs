//! The read side: what a draft's audit row needs to be listed, and indexes
//! for the keyset-paged logs and the thread of one email.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The Gmail thread a draft went into. Nullable: rows written before
        // this migration did not keep it (the list falls back to the thread
        // of the sighting the draft was made from). One column per ALTER,
        // because SQLite adds one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table("drafts")
                    .add_column(text_null("thread_id"))
                    .take(),
            )
            .await?;
        // Whether the draft answered everyone. Older rows were not told and
        // read as a reply to the sender only, the default of the API.
        manager
            .alter_table(
                Table::alter()
                    .table("drafts")
                    .add_column(boolean("reply_all").default(false))
                    .take(),
            )
            .await?;

        // Every log list walks newest first by (time, id).
        manager
            .create_index(index("digest_sends", &["at", "id"], false))
            .await?;
        manager
            .create_index(index("drafts", &["created_at", "id"], false))
            .await?;
        // A member's drafts are read by creator.
        manager
            .create_index(index("drafts", &["created_by", "created_at"], false))
            .await?;
        // Capture errors are listed per mailbox.
        manager
            .create_index(index("capture_errors", &["account_id", "at"], false))
            .await?;
        // The thread of an email: the other sightings of the same Gmail
        // thread in the same mailbox.
        manager
            .create_index(index(
                "email_account_messages",
                &["account_id", "gmail_thread_id"],
                false,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, name) in [
            (
                "email_account_messages",
                "ix_email_account_messages_account_id_gmail_thread_id",
            ),
            ("capture_errors", "ix_capture_errors_account_id_at"),
            ("drafts", "ix_drafts_created_by_created_at"),
            ("drafts", "ix_drafts_created_at_id"),
            ("digest_sends", "ix_digest_sends_at_id"),
        ] {
            let mut drop = Index::drop();
            drop.name(name).table(table);
            manager.drop_index(drop).await?;
        }
        for column in ["reply_all", "thread_id"] {
            manager
                .alter_table(Table::alter().table("drafts").drop_column(column).take())
                .await?;
        }
        Ok(())
    }
}
