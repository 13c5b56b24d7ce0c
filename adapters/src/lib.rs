//! The adapters: each implements ports for one piece of infrastructure.
//! Adapters never call each other; `app` wires them.

pub mod clock;
pub mod gmail;
pub mod mail_format;
pub mod outbox;
pub mod parser;
pub mod selector;
pub mod smtp;
pub mod spark;
pub mod store;
