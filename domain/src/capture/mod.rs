//! Capture: turning Gmail messages into stored email (R-CAP-2 … R-CAP-7).

mod pipeline;
pub(crate) mod redact;
mod retry;
mod sync;

use jiff::Timestamp;
use mailroom_ports::AccountId;
use mailroom_ports::gmail::RawMessage;
use mailroom_ports::records::{CaptureRequest, EmailContent, EmailHeader, ParsedMessage};

use crate::matching::Matcher;

pub use pipeline::{Captured, capture_parsed, capture_parsed_many, matcher_for};
pub use redact::{gmail_error_text, parse_error_text, store_error_text};
pub use retry::RetryPolicy;
pub(crate) use sync::list_since;
pub use sync::{SyncConfig, SyncError, SyncReport, SyncService};

/// The Gmail label a mailbox puts on mail it sent.
pub const SENT_LABEL: &str = "SENT";

/// The key that makes one `emails` row of every copy of a message
/// (R-CAP-6): its `Message-ID`, else `sha256:` and the parser's fingerprint.
pub fn dedup_key(parsed: &ParsedMessage) -> String {
    match parsed.message_id.as_deref().and_then(normalize_message_id) {
        Some(id) => id,
        None => format!("sha256:{}", parsed.fingerprint),
    }
}

/// A `Message-ID` without angle brackets or folding whitespace; `None` when
/// nothing is left.
///
/// Case is kept: the part before the `@` is case-sensitive (RFC 5322), and
/// every copy of one message carries the same bytes anyway.
pub fn normalize_message_id(raw: &str) -> Option<String> {
    let id: String = raw
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    (!id.is_empty()).then_some(id)
}

/// The capture of one fetched and parsed message in one mailbox.
///
/// Match-only full storage (R-CAP-5): subject, snippet, body and attachment
/// names are kept only when the email matched an investor; the header
/// (ids, addresses, dates, size) always is.
pub fn build_capture(
    account_id: AccountId,
    raw: &RawMessage,
    parsed: ParsedMessage,
    matcher: &Matcher,
    now: Timestamp,
) -> CaptureRequest {
    let dedup_key = dedup_key(&parsed);
    let (from_email, from_name) = match parsed.from {
        Some(from) => (Some(from.email), from.name),
        None => (None, None),
    };
    let header = EmailHeader {
        dedup_key,
        message_id: parsed.message_id.as_deref().and_then(normalize_message_id),
        from_email,
        from_name,
        to: parsed.to.into_iter().map(|a| a.email).collect(),
        cc: parsed.cc.into_iter().map(|a| a.email).collect(),
        reply_to: parsed.reply_to.into_iter().map(|a| a.email).collect(),
        in_reply_to: parsed.in_reply_to.as_deref().and_then(normalize_message_id),
        references: parsed
            .references
            .iter()
            .filter_map(|r| normalize_message_id(r))
            .collect(),
        sent_at: parsed.date.or(raw.internal_date).unwrap_or(now),
        size: if raw.size_estimate > 0 {
            raw.size_estimate
        } else {
            raw.raw.len() as u64
        },
    };
    let links = matcher.match_header(&header);
    let content = (!links.is_empty()).then_some(EmailContent {
        subject: parsed.subject,
        snippet: parsed.snippet,
        body: parsed.text_body,
        attachments: parsed.attachments,
    });
    CaptureRequest {
        account_id,
        gmail_message_id: raw.id.clone(),
        gmail_thread_id: raw.thread_id.clone(),
        labels: raw.label_ids.clone(),
        is_sent: raw.label_ids.iter().any(|l| l == SENT_LABEL),
        header,
        content,
        links,
        captured_at: now,
    }
}

#[cfg(test)]
mod tests {
    use mailroom_ports::records::{Attachment, ContactEmail, MatchDirectory, NamedAddress};
    use mailroom_ports::{ContactId, Domain, EmailAddress, InvestorId};

    use super::*;
    use crate::matching::OwnAddresses;

    fn addr(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn named(s: &str) -> NamedAddress {
        NamedAddress {
            name: Some("N".into()),
            email: addr(s),
        }
    }

    fn parsed(from: &str) -> ParsedMessage {
        ParsedMessage {
            message_id: Some("abc@mail.example".into()),
            from: Some(named(from)),
            to: vec![named("me@fund.com")],
            cc: vec![],
            reply_to: vec![],
            subject: Some("Fund III".into()),
            date: Some(ts("2025-03-01T10:00:00Z")),
            text_body: Some("Numbers attached".into()),
            snippet: Some("Numbers".into()),
            in_reply_to: Some("<parent@x>".into()),
            references: vec!["<root@x>".into(), "<parent@x>".into()],
            attachments: vec![Attachment {
                name: Some("q1.pdf".into()),
                content_type: "application/pdf".into(),
                size: 9,
            }],
            fingerprint: "f00d".into(),
        }
    }

    fn raw(labels: &[&str]) -> RawMessage {
        RawMessage {
            id: "g1".into(),
            thread_id: "t1".into(),
            label_ids: labels.iter().map(|l| l.to_string()).collect(),
            history_id: Some("77".into()),
            internal_date: Some(ts("2025-03-01T10:00:05Z")),
            size_estimate: 1234,
            raw: b"raw".to_vec(),
        }
    }

    fn matcher() -> Matcher {
        let dir = MatchDirectory {
            contact_emails: vec![ContactEmail {
                email: addr("ann@acme.com"),
                contact_id: ContactId(10),
                investor_id: InvestorId(1),
            }],
            investor_domains: vec![],
            never_log: Vec::new(),
        };
        Matcher::new(
            dir,
            OwnAddresses::new([addr("me@fund.com")], [Domain::parse("fund.com").unwrap()]),
        )
    }

    fn check_key(message_id: Option<&str>, expected: &str) {
        let p = ParsedMessage {
            message_id: message_id.map(str::to_string),
            fingerprint: "ab12".into(),
            ..Default::default()
        };
        assert_eq!(dedup_key(&p), expected, "{message_id:?}");
    }

    #[test]
    fn dedup_key_is_the_normalised_message_id_else_the_fingerprint() {
        check_key(Some("abc@x.com"), "abc@x.com");
        check_key(Some(" <abc@x.com> "), "abc@x.com");
        check_key(Some("<abc@\r\n x.com>"), "abc@x.com");
        check_key(Some("ABC@x.com"), "ABC@x.com");
        check_key(Some("<>"), "sha256:ab12");
        check_key(Some("   "), "sha256:ab12");
        check_key(None, "sha256:ab12");
    }

    #[test]
    fn matched_email_is_captured_in_full() {
        let now = ts("2025-03-02T00:00:00Z");
        let req = build_capture(
            AccountId(5),
            &raw(&["INBOX"]),
            parsed("ann@acme.com"),
            &matcher(),
            now,
        );

        assert_eq!(req.links.len(), 1);
        let content = req.content.expect("matched mail keeps its content");
        assert_eq!(content.subject.as_deref(), Some("Fund III"));
        assert_eq!(content.body.as_deref(), Some("Numbers attached"));
        assert_eq!(content.snippet.as_deref(), Some("Numbers"));
        assert_eq!(content.attachments.len(), 1);
        assert_eq!(req.account_id, AccountId(5));
        assert_eq!(req.gmail_message_id, "g1");
        assert_eq!(req.gmail_thread_id, "t1");
        assert_eq!(req.labels, vec!["INBOX".to_string()]);
        assert!(!req.is_sent);
        assert_eq!(req.captured_at, now);
        assert_eq!(req.header.dedup_key, "abc@mail.example");
        assert_eq!(req.header.from_email, Some(addr("ann@acme.com")));
        assert_eq!(req.header.from_name.as_deref(), Some("N"));
        assert_eq!(req.header.to, vec![addr("me@fund.com")]);
        assert_eq!(req.header.in_reply_to.as_deref(), Some("parent@x"));
        assert_eq!(
            req.header.references,
            vec!["root@x".to_string(), "parent@x".to_string()]
        );
        assert_eq!(req.header.size, 1234);
    }

    #[test]
    fn unmatched_email_keeps_only_its_header() {
        let req = build_capture(
            AccountId(5),
            &raw(&["INBOX"]),
            parsed("stranger@else.org"),
            &matcher(),
            Timestamp::UNIX_EPOCH,
        );

        assert!(req.links.is_empty());
        assert_eq!(req.content, None);
        assert_eq!(req.header.from_email, Some(addr("stranger@else.org")));
        assert_eq!(req.header.sent_at, ts("2025-03-01T10:00:00Z"));
    }

    #[test]
    fn sent_label_marks_the_sighting_as_sent() {
        let req = build_capture(
            AccountId(5),
            &raw(&["SENT", "IMPORTANT"]),
            parsed("me@fund.com"),
            &matcher(),
            Timestamp::UNIX_EPOCH,
        );
        assert!(req.is_sent);
    }

    fn check_sent_at(date: Option<&str>, internal: Option<&str>, expected: &str) {
        let mut p = parsed("ann@acme.com");
        p.date = date.map(ts);
        let mut r = raw(&[]);
        r.internal_date = internal.map(ts);
        let req = build_capture(AccountId(1), &r, p, &matcher(), ts("2030-01-01T00:00:00Z"));
        assert_eq!(
            req.header.sent_at,
            ts(expected),
            "date {date:?} internal {internal:?}"
        );
    }

    #[test]
    fn sent_at_is_the_date_header_else_gmails_internal_date_else_now() {
        check_sent_at(
            Some("2025-01-01T00:00:00Z"),
            Some("2025-01-02T00:00:00Z"),
            "2025-01-01T00:00:00Z",
        );
        check_sent_at(None, Some("2025-01-02T00:00:00Z"), "2025-01-02T00:00:00Z");
        check_sent_at(None, None, "2030-01-01T00:00:00Z");
    }

    #[test]
    fn size_falls_back_to_the_raw_length_when_gmail_gives_none() {
        let mut r = raw(&[]);
        r.size_estimate = 0;
        let req = build_capture(
            AccountId(1),
            &r,
            parsed("ann@acme.com"),
            &matcher(),
            Timestamp::UNIX_EPOCH,
        );
        assert_eq!(req.header.size, 3);
    }
}
