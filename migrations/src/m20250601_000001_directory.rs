//! The directory mailroom mirrors from the CRM: users, investors, contacts.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::{drop_tables, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Users are upserted by email (the JWT subject), so the id is ours and
        // the email is the natural key.
        manager
            .create_table(
                Table::create()
                    .table("users")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(text_uniq("email"))
                    .col(text("display_name"))
                    // 'admin' | 'member'; checked by the adapter's enum, not a
                    // CHECK constraint, so a new role needs no table rebuild on SQLite.
                    .col(text("role"))
                    .col(boolean("is_active").default(true))
                    .take(),
            )
            .await?;

        // Investor and contact ids are the CRM's: plain primary keys, no
        // sequence. `deleted_at` soft-deletes; `graveyard` only hides the
        // investor from the activity dropdown.
        manager
            .create_table(
                Table::create()
                    .table("investors")
                    .if_not_exists()
                    .col(big_integer("id").primary_key())
                    .col(text("name"))
                    .col(boolean("graveyard").default(false))
                    .col(text_null("deleted_at"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("investor_domains")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("investor_id"))
                    .col(text("domain"))
                    .foreign_key(&mut fk("investor_domains", "investor_id", "investors"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index("investor_domains", &["investor_id", "domain"], true))
            .await?;
        // The matcher looks investors up by domain.
        manager
            .create_index(index("investor_domains", &["domain"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("contacts")
                    .if_not_exists()
                    .col(big_integer("id").primary_key())
                    .col(big_integer("investor_id"))
                    .col(text("name"))
                    .col(text_null("deleted_at"))
                    .foreign_key(&mut fk("contacts", "investor_id", "investors"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index("contacts", &["investor_id"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("contact_emails")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("contact_id"))
                    .col(text("email"))
                    .foreign_key(&mut fk("contact_emails", "contact_id", "contacts"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index("contact_emails", &["contact_id", "email"], true))
            .await?;
        manager
            .create_index(index("contact_emails", &["email"], false))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &[
                "contact_emails",
                "contacts",
                "investor_domains",
                "investors",
                "users",
            ],
        )
        .await
    }
}
