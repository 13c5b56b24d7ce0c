//! Statement helpers shared by the store's queries: running portable SQL,
//! and converting times, addresses and JSON lists at the database edge.
//!
//! Queries use `$1`-style placeholders, which PostgreSQL takes natively and
//! sqlx-sqlite binds by number, so one SQL text serves both databases.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::fmt::temporal::DateTimePrinter;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, QueryResult, SqliteTransactionMode,
    Statement, TransactionOptions, TransactionTrait, TryGetable, Value,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use mailroom_ports::{EmailAddress, StoreError};

use super::error::from_db;

/// Fixed-width RFC 3339 (microseconds, `Z`): text order is time order.
const PRINTER: DateTimePrinter = DateTimePrinter::new().precision(Some(6));

/// The stored form of a time. Sub-microsecond precision is dropped.
pub(crate) fn ts_text(t: Timestamp) -> String {
    PRINTER.timestamp_to_string(&t)
}

pub(crate) fn ts(t: Timestamp) -> Value {
    Value::from(ts_text(t))
}

pub(crate) fn opt_ts(t: Option<Timestamp>) -> Value {
    Value::from(t.map(ts_text))
}

pub(crate) fn date_text(d: Date) -> String {
    d.to_string()
}

pub(crate) fn parse_ts(raw: &str) -> Result<Timestamp, StoreError> {
    raw.parse()
        .map_err(|e| unexpected(format!("stored time `{raw}` is not RFC 3339: {e}")))
}

pub(crate) fn parse_date(raw: &str) -> Result<Date, StoreError> {
    raw.parse()
        .map_err(|e| unexpected(format!("stored date `{raw}` is not a date: {e}")))
}

pub(crate) fn parse_addr(raw: &str) -> Result<EmailAddress, StoreError> {
    EmailAddress::parse(raw).map_err(|e| unexpected(format!("stored address is invalid: {e}")))
}

pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| unexpected(format!("could not encode JSON column: {e}")))
}

pub(crate) fn from_json<T: DeserializeOwned>(raw: &str) -> Result<T, StoreError> {
    serde_json::from_str(raw).map_err(|e| unexpected(format!("stored JSON column is invalid: {e}")))
}

pub(crate) fn unexpected(message: String) -> StoreError {
    StoreError::Unexpected(anyhow::anyhow!(message))
}

/// Runs a statement; returns the rows it affected.
pub(crate) async fn exec<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    values: Vec<Value>,
) -> Result<u64, StoreError> {
    let stmt = Statement::from_sql_and_values(conn.get_database_backend(), sql, values);
    Ok(conn
        .execute_raw(stmt)
        .await
        .map_err(from_db)?
        .rows_affected())
}

pub(crate) async fn all<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<QueryResult>, StoreError> {
    let stmt = Statement::from_sql_and_values(conn.get_database_backend(), sql, values);
    conn.query_all_raw(stmt).await.map_err(from_db)
}

pub(crate) async fn one<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    values: Vec<Value>,
) -> Result<Option<QueryResult>, StoreError> {
    let stmt = Statement::from_sql_and_values(conn.get_database_backend(), sql, values);
    conn.query_one_raw(stmt).await.map_err(from_db)
}

/// Starts a write transaction. On SQLite it is `BEGIN IMMEDIATE`: taking the
/// write lock up front means a transaction that reads before it writes waits
/// on the busy timeout instead of failing when another writer got in first.
pub(crate) async fn write_txn(db: &DatabaseConnection) -> Result<DatabaseTransaction, StoreError> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
    .map_err(from_db)
}

pub(crate) async fn commit(txn: DatabaseTransaction) -> Result<(), StoreError> {
    txn.commit().await.map_err(from_db)
}

/// Typed column access that reports a missing or mistyped column as
/// `Unexpected`.
pub(crate) trait Row {
    fn col<T: TryGetable>(&self, name: &str) -> Result<T, StoreError>;

    fn ts(&self, name: &str) -> Result<Timestamp, StoreError> {
        parse_ts(&self.col::<String>(name)?)
    }

    fn opt_ts(&self, name: &str) -> Result<Option<Timestamp>, StoreError> {
        self.col::<Option<String>>(name)?
            .as_deref()
            .map(parse_ts)
            .transpose()
    }

    fn addr(&self, name: &str) -> Result<EmailAddress, StoreError> {
        parse_addr(&self.col::<String>(name)?)
    }

    fn opt_addr(&self, name: &str) -> Result<Option<EmailAddress>, StoreError> {
        self.col::<Option<String>>(name)?
            .as_deref()
            .map(parse_addr)
            .transpose()
    }

    /// A JSON text column holding a list of addresses.
    fn addr_list(&self, name: &str) -> Result<Vec<EmailAddress>, StoreError> {
        from_json(&self.col::<String>(name)?)
    }

    /// A boolean column or a 0/1 expression (SQLite has no boolean type and
    /// PostgreSQL types `CASE … THEN 1` as an integer).
    fn flag(&self, name: &str) -> Result<bool, StoreError> {
        match self.col::<bool>(name) {
            Ok(b) => Ok(b),
            Err(_) => Ok(self.col::<i32>(name)? != 0),
        }
    }

    fn u64(&self, name: &str) -> Result<u64, StoreError> {
        let n = self.col::<i64>(name)?;
        u64::try_from(n).map_err(|_| unexpected(format!("column {name} is negative: {n}")))
    }
}

impl Row for QueryResult {
    fn col<T: TryGetable>(&self, name: &str) -> Result<T, StoreError> {
        self.try_get::<T>("", name)
            .map_err(|e| unexpected(format!("could not read column {name}: {e}")))
    }
}

/// Bind values collected while a query's text is assembled; `bind` returns
/// the placeholder to splice in.
#[derive(Default)]
pub(crate) struct Params {
    pub(crate) values: Vec<Value>,
}

impl Params {
    pub(crate) fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    /// A comma-separated placeholder list for `IN (…)`.
    pub(crate) fn bind_all<V: Into<Value>>(
        &mut self,
        values: impl IntoIterator<Item = V>,
    ) -> String {
        values
            .into_iter()
            .map(|v| self.bind(v))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `$n, $n+1, …` for `count` values starting at `first`, for `IN (…)` lists.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_have_a_fixed_width_so_text_order_is_time_order() {
        let whole: Timestamp = "2024-05-01T12:00:00Z".parse().unwrap();
        let fraction: Timestamp = "2024-05-01T12:00:00.5Z".parse().unwrap();
        assert_eq!(ts_text(whole), "2024-05-01T12:00:00.000000Z");
        assert_eq!(ts_text(fraction), "2024-05-01T12:00:00.500000Z");
        assert!(ts_text(whole) < ts_text(fraction));
        assert_eq!(parse_ts(&ts_text(fraction)).unwrap(), fraction);
    }
}
