//! `mailroom capture import`: loads `.eml` files and mbox exports into one
//! mailbox through the same parse → match → store → propose path as a Gmail
//! sync ([`capture_parsed`]), so an operator can load an export or a test
//! corpus without Google.
//!
//! Each message's sighting id is `import-` and the SHA-256 of its bytes, so
//! importing the same files again finds every message already known to the
//! mailbox and changes nothing. Parsing runs on every core; the store gets
//! a hundred captures per transaction.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt, stream};
use mailroom_domain::capture::{Captured, capture_parsed_many, matcher_for, normalize_message_id};
use mailroom_domain::matching::Matcher;
use mailroom_ports::gmail::RawMessage;
use mailroom_ports::parse::MessageParser;
use mailroom_ports::records::{EmailAccount, ParsedMessage};
use mailroom_ports::{Clock, Domain, EmailAddress, Store, StoreError};
use sha2::{Digest, Sha256};

/// The prefix of every imported sighting id; Gmail's own ids are bare hex,
/// so the two can never collide in one mailbox.
pub use mailroom_ports::gmail::IMPORTED_ID_PREFIX as IMPORT_ID_PREFIX;

/// How an import runs.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The messages were sent from the mailbox (its Sent folder).
    pub sent: bool,
    /// `CRM_INTERNAL_DOMAINS`, as the sync uses them for matching.
    pub internal_domains: Vec<Domain>,
    /// Threads that parse at once; 0 means one per core.
    pub parse_workers: usize,
    /// Store transactions written at once.
    pub store_concurrency: usize,
    /// Captures per store transaction.
    pub store_batch: usize,
    /// Messages read, checked and parsed per batch; bounds memory.
    pub batch: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            sent: false,
            internal_domains: Vec::new(),
            parse_workers: 0,
            store_concurrency: 2,
            store_batch: 100,
            batch: 500,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Files read (an mbox file counts once).
    pub files: u64,
    /// Messages found in them.
    pub messages: u64,
    /// Messages newly stored in the mailbox.
    pub captured: u64,
    /// Of those, messages linked to at least one investor.
    pub matched: u64,
    /// Pending proposals the captures created.
    pub proposals: u64,
    /// Messages the mailbox already held (an earlier import, or the same
    /// bytes twice in this one); nothing is written for them.
    pub duplicates: u64,
    /// Unreadable files and unparsable messages, each skipped (an
    /// unparsable one is recorded on the mailbox as a capture error).
    pub errors: u64,
    /// Wall time of the whole import.
    pub elapsed: Duration,
}

impl ImportReport {
    /// Messages handled per second of wall time.
    pub fn messages_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.messages as f64 / secs
        } else {
            0.0
        }
    }
}

/// Why an import could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(
        "{0} is not a captured mailbox; add it first with POST /api/email/accounts \
         (body {{\"user_email\": \"<owner>\", \"email_address\": \"{0}\"}})"
    )]
    NoSuchMailbox(EmailAddress),
    #[error(
        "the mailbox {0} is disabled; enable it with PATCH /api/email/accounts/{{id}} before importing"
    )]
    Disabled(EmailAddress),
    #[error("cannot read {path}: {source}")]
    Path {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("store call failed")]
    Store(#[from] StoreError),
    #[error("a parse worker failed")]
    Worker(#[from] tokio::task::JoinError),
}

/// Imports files and folders into `mailbox`.
///
/// A folder is walked recursively for `*.eml` and `*.mbox` files (in name
/// order); a file named on the command line is read whatever its name. A
/// file that starts with an mbox `From ` line is split into its messages;
/// any other file is one RFC 822 message.
///
/// # Errors
/// `NoSuchMailbox`/`Disabled` before anything is read; `Path` when a named
/// path does not exist; `Store` when the store fails (what was committed
/// stays, and importing again resumes).
pub async fn import_paths(
    store: Arc<dyn Store>,
    parser: Arc<dyn MessageParser>,
    clock: Arc<dyn Clock>,
    mailbox: &EmailAddress,
    options: &ImportOptions,
    paths: &[PathBuf],
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let files = expand_paths(paths)?;
    let mut importer = Importer::start(store, parser, clock, mailbox, options).await?;
    let mut pending = Vec::new();
    for file in files {
        importer.report.files += 1;
        match std::fs::read(&file) {
            Ok(bytes) if is_mbox(&bytes) => pending.extend(split_mbox(&bytes)),
            Ok(bytes) => pending.push(bytes),
            Err(error) => {
                tracing::warn!(path = %file.display(), %error, "file skipped: it cannot be read");
                importer.report.errors += 1;
            }
        }
        if pending.len() >= importer.options.batch.max(1) {
            importer.run_batch(std::mem::take(&mut pending)).await?;
        }
    }
    importer.run_batch(pending).await?;
    importer.finish(started).await
}

/// Imports raw RFC 822 messages already in memory into `mailbox` (the path
/// `import_paths` and the benchmark share). `files` in the report stays 0.
///
/// # Errors
/// As [`import_paths`], without `Path`.
pub async fn import_messages(
    store: Arc<dyn Store>,
    parser: Arc<dyn MessageParser>,
    clock: Arc<dyn Clock>,
    mailbox: &EmailAddress,
    options: &ImportOptions,
    messages: Vec<Vec<u8>>,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let mut importer = Importer::start(store, parser, clock, mailbox, options).await?;
    for chunk in in_chunks(messages, options.batch) {
        importer.run_batch(chunk).await?;
    }
    importer.finish(started).await
}

/// `items` split, in order, into owned chunks of at most `size` (at least 1).
fn in_chunks<T>(items: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut chunks = Vec::new();
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        chunks.push(items.by_ref().take(size.max(1)).collect());
    }
    chunks
}

/// The sighting id of an imported message: stable for the same bytes.
pub fn import_id(raw: &[u8]) -> String {
    let digest = Sha256::digest(raw);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{IMPORT_ID_PREFIX}{hex}")
}

/// Whether the bytes are an mbox file: it starts with a `From ` separator
/// line (a message's own `From:` header has a colon).
pub fn is_mbox(bytes: &[u8]) -> bool {
    bytes.starts_with(b"From ")
}

/// The messages of an mbox file (mboxo or mboxrd): split on the `From `
/// lines that start the file or follow a newline, the separator lines
/// dropped, one `>` removed from `>From ` quoted lines, and the blank line
/// mbox puts between messages removed.
pub fn split_mbox(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut messages = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        if line.starts_with(b"From ") {
            if let Some(done) = current.take() {
                messages.push(strip_separator_blank(done));
            }
            current = Some(Vec::new());
            continue;
        }
        let Some(message) = current.as_mut() else {
            continue;
        };
        let quoted = line.iter().take_while(|b| **b == b'>').count();
        if quoted > 0 && line[quoted..].starts_with(b"From ") {
            message.extend_from_slice(&line[1..]);
        } else {
            message.extend_from_slice(line);
        }
    }
    if let Some(done) = current {
        messages.push(strip_separator_blank(done));
    }
    messages
}

fn strip_separator_blank(mut message: Vec<u8>) -> Vec<u8> {
    if message.ends_with(b"\r\n\r\n") {
        message.truncate(message.len() - 2);
    } else if message.ends_with(b"\n\n") {
        message.truncate(message.len() - 1);
    }
    message
}

/// The files to read, in order: named files as they are, folders walked
/// for `*.eml` and `*.mbox`.
fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ImportError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| ImportError::Path {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            walk(path, &mut files)?;
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), ImportError> {
    let read = |source| ImportError::Path {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(read)?
        .collect::<Result<_, _>>()
        .map_err(read)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        // Symlinked folders are not followed, so a link loop cannot make
        // the walk endless.
        let kind = entry.file_type().map_err(read)?;
        if kind.is_dir() {
            walk(&path, files)?;
        } else if path.is_file() && has_mail_extension(&path) {
            files.push(path);
        }
    }
    Ok(())
}

fn has_mail_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("eml") || e.eq_ignore_ascii_case("mbox"))
}

/// One import run's state: the mailbox, the matcher built once at the
/// start (as a sync run does) and the running counts.
struct Importer {
    store: Arc<dyn Store>,
    parser: Arc<dyn MessageParser>,
    clock: Arc<dyn Clock>,
    account: EmailAccount,
    matcher: Arc<Matcher>,
    options: ImportOptions,
    workers: usize,
    seen: HashSet<String>,
    report: ImportReport,
    /// The batch being written while the next one is read and parsed.
    writing: Option<tokio::task::JoinHandle<Result<Vec<Captured>, StoreError>>>,
}

impl Importer {
    async fn start(
        store: Arc<dyn Store>,
        parser: Arc<dyn MessageParser>,
        clock: Arc<dyn Clock>,
        mailbox: &EmailAddress,
        options: &ImportOptions,
    ) -> Result<Self, ImportError> {
        let account = store
            .list_accounts()
            .await?
            .into_iter()
            .find(|a| &a.email_address == mailbox)
            .ok_or_else(|| ImportError::NoSuchMailbox(mailbox.clone()))?;
        if !account.enabled {
            return Err(ImportError::Disabled(mailbox.clone()));
        }
        let matcher = Arc::new(matcher_for(store.as_ref(), &options.internal_domains).await?);
        let workers = match options.parse_workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        Ok(Self {
            store,
            parser,
            clock,
            account,
            matcher,
            options: options.clone(),
            workers,
            seen: HashSet::new(),
            writing: None,
            report: ImportReport::default(),
        })
    }

    async fn finish(mut self, started: Instant) -> Result<ImportReport, ImportError> {
        self.settle().await?;
        self.report.elapsed = started.elapsed();
        tracing::info!(report = ?self.report, mailbox = %self.account.email_address, "import finished");
        Ok(self.report)
    }

    /// Hashes, skips what the mailbox already holds, parses the rest on
    /// every core, and stores them.
    async fn run_batch(&mut self, messages: Vec<Vec<u8>>) -> Result<(), ImportError> {
        if messages.is_empty() {
            return Ok(());
        }
        self.report.messages += messages.len() as u64;
        let hashed = self
            .parallel(messages, |raw| {
                let id = import_id(&raw);
                (id, raw)
            })
            .await?;

        let mut unseen = Vec::with_capacity(hashed.len());
        for (id, raw) in hashed {
            if self.seen.insert(id.clone()) {
                unseen.push((id, raw));
            } else {
                self.report.duplicates += 1;
            }
        }
        let ids: Vec<String> = unseen.iter().map(|(id, _)| id.clone()).collect();
        let known: HashSet<String> = self
            .store
            .known_gmail_ids(self.account.id, &ids)
            .await?
            .into_iter()
            .collect();
        let fresh: Vec<(String, Vec<u8>)> = unseen
            .into_iter()
            .filter(|(id, _)| !known.contains(id))
            .collect();
        self.report.duplicates += known.len() as u64;

        let parser = self.parser.clone();
        let sent = self.options.sent;
        let parsed = self
            .parallel(fresh, move |(id, raw)| {
                let parsed = parser.parse(&raw);
                (imported_raw(id, raw, sent, parsed.as_ref().ok()), parsed)
            })
            .await?;

        // The previous batch's writes finish while this one was parsed; at
        // most one batch is being written at a time, so memory stays bound.
        self.settle().await?;
        let store = self.store.clone();
        let matcher = self.matcher.clone();
        let account_id = self.account.id;
        let now = self.clock.now();
        let (per_txn, concurrency) = (
            self.options.store_batch,
            self.options.store_concurrency.max(1),
        );
        self.writing = Some(tokio::spawn(async move {
            // A transaction of `store_batch` captures at a time,
            // `store_concurrency` transactions at once.
            let batches = in_chunks(parsed, per_txn);
            let (store, matcher) = (store.as_ref(), matcher.as_ref());
            let outcomes: Vec<Vec<Captured>> = stream::iter(batches)
                .map(|batch| capture_parsed_many(store, account_id, batch, matcher, now))
                .buffer_unordered(concurrency)
                .try_collect()
                .await?;
            Ok(outcomes.into_iter().flatten().collect())
        }));
        Ok(())
    }

    /// Waits for the batch being written and counts what became of it.
    async fn settle(&mut self) -> Result<(), ImportError> {
        let Some(writing) = self.writing.take() else {
            return Ok(());
        };
        for outcome in writing.await?? {
            match outcome {
                Captured::Stored { matched, outcome } => {
                    if outcome.new_sighting {
                        self.report.captured += 1;
                        self.report.matched += u64::from(matched);
                    } else {
                        self.report.duplicates += 1;
                    }
                    self.report.proposals += u64::from(outcome.proposals_created);
                }
                Captured::Unparsable => self.report.errors += 1,
            }
        }
        Ok(())
    }

    /// Applies `f` to every item on `workers` blocking threads, keeping
    /// the order. Each thread takes the next item when it is free, so a few
    /// large messages do not leave the other threads idle at the end.
    async fn parallel<T, U, F>(&self, items: Vec<T>, f: F) -> Result<Vec<U>, ImportError>
    where
        T: Send + 'static,
        U: Send + 'static,
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let count = items.len();
        let f = Arc::new(f);
        let queue = Arc::new(std::sync::Mutex::new(items.into_iter().enumerate()));
        let handles: Vec<_> = (0..self.workers.clamp(1, count))
            .map(|_| {
                let (f, queue) = (f.clone(), queue.clone());
                tokio::task::spawn_blocking(move || {
                    let mut done = Vec::new();
                    loop {
                        // A poisoned lock means another worker panicked; its
                        // join error is reported below.
                        let next = match queue.lock() {
                            Ok(mut items) => items.next(),
                            Err(_) => None,
                        };
                        let Some((at, item)) = next else { break };
                        done.push((at, f(item)));
                    }
                    done
                })
            })
            .collect();
        let mut out: Vec<(usize, U)> = Vec::with_capacity(count);
        for handle in handles {
            out.extend(handle.await?);
        }
        out.sort_by_key(|(at, _)| *at);
        Ok(out.into_iter().map(|(_, u)| u).collect())
    }
}

/// The imported message as the capture path expects a fetched one: the
/// hash as its id, `SENT` when it came from the Sent folder, and a thread
/// id from the root of its `References` (else its `In-Reply-To`, else its
/// own `Message-ID`) so a conversation's messages share a thread.
fn imported_raw(
    id: String,
    raw: Vec<u8>,
    sent: bool,
    parsed: Option<&ParsedMessage>,
) -> RawMessage {
    let thread = parsed
        .and_then(|p| {
            p.references
                .first()
                .or(p.in_reply_to.as_ref())
                .or(p.message_id.as_ref())
        })
        .and_then(|r| normalize_message_id(r))
        .map(|root| format!("{IMPORT_ID_PREFIX}thread-{root}"))
        .unwrap_or_else(|| id.clone());
    RawMessage {
        id,
        thread_id: thread,
        label_ids: vec![if sent { "SENT" } else { "INBOX" }.to_string()],
        history_id: None,
        internal_date: None,
        size_estimate: raw.len() as u64,
        raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_import_id_is_stable_for_the_same_bytes() {
        assert_eq!(import_id(b"a"), import_id(b"a"));
        assert_ne!(import_id(b"a"), import_id(b"b"));
        assert!(import_id(b"a").starts_with(IMPORT_ID_PREFIX));
    }

    #[test]
    fn an_mbox_is_split_on_its_from_lines_and_unquoted() {
        let mbox = b"From a@x Mon Jan  1 00:00:00 2025\nFrom: a@x\nSubject: one\n\n>From here\nbody\n\nFrom b@x Mon Jan  1 00:00:00 2025\nFrom: b@x\n\ntwo\n";
        assert!(is_mbox(mbox));
        let messages = split_mbox(mbox);
        assert_eq!(messages.len(), 2);
        assert_eq!(
            messages[0],
            b"From: a@x\nSubject: one\n\nFrom here\nbody\n".to_vec()
        );
        assert_eq!(messages[1], b"From: b@x\n\ntwo\n".to_vec());
    }

    #[test]
    fn a_message_with_a_from_header_is_not_an_mbox() {
        assert!(!is_mbox(b"From: a@x\n\nhi\n"));
    }
}
