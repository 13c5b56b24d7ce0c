//! Measured at 100,000 and 1,000,000 stored emails (`mailroom bench`):
//!
//! - PostgreSQL: the digest joined the whole link table (a hash over every
//!   link ever made) to the window's sightings. Links carry their email's `sent_at`
//!   (migration 6), so an index on it lets the digest take only the links
//!   of the window's emails and its cost follows the window.
//! - PostgreSQL: a GIN index with `fastupdate` keeps new entries in a
//!   pending list (up to 4 MB) that every search reads in full: 12 ms for a
//!   word that matches nothing at 100,000 emails, with steady capture
//!   keeping the list full. New entries now go straight into the index
//!   (a little more work per captured email), and the list is emptied.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite walks the digest in a fixed order (sightings first, then
        // by key), so only PostgreSQL gets the links index.
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX ix_email_investor_links_sent_at \
             ON email_investor_links (sent_at, email_id)",
        )
        .await?;
        db.execute_unprepared("ALTER INDEX ix_emails_search_vector SET (fastupdate = off)")
            .await?;
        db.execute_unprepared("SELECT gin_clean_pending_list('ix_emails_search_vector')")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("ALTER INDEX ix_emails_search_vector RESET (fastupdate)")
            .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS ix_email_investor_links_sent_at")
            .await?;
        Ok(())
    }
}
