//! The SeaORM store on SQLite and PostgreSQL.
