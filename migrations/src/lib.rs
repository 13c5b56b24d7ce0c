//! mailroom's schema as sea-orm-migration steps, identical on SQLite and
//! PostgreSQL; the service runs `Migrator::up` on start.
//!
//! Decisions shared by every table:
//! - Times are RFC 3339 UTC text of a fixed width (microseconds, `Z`), written
//!   by the store adapter. Fixed width makes text order equal time order, so
//!   windows and keyset pagination compare strings on both databases without
//!   a per-database timestamp type.
//! - Lists and attachments are JSON text: they are read whole, never queried.
//! - Rows the CRM mirrors (investors, contacts) are soft-deleted, never
//!   removed, so foreign keys to them never dangle and default to RESTRICT.
//! - Composite uniqueness uses separate unique indexes (not table
//!   constraints) because SQLite cannot add constraints after creation and
//!   `ON CONFLICT (cols)` accepts a unique index on both databases.

use sea_orm_migration::prelude::*;

/// Re-exported so callers can run `Migrator::up` without naming
/// sea-orm-migration themselves.
pub use sea_orm_migration::MigratorTrait;

mod m20250601_000001_directory;
mod m20250601_000002_mail;
mod m20250601_000003_workflow;
mod m20250601_000004_digest;
mod m20251125_000005_digest_capture_window;
mod m20261201_000006_activity_search;
mod m20261201_000007_read_side;
mod m20261204_000008_trust;
mod m20261204_000009_mailbox_audits;
mod m20261204_000010_window_indexes;
mod m20261205_000011_job_retries;
mod m20261205_000012_draft_message_id;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20250601_000001_directory::Migration),
            Box::new(m20250601_000002_mail::Migration),
            Box::new(m20250601_000003_workflow::Migration),
            Box::new(m20250601_000004_digest::Migration),
            Box::new(m20251125_000005_digest_capture_window::Migration),
            Box::new(m20261201_000006_activity_search::Migration),
            Box::new(m20261201_000007_read_side::Migration),
            Box::new(m20261204_000008_trust::Migration),
            Box::new(m20261204_000009_mailbox_audits::Migration),
            Box::new(m20261204_000010_window_indexes::Migration),
            Box::new(m20261205_000011_job_retries::Migration),
            Box::new(m20261205_000012_draft_message_id::Migration),
        ]
    }
}

/// A named foreign key from `table.column` to `target.id`.
fn fk(
    table: &'static str,
    column: &'static str,
    target: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to(target, "id")
        .on_delete(ForeignKeyAction::Restrict)
        .on_update(ForeignKeyAction::Restrict)
        .take()
}

/// A (possibly unique) index named after its table and columns.
fn index(table: &'static str, columns: &[&'static str], unique: bool) -> IndexCreateStatement {
    let prefix = if unique { "ux" } else { "ix" };
    let mut stmt = Index::create();
    stmt.name(format!("{prefix}_{table}_{}", columns.join("_")))
        .table(table)
        .if_not_exists();
    for column in columns {
        stmt.col(*column);
    }
    if unique {
        stmt.unique();
    }
    stmt.take()
}

/// Drops tables in the given order (children first).
async fn drop_tables(manager: &SchemaManager<'_>, tables: &[&'static str]) -> Result<(), DbErr> {
    for table in tables {
        manager
            .drop_table(Table::drop().table(*table).if_exists().take())
            .await?;
    }
    Ok(())
}
