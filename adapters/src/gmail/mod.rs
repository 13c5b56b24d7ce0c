//! Gmail through domain-wide delegation: credentials, mailbox reading, drafts, and the digest send.
//!
//! The capture side ([`GmailMailbox`]) and the draft side ([`GmailDrafts`]) have
//! no send method (R-HARD-1); [`GmailSendTransport`] in `send.rs` is the only
//! code that calls `users.messages.send`, and it only takes
//! [`mailroom_ports::AdminRecipients`].

mod client;
pub mod credentials;
pub mod drafts;
pub mod mailbox;
pub mod send;

pub use client::GmailConfig;
pub use credentials::{DwdTokenProvider, ServiceAccountKey, TokenRetry};
pub use drafts::GmailDrafts;
pub use mailbox::GmailMailbox;
pub use send::GmailSendTransport;
