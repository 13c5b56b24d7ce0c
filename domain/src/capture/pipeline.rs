//! The one path every captured message takes once its bytes are in hand:
//! parse result → match → store → propose. A Gmail sync and a file import
//! both go through [`capture_parsed`], so they store exactly the same rows.

use jiff::Timestamp;
use mailroom_ports::gmail::RawMessage;
use mailroom_ports::parse::ParseError;
use mailroom_ports::records::{CaptureOutcome, ParsedMessage};
use mailroom_ports::{AccountId, Domain, Store, StoreError};
use tracing::warn;

use super::build_capture;
use super::redact::parse_error_text;
use crate::matching::{Matcher, OwnAddresses};

/// What became of one message handed to [`capture_parsed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Captured {
    /// Stored (or already stored: the store deduplicates).
    Stored {
        /// Linked to at least one investor.
        matched: bool,
        outcome: CaptureOutcome,
    },
    /// The message could not be parsed; a redacted error was kept on the
    /// mailbox.
    Unparsable,
}

/// The matcher for the live directory and our own addresses, as a capture
/// run sees them when it starts.
///
/// # Errors
/// Whatever the store answers.
pub async fn matcher_for<S: Store + ?Sized>(
    store: &S,
    internal_domains: &[Domain],
) -> Result<Matcher, StoreError> {
    let own = store.own_addresses().await?;
    let directory = store.match_directory().await?;
    Ok(Matcher::new(
        directory,
        OwnAddresses::new(own, internal_domains.iter().cloned()),
    ))
}

/// Stores one message seen in one mailbox, given what the parser made of
/// its bytes: the capture (match-only content, links, one pending proposal
/// per newly linked investor) or, when parsing failed, a capture error
/// recorded on the mailbox under `raw.id`.
///
/// The parse result is passed in rather than computed here so a caller can
/// parse on other threads; parsing is the CPU-heavy part.
///
/// # Errors
/// Whatever the store answers.
pub async fn capture_parsed<S: Store + ?Sized>(
    store: &S,
    account_id: AccountId,
    raw: &RawMessage,
    parsed: Result<ParsedMessage, ParseError>,
    matcher: &Matcher,
    now: Timestamp,
) -> Result<Captured, StoreError> {
    match parsed {
        Ok(parsed) => {
            let request = build_capture(account_id, raw, parsed, matcher, now);
            let matched = !request.links.is_empty();
            let outcome = store.capture(request).await?;
            Ok(Captured::Stored { matched, outcome })
        }
        Err(error) => {
            let text = parse_error_text(&error);
            warn!(gmail_message_id = %raw.id, error = %text, "message skipped: it could not be parsed");
            store
                .record_capture_error(account_id, &raw.id, &text, now)
                .await?;
            Ok(Captured::Unparsable)
        }
    }
}
