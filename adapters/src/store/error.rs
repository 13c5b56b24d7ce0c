//! Translation of SeaORM/sqlx errors into the port's `StoreError`, so no
//! `DbErr` crosses the boundary.

use sea_orm::{DbErr, RuntimeErr, SqlErr};

use mailroom_ports::StoreError;

/// Maps a database error to what a caller can act on: unique violation →
/// `Conflict`, foreign-key violation → `Invalid`, an unreachable, busy or
/// overloaded database → `Unavailable`, anything else → `Unexpected`.
pub(crate) fn from_db(err: DbErr) -> StoreError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(message)) => return StoreError::Conflict(message),
        Some(SqlErr::ForeignKeyConstraintViolation(message)) => {
            return StoreError::Invalid(message);
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
