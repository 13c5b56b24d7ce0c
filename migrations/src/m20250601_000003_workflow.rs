//! The human workflow on captured mail: proposals, the activities approval
//! creates, and the audit of reply drafts.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::{drop_tables, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One proposal per (email, investor) (R-CAP-7). `activity_id` is a
        // plain column, not a foreign key: activities already point back via
        // their unique proposal_id, and a cycle of foreign keys would make
        // inserts order-dependent.
        manager
            .create_table(
                Table::create()
                    .table("activity_proposals")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("email_id"))
                    .col(big_integer("investor_id"))
                    .col(big_integer_null("contact_id"))
                    // 'pending' | 'approved' | 'rejected'; decisions are a
                    // compare-and-set on 'pending'.
                    .col(text("status").default("pending"))
                    .col(big_integer_null("decided_by"))
                    .col(text_null("decided_at"))
                    .col(big_integer_null("activity_id"))
                    .col(text("created_at"))
                    .foreign_key(&mut fk("activity_proposals", "email_id", "emails"))
                    .foreign_key(&mut fk("activity_proposals", "investor_id", "investors"))
                    .foreign_key(&mut fk("activity_proposals", "contact_id", "contacts"))
                    .foreign_key(&mut fk("activity_proposals", "decided_by", "users"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "activity_proposals",
                &["email_id", "investor_id"],
                true,
            ))
            .await?;
        manager
            .create_index(index("activity_proposals", &["status"], false))
            .await?;

        // What lands on the investor/contact record. The unique proposal_id
        // makes "approve creates exactly one activity" a database fact.
        manager
            .create_table(
                Table::create()
                    .table("activities")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer_uniq("proposal_id"))
                    .col(big_integer("email_id"))
                    .col(big_integer("investor_id"))
                    .col(big_integer_null("contact_id"))
                    .col(big_integer("created_by"))
                    .col(text("created_at"))
                    .foreign_key(&mut fk("activities", "proposal_id", "activity_proposals"))
                    .foreign_key(&mut fk("activities", "email_id", "emails"))
                    .foreign_key(&mut fk("activities", "investor_id", "investors"))
                    .foreign_key(&mut fk("activities", "contact_id", "contacts"))
                    .foreign_key(&mut fk("activities", "created_by", "users"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index("activities", &["investor_id"], false))
            .await?;

        // An audit row per Gmail draft created; mailroom never sends them.
        manager
            .create_table(
                Table::create()
                    .table("drafts")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("email_id"))
                    .col(big_integer("account_id"))
                    .col(big_integer("created_by"))
                    .col(text("gmail_draft_id"))
                    .col(text("to_json"))
                    .col(text("cc_json"))
                    .col(text("subject"))
                    .col(text("created_at"))
                    .foreign_key(&mut fk("drafts", "email_id", "emails"))
                    .foreign_key(&mut fk("drafts", "account_id", "email_accounts"))
                    .foreign_key(&mut fk("drafts", "created_by", "users"))
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["drafts", "activities", "activity_proposals"]).await
    }
}
