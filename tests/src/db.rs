//! Test support: db.
