//! `mailroom bench capture`: a deterministic corpus of `.eml` files shaped
//! like a fund's mail (about 100 kB on average: multipart/alternative,
//! HTML-only, attachments, non-UTF-8 charsets; ~30% from known contacts),
//! imported through the same path as `mailroom capture import`
//! ([`import::import_paths`], every core), beside the single-core
//! parse-only rate of the same files.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use mailroom_adapters::clock::SystemClock;
use mailroom_adapters::parser::MailParser;
use mailroom_adapters::store::SeaStore;
use mailroom_ports::parse::MessageParser as _;
use mailroom_ports::{Domain, EmailAddress};

use super::seed::{self, Rng};
use crate::import;

/// Bumped whenever the generator changes, so an old corpus is rebuilt.
const CORPUS_VERSION: &str = "mailroom-bench-corpus v1";
/// The mailbox the corpus is imported into.
const MAILBOX: u64 = 1;

/// Builds (or reuses) the corpus, imports it into an empty database and
/// prints the figures.
pub async fn run(store: Arc<SeaStore>, messages: u64, dir: &Path) -> anyhow::Result<()> {
    let files = ensure_corpus(dir, messages)?;
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    println!("capture_corpus_messages: {} messages", files.len());
    println!(
        "capture_corpus_average: {:.1} kB",
        bytes as f64 / files.len().max(1) as f64 / 1000.0
    );

    seed::directory_and_mailboxes(store.as_ref()).await?;
    let mailbox = EmailAddress::parse(&seed::mailbox_address(MAILBOX))?;
    let options = import::ImportOptions {
        internal_domains: vec![Domain::parse("fund.example")?],
        ..import::ImportOptions::default()
    };
    let rss_before = super::peak_rss_kb();
    let report = import::import_paths(
        store.clone(),
        Arc::new(MailParser::default()),
        Arc::new(SystemClock),
        &mailbox,
        &options,
        &[dir.to_path_buf()],
    )
    .await?;
    let rss_after = super::peak_rss_kb();
    anyhow::ensure!(
        report.errors == 0 && report.captured == files.len() as u64,
        "the import did not capture every message: {report:?} (import into an empty database)"
    );
    println!(
        "capture_import_workers: {} threads",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("capture_import_time: {:.2} s", report.elapsed.as_secs_f64());
    println!(
        "capture_import_rate: {:.0} messages/s",
        report.messages_per_second()
    );
    println!(
        "capture_import_throughput: {:.1} MB/s",
        bytes as f64 / 1e6 / report.elapsed.as_secs_f64().max(1e-9)
    );
    println!("capture_import_matched: {} messages", report.matched);
    println!("capture_import_proposals: {} proposals", report.proposals);
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        println!(
            "capture_rss_before_import: {:.1} MB",
            before as f64 / 1024.0
        );
        println!("capture_peak_rss: {:.1} MB", after as f64 / 1024.0);
    }

    // Parse-only on one core, file reads not timed: mail-parser alone, then
    // mailroom's parser adapter (mail-parser plus the snippet, addresses
    // and attachment hashes capture stores).
    let raw_parser = mail_parser::MessageParser::default();
    let adapter = MailParser::default();
    let (mut raw_time, mut adapter_time) = (Duration::ZERO, Duration::ZERO);
    for file in &files {
        let data = std::fs::read(file)?;
        let started = Instant::now();
        let parsed = raw_parser.parse(&data[..]);
        raw_time += started.elapsed();
        anyhow::ensure!(parsed.is_some(), "mail-parser refused {}", file.display());
        drop(parsed);
        let started = Instant::now();
        let parsed = adapter.parse(&data);
        adapter_time += started.elapsed();
        parsed.with_context(|| format!("parse {}", file.display()))?;
    }
    let rate = |t: Duration| files.len() as f64 / t.as_secs_f64().max(1e-9);
    println!(
        "capture_parse_only_mail_parser_1core: {:.0} messages/s",
        rate(raw_time)
    );
    println!(
        "capture_parse_only_adapter_1core: {:.0} messages/s",
        rate(adapter_time)
    );
    println!(
        "capture_import_vs_parse_only: {:.2} x",
        report.messages_per_second() / rate(raw_time)
    );
    Ok(())
}

/// The corpus's files, generated unless `dir` already holds this version
/// at this size.
fn ensure_corpus(dir: &Path, messages: u64) -> anyhow::Result<Vec<PathBuf>> {
    let marker = dir.join("CORPUS");
    let wanted = format!("{CORPUS_VERSION} {messages}\n");
    let names: Vec<PathBuf> = (0..messages)
        .map(|i| dir.join(format!("{i:07}.eml")))
        .collect();
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(names);
    }
    let started = Instant::now();
    if dir.exists() {
        // Only ever a folder this bench made: it holds the marker file.
        anyhow::ensure!(
            marker.exists() || std::fs::read_dir(dir)?.next().is_none(),
            "{} exists and is not a bench corpus; name another --corpus folder",
            dir.display()
        );
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    for (i, name) in names.iter().enumerate() {
        std::fs::write(name, message(i as u64))?;
    }
    std::fs::write(&marker, wanted)?;
    println!(
        "capture_corpus_generation_time: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(names)
}

/// One deterministic message, about 100 kB on average over the mix.
pub fn message(i: u64) -> Vec<u8> {
    let mut rng = Rng(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xCA97);
    let newest: Timestamp = seed::NEWEST.parse().expect("a timestamp");
    let date = newest - SignedDuration::from_secs((rng.below(365 * 86_400)) as i64);
    let date = date.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string();
    let matched = rng.percent(30);
    let from = if matched {
        seed::contact_address(rng.below(seed::CONTACTS))
    } else {
        format!(
            "person{}@company{}.example",
            rng.below(50_000),
            rng.below(997)
        )
    };
    let to = seed::mailbox_address(MAILBOX);
    let subject = sentence(&mut rng, 6);
    let boundary = format!("=_bench_{i}_{}", rng.next());
    let mut out = String::new();
    let head = |kind: &str| {
        format!(
            "Return-Path: <{from}>\r\nReceived: from mx.example (mx.example [192.0.2.1]) by \
             mx.fund.example; {date}\r\nMessage-ID: <cap-{i}@bench.example>\r\nDate: {date}\r\n\
             From: \"Sender {i}\" <{from}>\r\nTo: <{to}>\r\nMIME-Version: 1.0\r\n{kind}"
        )
    };
    match i % 20 {
        // multipart/alternative, text + HTML, quoted-printable: ~40 kB.
        0..=7 => {
            out.push_str(&head(&format!(
                "Subject: {subject}\r\nContent-Type: multipart/alternative; \
                 boundary=\"{boundary}\"\r\n\r\n"
            )));
            let text = paragraphs(&mut rng, 12_000);
            push_alternative(&mut out, &boundary, &text);
        }
        // HTML only, base64: ~60 kB.
        8..=11 => {
            out.push_str(&head(&format!(
                "Subject: =?UTF-8?B?{}?=\r\nContent-Type: text/html; charset=utf-8\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n",
                base64(subject.as_bytes(), 0)
            )));
            let text = paragraphs(&mut rng, 40_000);
            out.push_str(&base64(html(&text).as_bytes(), 76));
        }
        // multipart/mixed: alternative + one or two attachments: ~300 kB.
        12..=16 => {
            out.push_str(&head(&format!(
                "Subject: {subject}\r\nContent-Type: multipart/mixed; \
                 boundary=\"{boundary}\"\r\n\r\n"
            )));
            let inner = format!("{boundary}_alt");
            out.push_str(&format!(
                "--{boundary}\r\nContent-Type: multipart/alternative; boundary=\"{inner}\"\r\n\r\n"
            ));
            let text = paragraphs(&mut rng, 6_000);
            push_alternative(&mut out, &inner, &text);
            for n in 0..1 + rng.below(2) {
                let size = 60_000 + rng.below(200_000) as usize;
                let data: Vec<u8> = (0..size).map(|_| rng.next() as u8).collect();
                out.push_str(&format!(
                    "--{boundary}\r\nContent-Type: application/pdf; name=\"deck-{i}-{n}.pdf\"\r\n\
                     Content-Disposition: attachment; filename=\"deck-{i}-{n}.pdf\"\r\n\
                     Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
                    base64(&data, 76)
                ));
            }
            out.push_str(&format!("--{boundary}--\r\n"));
        }
        // Non-UTF-8: Latin-1 (8bit) or windows-1252 (quoted-printable) with
        // an encoded-word subject: ~20 kB.
        _ => {
            let (charset, text) = (
                if i.is_multiple_of(2) {
                    "iso-8859-1"
                } else {
                    "windows-1252"
                },
                paragraphs(&mut rng, 20_000),
            );
            let encoded: Vec<u8> = text
                .chars()
                .map(|c| match c {
                    '€' if charset == "windows-1252" => 0x80,
                    c if (c as u32) < 0x100 => c as u32 as u8,
                    _ => b'?',
                })
                .collect();
            let subject_qp = qp(&subject
                .chars()
                .map(|c| {
                    if (c as u32) < 0x100 {
                        c as u32 as u8
                    } else {
                        b'?'
                    }
                })
                .collect::<Vec<u8>>())
            .replace(' ', "_")
            .replace("=\r\n", "");
            if charset == "iso-8859-1" {
                let mut bytes = head(&format!(
                    "Subject: =?{charset}?Q?{subject_qp}?=\r\nContent-Type: text/plain; \
                     charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                ))
                .into_bytes();
                for line in encoded.split(|b| *b == b'\n') {
                    bytes.extend_from_slice(line);
                    bytes.extend_from_slice(b"\r\n");
                }
                return bytes;
            }
            out.push_str(&head(&format!(
                "Subject: =?{charset}?Q?{subject_qp}?=\r\nContent-Type: text/plain; \
                 charset={charset}\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            )));
            out.push_str(&qp(&encoded));
        }
    }
    out.into_bytes()
}

fn push_alternative(out: &mut String, boundary: &str, text: &str) {
    out.push_str(&format!(
        "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n\
         --{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n--{boundary}--\r\n",
        qp(text.as_bytes()),
        qp(html(text).as_bytes())
    ));
}

const EXTRA_WORDS: &[&str] = &[
    "€",
    "–",
    "“quoted”",
    "Grüße",
    "Zürich",
    "São",
    "Paulo",
    "naïve",
    "façade",
    "Øresund",
];

/// Words of the seeded vocabulary (with some accented and symbol words),
/// in sentences and paragraphs, about `chars` characters.
fn paragraphs(rng: &mut Rng, chars: usize) -> String {
    let target = chars / 2 + rng.below(chars as u64) as usize;
    let mut out = String::with_capacity(target + 200);
    while out.len() < target {
        let words = 8 + rng.below(12) as usize;
        out.push_str(&sentence(rng, words));
        out.push_str(if rng.percent(20) { "\n\n" } else { " " });
    }
    out
}

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut s: Vec<&str> = (0..words)
        .map(|_| {
            if rng.percent(5) {
                EXTRA_WORDS[rng.below(EXTRA_WORDS.len() as u64) as usize]
            } else {
                seed::WORDS[rng.below(seed::WORDS.len() as u64) as usize]
            }
        })
        .collect();
    if rng.percent(20) {
        s[0] = seed::COMMON_WORD;
    }
    let mut s = s.join(" ");
    s.push('.');
    s
}

fn html(text: &str) -> String {
    let mut out = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>p{font-family:Arial,\
         sans-serif;font-size:14px;color:#222}</style></head><body><div class=\"msg\">",
    );
    for p in text.split("\n\n") {
        out.push_str("<p style=\"margin:0 0 12px 0\"><span>");
        out.push_str(&p.replace('&', "&amp;").replace('<', "&lt;"));
        out.push_str("</span></p>\n");
    }
    out.push_str("</div></body></html>");
    out
}

/// Quoted-printable with soft line breaks at 76 characters.
fn qp(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 11 / 10);
    let mut line = 0;
    for &b in bytes {
        if b == b'\n' {
            out.push_str("\r\n");
            line = 0;
            continue;
        }
        let piece = if (b == b' ' || b.is_ascii_graphic()) && b != b'=' {
            (b as char).to_string()
        } else {
            format!("={b:02X}")
        };
        if line + piece.len() > 75 {
            out.push_str("=\r\n");
            line = 0;
        }
        line += piece.len();
        out.push_str(&piece);
    }
    out
}

/// Base64 (standard alphabet), lines of `width` characters (0: one line).
fn base64(bytes: &[u8], width: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + bytes.len() / 38 + 4);
    let mut line = 0;
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for k in 0..4 {
            let c = if k <= chunk.len() {
                ALPHABET[((n >> (18 - 6 * k)) & 63) as usize] as char
            } else {
                '='
            };
            out.push(c);
        }
        line += 4;
        if width > 0 && line >= width {
            out.push_str("\r\n");
            line = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_is_deterministic_and_parses() {
        let parser = MailParser::default();
        for i in 0..40 {
            let raw = message(i);
            assert_eq!(raw, message(i));
            let parsed = parser.parse(&raw).expect("parses");
            assert!(parsed.subject.is_some_and(|s| !s.is_empty()), "message {i}");
        }
    }

    #[test]
    fn base64_and_quoted_printable_round_trip_through_mail_parser() {
        let raw = message(18); // windows-1252, quoted-printable
        let parsed = mail_parser::MessageParser::default()
            .parse(&raw[..])
            .expect("parses");
        let body = parsed.body_text(0).expect("a body");
        assert!(!body.contains('\u{FFFD}'));
        assert_eq!(base64(b"any carnal pleas", 0), "YW55IGNhcm5hbCBwbGVhcw==");
    }
}
