//! The `mailroom` application: configuration, wiring, the HTTP API, the
//! schedulers and the command line. `main.rs` only calls [`cli::run`].

pub mod auth;
pub mod bench;
pub mod cli;
pub mod config;
pub mod directory;
pub mod http;
pub mod import;
pub mod ops;
pub mod schedulers;
pub mod shutdown;
pub mod state;
pub mod telemetry;
pub mod wiring;
