//! Settings and the daily digest's bookkeeping.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::drop_tables;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Key/value settings (digest_policy, digest_last_sent_at,
        // digest_last_sent_date); the value is JSON text.
        manager
            .create_table(
                Table::create()
                    .table("app_settings")
                    .if_not_exists()
                    .col(text("key").primary_key())
                    .col(text("value"))
                    .take(),
            )
            .await?;

        // One row per local day: replicas race to INSERT it or to take over
        // an expired lease with a conditional UPDATE, so exactly one sends.
        // `holder` is NULL while a failed day waits for its retry time.
        manager
            .create_table(
                Table::create()
                    .table("digest_claims")
                    .if_not_exists()
                    .col(text("day").primary_key())
                    .col(text_null("holder"))
                    .col(text("expires_at"))
                    .col(integer("attempts").default(0))
                    .col(boolean("completed").default(false))
                    .take(),
            )
            .await?;

        // A log of every digest send attempt; the error is a short kind,
        // never upstream text.
        manager
            .create_table(
                Table::create()
                    .table("digest_sends")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(text("trigger_kind"))
                    .col(text("window_since"))
                    .col(text("window_until"))
                    .col(text_null("transport"))
                    .col(integer("recipients"))
                    .col(text_null("error_kind"))
                    .col(text("at"))
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["digest_sends", "digest_claims", "app_settings"]).await
    }
}
