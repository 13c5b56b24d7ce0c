//! The fuzz targets' inputs replayed through the same entry points as
//! `fuzz/fuzz_targets/`, in the ordinary test run (no fuzzing toolchain):
//! the committed seeds and every crash input kept under
//! `tests/fixtures/fuzz/<target>/`, plus libFuzzer's local corpus when one
//! exists. Each input must be answered (accepted or refused) without a panic,
//! so a crash the fuzzer once found stays a regression test.
//!
//! The parser's hostile corpus (`tests/fixtures/hostile/`, including its
//! `fuzz/` folder) is replayed by `hostile_corpus.rs`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use mailroom_adapters::parser::MailParser;
use mailroom_app::http::digest::{PolicyPatchBody, TestEmailBody};
use mailroom_app::http::directory::DirectoryBody;
use mailroom_app::http::drafts::DraftBody;
use mailroom_ports::parse::MessageParser;
use poem_openapi::types::ParseFromJSON;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// The files directly in each of `dirs` that exist, sorted.
fn inputs(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .filter(|dir| dir.is_dir())
        .flat_map(|dir| {
            std::fs::read_dir(dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|entry| entry.expect("a directory entry").path())
        })
        .filter(|path| path.is_file() && path.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    files
}

/// What `fuzz_targets/json_bodies.rs` does with one input.
fn json_bodies(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if DirectoryBody::parse_from_json(Some(value.clone())).is_ok() {
        let _ = mailroom_app::directory::parse_update_value(value.clone());
    }
    let _ = mailroom_app::directory::parse_update_value(value.clone());
    let _ = PolicyPatchBody::parse_from_json(Some(value.clone()));
    let _ = TestEmailBody::parse_from_json(Some(value.clone()));
    let _ = DraftBody::parse_from_json(Some(value));
}

/// What `fuzz_targets/parse_message.rs` does with one input: a panic the
/// parser contains is an answer; one that escapes `parse` is a failure.
fn parse_message(data: &[u8]) {
    let _ = MailParser::default().parse(data);
}

fn replay(target: &str, seeds: &[PathBuf], run: fn(&[u8])) -> usize {
    let root = repo();
    let mut dirs = seeds.to_vec();
    dirs.push(root.join("tests/fixtures/fuzz").join(target));
    dirs.push(root.join("fuzz/corpus").join(target));
    let files = inputs(&dirs);
    let mut panicked = Vec::new();
    for path in &files {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
            panicked.push(path.display().to_string());
        }
    }
    assert!(panicked.is_empty(), "{target} panicked on: {panicked:#?}");
    files.len()
}

#[test]
fn every_json_bodies_seed_and_kept_crash_is_answered_without_a_panic() {
    let replayed = replay(
        "json_bodies",
        &[repo().join("fuzz/seeds/json_bodies")],
        json_bodies,
    );
    assert!(replayed >= 4, "the seeds are in place: {replayed}");
}

#[test]
fn every_parse_message_seed_and_kept_crash_is_answered_without_a_panic() {
    let replayed = replay(
        "parse_message",
        &[repo().join("tests/fixtures/eml")],
        parse_message,
    );
    assert!(replayed >= 8, "the seeds are in place: {replayed}");
}
