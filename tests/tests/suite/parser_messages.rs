//! R-CAP-3: parsing real-world and hostile RFC 822 messages with MailParser.

use jiff::Timestamp;
use mailroom_adapters::parser::MailParser;
use mailroom_ports::EmailAddress;
use mailroom_ports::parse::{MessageParser, ParseError};
use mailroom_ports::records::{Attachment, NamedAddress, ParsedMessage};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/eml/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn parse(raw: &[u8]) -> ParsedMessage {
    MailParser::default().parse(raw).expect("parses")
}

fn named(name: Option<&str>, email: &str) -> NamedAddress {
    NamedAddress {
        name: name.map(str::to_string),
        email: EmailAddress::parse(email).unwrap(),
    }
}

fn emails(list: &[NamedAddress]) -> Vec<&str> {
    list.iter().map(|a| a.email.as_str()).collect()
}

#[test]
fn a_multipart_alternative_message_yields_every_header_and_the_plain_text() {
    let parsed = parse(&fixture("multipart-alternative.eml"));

    assert_eq!(
        parsed.message_id.as_deref(),
        Some("CAF=q3-call-001@mail.investor.com")
    );
    assert_eq!(
        parsed.from,
        Some(named(Some("Lena Park"), "lena.park@investor.com"))
    );
    assert_eq!(
        parsed.to,
        vec![
            named(Some("Ann Lee"), "ann@fund.com"),
            named(None, "bob@fund.com")
        ]
    );
    assert_eq!(emails(&parsed.cc), vec!["ops@investor.com"]);
    assert_eq!(
        parsed.reply_to,
        vec![named(Some("Lena (assistant)"), "assist@investor.com")]
    );
    assert_eq!(parsed.subject.as_deref(), Some("Q3 capital call"));
    assert_eq!(
        parsed.date,
        Some("2024-05-14T16:30:00Z".parse::<Timestamp>().unwrap())
    );
    assert_eq!(parsed.in_reply_to.as_deref(), Some("prev-002@fund.com"));
    assert_eq!(
        parsed.references,
        vec!["root-001@fund.com", "prev-002@fund.com"]
    );
    let body = parsed.text_body.unwrap();
    assert!(
        body.contains("We expect to wire on Friday."),
        "soft line break decoded: {body}"
    );
    assert!(!body.contains("<b>"), "{body}");
    assert_eq!(
        parsed.snippet.as_deref(),
        Some(
            "Hi Ann, The Q3 capital call notice is attached to the portal. We expect to wire on Friday. Best, Lena"
        )
    );
    assert!(parsed.attachments.is_empty());
    assert_eq!(parsed.fingerprint.len(), 64);
}

#[test]
fn an_html_only_message_is_converted_to_text() {
    let parsed = parse(&fixture("html-only.eml"));

    let body = parsed.text_body.unwrap();
    assert!(body.contains("Portfolio — update"), "{body}");
    assert!(body.contains("Revenue grew"), "{body}");
    assert!(
        !body.contains('<') && !body.contains("color: red"),
        "no markup or CSS: {body}"
    );
    assert!(parsed.snippet.unwrap().starts_with("Portfolio — update"));
}

#[test]
fn an_iso_8859_1_body_and_encoded_headers_are_decoded() {
    let parsed = parse(&fixture("latin1.eml"));

    assert_eq!(
        parsed.from,
        Some(named(Some("René Dupré"), "rene@investor.fr"))
    );
    assert_eq!(parsed.subject.as_deref(), Some("Réunion décalée"));
    assert!(
        parsed
            .text_body
            .unwrap()
            .contains("la réunion est décalée à jeudi. Très cordialement, René.")
    );
}

#[test]
fn a_windows_1252_body_keeps_its_quotes_dashes_and_euro_sign() {
    let parsed = parse(&fixture("windows-1252.eml"));

    assert_eq!(
        parsed.text_body.unwrap().trim(),
        "The fee is \u{201c}below\u{201d} \u{20ac}2,000 \u{2013} as agreed."
    );
}

#[test]
fn attachments_are_listed_by_name_type_and_size_without_their_bytes() {
    let parsed = parse(&fixture("attachments.eml"));

    assert_eq!(
        parsed.attachments,
        vec![
            Attachment {
                name: Some("side-letter.pdf".into()),
                content_type: "application/pdf".into(),
                size: 2064
            },
            Attachment {
                name: Some("écusson.png".into()),
                content_type: "image/png".into(),
                size: 108
            },
        ]
    );
    assert_eq!(
        parsed.text_body.unwrap().trim(),
        "Please find the signed side letter attached."
    );
}

#[test]
fn encoded_word_subjects_and_names_are_decoded() {
    let parsed = parse(&fixture("encoded-words.eml"));

    assert_eq!(parsed.subject.as_deref(), Some("Grüße aus München — Q3"));
    assert_eq!(
        parsed.from,
        Some(named(Some("Jürgen Müller"), "juergen@investor.de"))
    );
    assert_eq!(parsed.to, vec![named(Some("Ann ✓"), "ann@fund.com")]);
}

#[test]
fn a_message_without_a_message_id_still_parses_and_drops_unusable_addresses() {
    let parsed = parse(&fixture("no-message-id.eml"));

    assert_eq!(parsed.message_id, None);
    assert_eq!(emails(&parsed.to), vec!["ann@fund.com", "bob@fund.com"]);
    assert_eq!(parsed.subject.as_deref(), Some("No id here"));
    assert_eq!(parsed.fingerprint.len(), 64);
}

#[test]
fn broken_mime_is_parsed_as_far_as_it_goes() {
    let parsed = parse(&fixture("broken-mime.eml"));

    assert_eq!(parsed.message_id.as_deref(), Some("broken-1@investor.com"));
    assert_eq!(parsed.subject.as_deref(), Some("Broken MIME"));
}

#[test]
fn the_same_email_seen_by_two_mailboxes_has_one_fingerprint() {
    let original = fixture("no-message-id.eml");
    let mut relayed = b"Received: from relay.fund.com by mx.google.com; Mon, 20 May 2024 10:00:02 +0000\r\nX-Gm-Labels: INBOX\r\n".to_vec();
    relayed.extend_from_slice(&original);
    let mut edited = original.clone();
    let at = edited.windows(4).position(|w| w == b"Body").unwrap();
    edited[at] = b'N';

    let a = parse(&original).fingerprint;
    let b = parse(&relayed).fingerprint;
    let c = parse(&edited).fingerprint;

    assert_eq!(a, b);
    assert_ne!(a, c);
}

fn check_malformed(raw: &[u8]) {
    match MailParser::default().parse(raw) {
        Err(ParseError::Malformed(_)) => {}
        other => panic!(
            "expected Malformed for {:?}, got {other:?}",
            String::from_utf8_lossy(&raw[..raw.len().min(60)])
        ),
    }
}

#[test]
fn input_without_headers_is_malformed() {
    check_malformed(b"");
    check_malformed(b"\r\n\r\n");
    check_malformed(b"just a line of text without any header\r\n");
    check_malformed(b"\r\nbody after an empty header section\r\n");
    check_malformed(b"X-Custom: only an unknown header\r\n\r\nhello\r\n");
}

#[test]
fn eight_bit_garbage_never_panics() {
    // A fixed xorshift stream: the same garbage on every run.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..200 {
        let len = 1 + (round * 37) % 4000;
        let garbage: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        let mut with_header =
            b"From: a@b.com\r\nContent-Type: multipart/mixed; boundary=\"\xff\"\r\n\r\n".to_vec();
        with_header.extend_from_slice(&garbage);

        let _ = MailParser::default().parse(&garbage);
        let parsed = MailParser::default().parse(&with_header);

        assert!(
            parsed.is_ok(),
            "round {round}: a message with a From header parses: {parsed:?}"
        );
    }
}

#[test]
fn five_hundred_nested_multiparts_parse_without_overflowing_the_stack() {
    let depth = 500;
    let mut raw = String::from(
        "From: a@investor.com\r\nTo: ann@fund.com\r\nSubject: deep\r\nMIME-Version: 1.0\r\n",
    );
    for level in 0..depth {
        raw.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n--b{level}\r\n"
        ));
    }
    raw.push_str("Content-Type: text/plain\r\n\r\ndeepest text\r\n");
    for level in (0..depth).rev() {
        raw.push_str(&format!("--b{level}--\r\n"));
    }

    let parsed = parse(raw.as_bytes());

    assert_eq!(parsed.subject.as_deref(), Some("deep"));
    assert!(
        parsed
            .text_body
            .unwrap_or_default()
            .contains("deepest text")
    );
}

#[test]
fn deeply_nested_attached_messages_parse() {
    let mut raw = String::from("From: a@investor.com\r\nSubject: innermost\r\n\r\nhello\r\n");
    for level in 0..100 {
        raw = format!(
            "From: a@investor.com\r\nSubject: level {level}\r\nContent-Type: message/rfc822\r\n\r\n{raw}"
        );
    }

    let parsed = parse(raw.as_bytes());

    assert_eq!(parsed.subject.as_deref(), Some("level 99"));
}

fn big_message(total: usize) -> Vec<u8> {
    let mut raw = b"From: a@investor.com\r\nTo: ann@fund.com\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"big\"\r\n\r\n--big\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--big\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\nContent-Disposition: attachment; filename=\"big.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    let line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2\r\n";
    while raw.len() + line.len() + 10 < total {
        raw.extend_from_slice(line);
    }
    raw.extend_from_slice(b"--big--\r\n");
    raw
}

#[test]
fn a_thirty_megabyte_message_is_too_large_by_default() {
    let raw = big_message(30 * 1024 * 1024);

    let got = MailParser::default().parse(&raw);

    assert_eq!(got, Err(ParseError::TooLarge { size: raw.len() }));
}

#[test]
fn a_thirty_megabyte_message_parses_when_the_limit_allows_it() {
    let raw = big_message(30 * 1024 * 1024);

    let parsed = MailParser {
        max_bytes: 40 * 1024 * 1024,
    }
    .parse(&raw)
    .unwrap();

    assert_eq!(parsed.subject.as_deref(), Some("big"));
    assert_eq!(parsed.attachments.len(), 1);
    assert!(
        parsed.attachments[0].size > 20 * 1024 * 1024,
        "{:?}",
        parsed.attachments[0]
    );
    assert_eq!(
        parsed.text_body.as_deref().map(str::trim),
        Some("see attached")
    );
}

#[test]
fn nul_characters_from_encoded_words_are_removed_from_every_text_field() {
    // PostgreSQL `text` refuses U+0000; encoded words can decode to it.
    let raw = b"From: =?UTF-8?Q?Evil=00Name?= <x@evil.com>\r\n\
To: ann@fund.com\r\n\
Subject: =?UTF-8?Q?Fund=00III?=\r\n\
Message-ID: <id-with-nul@evil.com>\r\n\
Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Body=00text\r\n";

    let parsed = parse(raw);

    let from = parsed.from.as_ref().expect("a sender");
    assert_eq!(from.name.as_deref(), Some("EvilName"));
    assert_eq!(parsed.subject.as_deref(), Some("FundIII"));
    let body = parsed.text_body.as_deref().unwrap_or_default();
    assert!(body.contains("Bodytext"), "{body:?}");
    for text in [
        parsed.subject.as_deref(),
        parsed.snippet.as_deref(),
        from.name.as_deref(),
        parsed.text_body.as_deref(),
    ] {
        assert!(!text.unwrap_or_default().contains('\0'), "{text:?}");
    }
}
