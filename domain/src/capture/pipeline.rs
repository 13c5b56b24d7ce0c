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
            record_unparsable(store, account_id, raw, &error, now).await?;
            Ok(Captured::Unparsable)
        }
    }
}

/// [`capture_parsed`] for many messages of one mailbox, stored in one store
/// transaction ([`Store::capture_many`]): the same rows, one commit. What
/// became of each message comes back in the order given.
///
/// # Errors
/// Whatever the store answers; then nothing of the batch is stored (parse
/// errors recorded before the failure stay recorded).
pub async fn capture_parsed_many<S: Store + ?Sized>(
    store: &S,
    account_id: AccountId,
    messages: Vec<(RawMessage, Result<ParsedMessage, ParseError>)>,
    matcher: &Matcher,
    now: Timestamp,
) -> Result<Vec<Captured>, StoreError> {
    let mut captured: Vec<Option<Captured>> = Vec::with_capacity(messages.len());
    let mut requests = Vec::new();
    // (position in `captured`, matched) of each request, in request order.
    let mut slots = Vec::new();
    for (raw, parsed) in messages {
        match parsed {
            Ok(parsed) => {
                let request = build_capture(account_id, &raw, parsed, matcher, now);
                slots.push((captured.len(), !request.links.is_empty()));
                requests.push(request);
                captured.push(None);
            }
            Err(error) => {
                record_unparsable(store, account_id, &raw, &error, now).await?;
                captured.push(Some(Captured::Unparsable));
            }
        }
    }
    let outcomes = store.capture_many(requests).await?;
    if outcomes.len() != slots.len() {
        return Err(StoreError::Unexpected(anyhow::anyhow!(
            "{} captures gave {} outcomes",
            slots.len(),
            outcomes.len()
        )));
    }
    for ((at, matched), outcome) in slots.into_iter().zip(outcomes) {
        captured[at] = Some(Captured::Stored { matched, outcome });
    }
    Ok(captured.into_iter().flatten().collect())
}

/// Keeps a redacted parse error on the mailbox under the message's id.
async fn record_unparsable<S: Store + ?Sized>(
    store: &S,
    account_id: AccountId,
    raw: &RawMessage,
    error: &ParseError,
    now: Timestamp,
) -> Result<(), StoreError> {
    let text = parse_error_text(error);
    warn!(gmail_message_id = %raw.id, error = %text, "message skipped: it could not be parsed");
    store
        .record_capture_error(account_id, &raw.id, &text, now)
        .await
}
