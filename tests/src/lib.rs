//! Shared support for mailroom's integration suite: fresh databases, fake
//! Google and Spark servers, a real SMTP server on loopback, and the app.

pub mod app;
pub mod capture_team;
pub mod db;
pub mod fake_google;
pub mod fake_spark;
pub mod service;
pub mod smtp_server;
