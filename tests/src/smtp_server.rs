//! Test support: smtp_server.
