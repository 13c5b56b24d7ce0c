//! Translation of SeaORM/sqlx errors into the port's `StoreError`, so no
//! `DbErr` crosses the boundary.

use sea_orm::{DbErr, RuntimeErr, SqlErr};

use mailroom_ports::StoreError;

/// Maps a database error to what a caller can act on: unique violation →
/// `Conflict`, foreign-key violation → `Invalid`, an unreachable, busy or
/// overloaded database → `Unavailable`, anything else → `Unexpected`.
pub(crate) fn from_db(err: DbErr) -> StoreError {
    // The database's own text names tables and constraints; it goes to the
    // debug log, and callers (and HTTP clients) get a fixed sentence.
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(message)) => {
            tracing::debug!(%message, "unique violation");
            return StoreError::Conflict("a record with the same key already exists".into());
        }
        Some(SqlErr::ForeignKeyConstraintViolation(message)) => {
            tracing::debug!(%message, "foreign-key violation");
            return StoreError::Invalid("it refers to a record that does not exist".into());
        }
        _ => {}
    }
    if is_transient(&err) {
        return StoreError::Unavailable(err.to_string());
    }
    StoreError::Unexpected(anyhow::Error::new(err).context("database operation failed"))
}

fn is_transient(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            use sea_orm::sqlx::Error;
            match e.as_ref() {
                Error::Io(_)
                | Error::Tls(_)
                | Error::PoolTimedOut
                | Error::PoolClosed
                | Error::WorkerCrashed
                | Error::Protocol(_) => true,
                Error::Database(db) => {
                    let code = db.code().unwrap_or_default();
                    // SQLite: BUSY/LOCKED and their extended codes.
                    // PostgreSQL: serialization failure, deadlock, too many
                    // connections, shutdown, and connection exceptions (08xxx).
                    matches!(
                        code.as_ref(),
                        "5" | "6"
                            | "261"
                            | "262"
                            | "517"
                            | "40001"
                            | "40P01"
                            | "53300"
                            | "57P01"
                            | "57P02"
                            | "57P03"
                    ) || code.starts_with("08")
                }
                _ => false,
            }
        }
        _ => false,
    }
}
