//! Raw RFC 822 messages to ParsedMessage, on mail-parser (R-CAP-3).

use std::panic::{AssertUnwindSafe, catch_unwind};

use jiff::Timestamp;
use mail_parser::{Address, HeaderName, HeaderValue, Message, MimeHeaders, PartType};
use mailroom_ports::EmailAddress;
use mailroom_ports::parse::{MessageParser, ParseError};
use mailroom_ports::records::{Attachment, NamedAddress, ParsedMessage};
use sha2::{Digest, Sha256};

/// Gmail's own ceiling for a message with attachments.
pub const DEFAULT_MAX_BYTES: usize = 25 * 1024 * 1024;
/// Characters kept in a snippet, like Gmail's.
const SNIPPET_CHARS: usize = 200;

/// Parses raw messages no larger than `max_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailParser {
    pub max_bytes: usize,
}

impl Default for MailParser {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

impl MessageParser for MailParser {
    fn parse(&self, raw: &[u8]) -> Result<ParsedMessage, ParseError> {
        if raw.len() > self.max_bytes {
            return Err(ParseError::TooLarge { size: raw.len() });
        }
        // mail-parser promises not to panic; a bad message must still only
        // cost its own capture, never the sync, if that promise is broken.
        catch_unwind(AssertUnwindSafe(|| parse_message(raw)))
            .unwrap_or_else(|_| {
                Err(ParseError::Malformed(
                    "the MIME parser failed on this message".into(),
                ))
            })
            .map(without_nul)
    }
}

/// Removes NUL characters from every text field. Encoded words and broken
/// charsets can decode to U+0000, which PostgreSQL `text` refuses: one such
/// message would otherwise fail its capture on every sync run.
fn without_nul(mut m: ParsedMessage) -> ParsedMessage {
    fn clean(s: &mut String) {
        if s.contains('\0') {
            s.retain(|c| c != '\0');
        }
    }
    fn clean_opt(s: &mut Option<String>) {
        if let Some(v) = s {
            clean(v);
        }
    }
    clean_opt(&mut m.message_id);
    clean_opt(&mut m.subject);
    clean_opt(&mut m.text_body);
    clean_opt(&mut m.snippet);
    clean_opt(&mut m.in_reply_to);
    m.references.iter_mut().for_each(clean);
    for named in m
        .from
        .iter_mut()
        .chain(&mut m.to)
        .chain(&mut m.cc)
        .chain(&mut m.reply_to)
    {
        clean_opt(&mut named.name);
    }
    for attachment in &mut m.attachments {
        clean_opt(&mut attachment.name);
        clean(&mut attachment.content_type);
    }
    m
}

fn parse_message(raw: &[u8]) -> Result<ParsedMessage, ParseError> {
    let message = mail_parser::MessageParser::default()
        .parse(raw)
        .ok_or_else(|| ParseError::Malformed("no header section".into()))?;
    if !has_known_header(&message) {
        return Err(ParseError::Malformed(
            "no recognisable RFC 822 header".into(),
        ));
    }
    let from = addresses(message.header_values(HeaderName::From))
        .into_iter()
        .next();
    let to = addresses(message.header_values(HeaderName::To));
    let cc = addresses(message.header_values(HeaderName::Cc));
    let reply_to = addresses(message.header_values(HeaderName::ReplyTo));
    let subject = message
        .subject()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let date = message
        .date()
        .filter(|d| d.is_valid())
        .and_then(|d| Timestamp::from_second(d.to_timestamp()).ok());
    let text_body = body_text(&message);
    let snippet = text_body
        .as_deref()
        .map(snippet_of)
        .filter(|s| !s.is_empty());
    let message_id = message
        .message_id()
        .map(bare_id)
        .filter(|id| !id.is_empty());
    let in_reply_to = ids(message.in_reply_to()).into_iter().next();
    let references = ids(message.references());
    let attachments = message
        .attachments()
        .map(|part| Attachment {
            name: part.attachment_name().map(str::to_string),
            content_type: part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into())
                .to_ascii_lowercase(),
            size: part.len() as u64,
        })
        .collect();
    let fingerprint = fingerprint(
        &from,
        &to,
        &cc,
        date,
        subject.as_deref(),
        text_body.as_deref(),
    );
    Ok(ParsedMessage {
        message_id,
        from,
        to,
        cc,
        reply_to,
        subject,
        date,
        text_body,
        snippet,
        in_reply_to,
        references,
        attachments,
        fingerprint,
    })
}

/// mail-parser calls any `Name: value` line a header, so random text can
/// "parse"; a message needs at least one header mail actually has.
fn has_known_header(message: &Message<'_>) -> bool {
    message.headers().iter().any(|h| {
        matches!(
            h.name,
            HeaderName::From
                | HeaderName::To
                | HeaderName::Cc
                | HeaderName::Date
                | HeaderName::Subject
                | HeaderName::MessageId
                | HeaderName::Sender
                | HeaderName::ReplyTo
                | HeaderName::InReplyTo
                | HeaderName::References
                | HeaderName::MimeVersion
                | HeaderName::ContentType
                | HeaderName::Received
                | HeaderName::ReturnPath
        )
    })
}

/// Every address in every instance of a header, display names kept; entries
/// that are not usable email addresses (groups' names, URLs, junk) dropped.
fn addresses<'a>(values: impl Iterator<Item = &'a HeaderValue<'a>>) -> Vec<NamedAddress> {
    let mut out: Vec<NamedAddress> = Vec::new();
    for value in values {
        let Some(address) = value.as_address() else {
            continue;
        };
        for addr in iter_address(address) {
            let Some(email) = addr.address().and_then(|a| EmailAddress::parse(a).ok()) else {
                continue;
            };
            if out.iter().any(|n| n.email == email) {
                continue;
            }
            let name = addr
                .name()
                .map(|n| n.trim().trim_matches('"').trim().to_string())
                .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case(email.as_str()));
            out.push(NamedAddress { name, email });
        }
    }
    out
}

fn iter_address<'a>(address: &'a Address<'a>) -> impl Iterator<Item = &'a mail_parser::Addr<'a>> {
    address.iter()
}

/// The ids in `In-Reply-To` / `References`, without angle brackets.
fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let raw: Vec<&str> = match value {
        HeaderValue::Text(t) => vec![t.as_ref()],
        HeaderValue::TextList(list) => list.iter().map(|t| t.as_ref()).collect(),
        _ => Vec::new(),
    };
    raw.into_iter()
        .flat_map(|t| t.split_whitespace())
        .map(bare_id)
        .filter(|id| !id.is_empty())
        .collect()
}

fn bare_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

/// The text parts joined; HTML turned into text when a message has no plain
/// text (mail-parser lists the HTML part as the text body then).
fn body_text(message: &Message<'_>) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for (pos, id) in message.text_body.iter().enumerate() {
        let Some(part) = message.parts.get(*id as usize) else {
            continue;
        };
        let text = match &part.body {
            PartType::Text(_) | PartType::Html(_) => message.body_text(pos).map(|t| t.into_owned()),
            _ => None,
        };
        if let Some(text) = text.filter(|t| !t.trim().is_empty()) {
            parts.push(text);
        }
    }
    if parts.is_empty() {
        for pos in 0..message.html_body.len() {
            if let Some(html) = message.body_html(pos) {
                let text = mail_parser::decoders::html::html_to_text(&html);
                if !text.trim().is_empty() {
                    parts.push(text);
                }
            }
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("\n\n"))
    }
}

/// `text`'s words joined by single spaces, handed to `out` piece by piece;
/// stops (returning `false`) as soon as `out` does.
fn collapsed_words(text: &str, mut out: impl FnMut(&str) -> bool) -> bool {
    for (n, word) in text.split_whitespace().enumerate() {
        if (n > 0 && !out(" ")) || !out(word) {
            return false;
        }
    }
    true
}

/// The first [`SNIPPET_CHARS`] characters of the text with its white space
/// collapsed; only as much of the text is read as the snippet needs.
fn snippet_of(text: &str) -> String {
    let mut collapsed = String::new();
    let mut chars = 0;
    collapsed_words(text, |piece| {
        collapsed.push_str(piece);
        chars += piece.chars().count();
        chars <= SNIPPET_CHARS
    });
    match collapsed.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => collapsed[..cut].trim_end().to_string(),
        None => collapsed,
    }
}

/// sha256 over a canonical form that ignores transport noise (header
/// order, folding, encodings, whitespace) so one email seen in two mailboxes
/// hashes the same. The form is fed to the hash as it is produced, never
/// built whole (a body can be megabytes).
fn fingerprint(
    from: &Option<NamedAddress>,
    to: &[NamedAddress],
    cc: &[NamedAddress],
    date: Option<Timestamp>,
    subject: Option<&str>,
    body: Option<&str>,
) -> String {
    let list = |v: &[NamedAddress]| {
        v.iter()
            .map(|a| a.email.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut hash = Sha256::new();
    hash.update(format!(
        "from:{}\nto:{}\ncc:{}\ndate:{}\nsubject:",
        from.as_ref().map(|f| f.email.as_str()).unwrap_or(""),
        list(to),
        list(cc),
        date.map(|d| d.as_second().to_string()).unwrap_or_default(),
    ));
    let mut feed = |piece: &str| {
        hash.update(piece.as_bytes());
        true
    };
    collapsed_words(subject.unwrap_or(""), &mut feed);
    feed("\nbody:");
    collapsed_words(body.unwrap_or(""), &mut feed);
    let digest = hash.finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(snippet_of(input), expected, "input {input:?}");
    }

    #[test]
    fn snippets_collapse_whitespace_and_stop_near_two_hundred_characters() {
        check("  Hello\r\n\r\n  world\t! ", "Hello world !");
        check("", "");
        let long = "é".repeat(500);
        assert_eq!(snippet_of(&long).chars().count(), SNIPPET_CHARS);
    }

    #[test]
    fn message_ids_lose_their_angle_brackets() {
        assert_eq!(bare_id(" <a@b> "), "a@b");
        assert_eq!(bare_id("a@b"), "a@b");
    }

    #[test]
    fn the_fingerprint_ignores_whitespace_but_not_content() {
        let a = fingerprint(&None, &[], &[], None, Some("Hi  there"), Some("x\r\n y"));
        let b = fingerprint(&None, &[], &[], None, Some("Hi there"), Some("x y"));
        let c = fingerprint(&None, &[], &[], None, Some("Hi there"), Some("x z"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 64);
    }

    /// Stored emails are deduplicated by this hash, so its value for a given
    /// message must never change, however it is computed.
    #[test]
    fn the_fingerprint_of_a_known_message_is_stable() {
        let addr = |e: &str| NamedAddress {
            name: None,
            email: mailroom_ports::EmailAddress::parse(e).unwrap(),
        };
        let got = fingerprint(
            &Some(addr("lee@acme.com")),
            &[addr("ann@fund.com"), addr("bob@fund.com")],
            &[addr("cat@fund.com")],
            Timestamp::from_second(1_748_768_400).ok(),
            Some("  Q3   update "),
            Some("Hello Ann,\r\n\r\n  the numbers\tare in.\n"),
        );
        assert_eq!(
            got,
            "cebc5fedb60c291f41092d12b040cee9d64402bec38797a5df39a4fc4a2a2d59"
        );
    }
}
