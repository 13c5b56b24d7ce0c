//! Captured mail: mailboxes, one row per email, per-mailbox sightings,
//! email-level investor links, and per-message capture errors.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::{drop_tables, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One row per captured mailbox. Every address here is "ours": it
        // never matches an investor and decides email-level direction. The
        // lease columns let one replica sync a mailbox at a time.
        manager
            .create_table(
                Table::create()
                    .table("email_accounts")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("user_id"))
                    .col(text_uniq("email_address"))
                    .col(boolean("enabled").default(true))
                    .col(text_null("history_id"))
                    .col(text("sync_state").default("new"))
                    .col(text_null("last_error"))
                    .col(text_null("last_synced_at"))
                    .col(text_null("lease_holder"))
                    .col(text_null("lease_expires_at"))
                    .foreign_key(&mut fk("email_accounts", "user_id", "users"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index("email_accounts", &["user_id"], false))
            .await?;

        // One row per email however many mailboxes saw it (R-CAP-6): the
        // dedup key is the Message-ID, or `sha256:<fingerprint>` without one.
        // There is no deleted_at: deletion is per mailbox, on the sighting.
        // subject/snippet/body/attachments stay NULL for unmatched email
        // (R-CAP-5); `content_stored` says whether they were written, so an
        // email first seen unmatched gets its content once it is matched.
        manager
            .create_table(
                Table::create()
                    .table("emails")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(text_uniq("dedup_key"))
                    .col(text_null("message_id"))
                    .col(text_null("from_email"))
                    .col(text_null("from_name"))
                    .col(text("to_json"))
                    .col(text("cc_json"))
                    .col(text("reply_to_json"))
                    .col(text_null("in_reply_to"))
                    .col(text("references_json"))
                    .col(text_null("subject"))
                    .col(text_null("snippet"))
                    .col(text_null("body"))
                    .col(text_null("attachments_json"))
                    .col(boolean("content_stored").default(false))
                    .col(text("sent_at"))
                    .col(big_integer("size"))
                    .col(text("created_at"))
                    .take(),
            )
            .await?;
        // The activity list and the digest window scan by (sent_at, id).
        manager
            .create_index(index("emails", &["sent_at", "id"], false))
            .await?;
        // Direction is `from_email IN (mailbox addresses)`.
        manager
            .create_index(index("emails", &["from_email"], false))
            .await?;

        // The per-mailbox sighting: soft delete lives here, and an email is
        // live iff one of its sightings has deleted_at NULL.
        manager
            .create_table(
                Table::create()
                    .table("email_account_messages")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("account_id"))
                    .col(big_integer("email_id"))
                    .col(text("gmail_message_id"))
                    .col(text("gmail_thread_id"))
                    .col(text("labels_json"))
                    .col(boolean("is_sent").default(false))
                    .col(text_null("deleted_at"))
                    .col(text("captured_at"))
                    .foreign_key(&mut fk(
                        "email_account_messages",
                        "account_id",
                        "email_accounts",
                    ))
                    .foreign_key(&mut fk("email_account_messages", "email_id", "emails"))
                    .take(),
            )
            .await?;
        // Recapturing a Gmail message is a no-op because of this index.
        manager
            .create_index(index(
                "email_account_messages",
                &["account_id", "gmail_message_id"],
                true,
            ))
            .await?;
        // Liveness checks go email -> sightings; the digest and per-mailbox
        // filters go account -> sightings; both test deleted_at.
        manager
            .create_index(index(
                "email_account_messages",
                &["email_id", "deleted_at"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "email_account_messages",
                &["account_id", "deleted_at"],
                false,
            ))
            .await?;

        // Email-level links to investors (and a contact when a contact's
        // address matched). NULLs are distinct in unique indexes on both
        // databases, so `contact_key` (the contact id, or 0 for none) carries
        // the dedup and keeps it a database fact; `contact_id` stays a real,
        // nullable foreign key.
        manager
            .create_table(
                Table::create()
                    .table("email_investor_links")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("email_id"))
                    .col(big_integer("investor_id"))
                    .col(big_integer_null("contact_id"))
                    .col(big_integer("contact_key"))
                    .col(text("matched_address"))
                    .foreign_key(&mut fk("email_investor_links", "email_id", "emails"))
                    .foreign_key(&mut fk("email_investor_links", "investor_id", "investors"))
                    .foreign_key(&mut fk("email_investor_links", "contact_id", "contacts"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "email_investor_links",
                &["email_id", "investor_id", "contact_key"],
                true,
            ))
            .await?;
        manager
            .create_index(index("email_investor_links", &["investor_id"], false))
            .await?;

        // The latest redacted error per (mailbox, message): a message that
        // keeps failing overwrites its row instead of piling up.
        manager
            .create_table(
                Table::create()
                    .table("capture_errors")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("account_id"))
                    .col(text("gmail_message_id"))
                    .col(text("error"))
                    .col(integer("occurrences").default(1))
                    .col(text("at"))
                    .foreign_key(&mut fk("capture_errors", "account_id", "email_accounts"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "capture_errors",
                &["account_id", "gmail_message_id"],
                true,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &[
                "capture_errors",
                "email_investor_links",
                "email_account_messages",
                "emails",
                "email_accounts",
            ],
        )
        .await
    }
}
