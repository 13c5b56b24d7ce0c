//! Test support: app.
