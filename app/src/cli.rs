//! The command line: `serve`, `migrate`, `token`, `directory import`,
//! `capture import`, `never-log`, `audit`, `bench`, `openapi`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use mailroom_adapters::clock::SystemClock;
use mailroom_adapters::parser::MailParser;
use mailroom_ports::EmailAddress;

use crate::config::Config;
use crate::http::error::DisplayChain;
use crate::wiring::{self, Overrides};
use crate::{auth, directory, http, import, schedulers, shutdown, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "mailroom",
    version,
    about = "The email side of the fund's CRM: Gmail capture, proposals, drafts, and the daily admin digest."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate the database, then run the HTTP API and the schedulers.
    Serve,
    /// Migrate the database and exit.
    Migrate,
    /// Mint a bearer token for a user, for local use.
    Token {
        #[arg(long)]
        email: String,
        /// How long it is valid: 30m, 1h, 7d or seconds.
        #[arg(long, default_value = "1h")]
        ttl: String,
        /// Print a sign-in link for the web console (the token rides in the
        /// URL fragment, which browsers never send to a server).
        #[arg(long)]
        link: bool,
    },
    /// The CRM directory mirror.
    Directory {
        #[command(subcommand)]
        command: DirectoryCommand,
    },
    /// Captured mail.
    Capture {
        #[command(subcommand)]
        command: CaptureCommand,
    },
    /// The never-log list: addresses and domains whose mail is kept as
    /// metadata only (as /api/admin/never-log).
    NeverLog {
        #[command(subcommand)]
        command: NeverLogCommand,
    },
    /// Audit captured mailboxes against Gmail's backfill window (as GET
    /// /api/email/accounts/{id}/audit); needs Gmail configured.
    Audit {
        /// One mailbox (default: every enabled one).
        #[arg(long)]
        mailbox: Option<String>,
        /// Also repair: capture the missing, fetch missing content, soft-delete the extra.
        #[arg(long)]
        repair: bool,
    },
    /// Benchmarks: seed a realistic database, time the activity list and the digest.
    Bench {
        #[command(subcommand)]
        command: crate::bench::BenchCommand,
    },
    /// Print the OpenAPI document (or write it to a file).
    Openapi {
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum DirectoryCommand {
    /// Upsert users, investors and contacts from a JSON file (as PUT /api/admin/directory).
    Import { file: PathBuf },
}

#[derive(Debug, Subcommand)]
enum CaptureCommand {
    /// Import messages into a mailbox through the same parse, match, store and
    /// propose path as a Gmail sync.
    ///
    /// Accepts `.eml` files (one RFC 822 message each), mbox files (mboxo or
    /// mboxrd, e.g. a Google Takeout export: a file starting with a `From `
    /// line) and folders, walked recursively for `*.eml` and `*.mbox`.
    /// Importing the same files again changes nothing: each message is known
    /// to the mailbox by the SHA-256 of its bytes. A file that cannot be read
    /// or parsed is counted as an error and skipped. The mailbox must already
    /// exist (POST /api/email/accounts) and be enabled.
    #[command(verbatim_doc_comment)]
    Import {
        /// The captured mailbox the messages belong to.
        #[arg(long)]
        mailbox: String,
        /// The messages were sent from this mailbox (its Sent folder).
        #[arg(long)]
        sent: bool,
        /// Files and folders to import.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum NeverLogCommand {
    /// Print the entries: id, kind, value.
    List,
    /// Add an address or a domain; the content already stored for its mail
    /// is erased and its pending proposals removed.
    Add {
        /// An address (lawyer@firm.com) or a domain (firm.com, with its subdomains).
        value: String,
        /// Also remove the approved activities of that mail.
        #[arg(long)]
        purge_activities: bool,
    },
    /// Remove an entry by its id (see `list`).
    Remove { id: i64 },
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Openapi { out } = &cli.command {
        return print_openapi(out.as_deref());
    }
    if let Command::Bench { command } = cli.command {
        return run_bench(command);
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mailroom: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mailroom: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mailroom: {}", DisplayChain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// Benchmarks need no service configuration beyond the database URL.
fn run_bench(command: crate::bench::BenchCommand) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mailroom: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::bench::run(command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mailroom bench: {}", DisplayChain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

fn print_openapi(out: Option<&std::path::Path>) -> ExitCode {
    let doc = http::openapi_json();
    match out {
        None => {
            println!("{doc}");
            ExitCode::SUCCESS
        }
        Some(path) => match std::fs::write(path, format!("{doc}\n")) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mailroom: cannot write {}: {e}", path.display());
                ExitCode::FAILURE
            }
        },
    }
}

async fn dispatch(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            wiring::connect_store(&config).await?;
            println!("database migrated");
            Ok(())
        }
        Command::Token { email, ttl, link } => {
            let email = EmailAddress::parse(&email).context("--email")?;
            let ttl = auth::parse_ttl(&ttl)
                .map_err(anyhow::Error::msg)
                .context("--ttl")?;
            let store = wiring::connect_store(&config).await?;
            let secret = wiring::jwt_secret(&config, store.as_ref()).await?;
            use mailroom_ports::Store;
            match store.user_by_email(&email).await? {
                None => {
                    eprintln!("warning: no user {email} in the directory; the API will answer 401")
                }
                Some(u) if !u.is_active => {
                    eprintln!("warning: {email} is inactive; the API will answer 403")
                }
                Some(_) => {}
            }
            let token = auth::mint(&secret, email.as_str(), ttl, jiff::Timestamp::now())?;
            if link {
                println!("{}", console_link(config.bind, &token));
            } else {
                println!("{token}");
            }
            Ok(())
        }
        Command::Directory {
            command: DirectoryCommand::Import { file },
        } => {
            let update = directory::parse_update_file(&file).map_err(anyhow::Error::msg)?;
            let store = wiring::connect_store(&config).await?;
            let (counts, job) = mailroom_domain::trust::update_directory(
                store.as_ref(),
                update,
                jiff::Timestamp::now(),
            )
            .await?;
            println!(
                "directory imported: {} users, {} investors, {} contacts",
                counts.users, counts.investors, counts.contacts
            );
            if job.is_some() {
                println!("matching widened: a re-match is requested (the running service does it)");
            }
            Ok(())
        }
        Command::Capture {
            command:
                CaptureCommand::Import {
                    mailbox,
                    sent,
                    paths,
                },
        } => capture_import(&config, &mailbox, sent, &paths).await,
        Command::NeverLog { command } => never_log(&config, command).await,
        Command::Audit { mailbox, repair } => audit(&config, mailbox.as_deref(), repair).await,
        Command::Openapi { .. } | Command::Bench { .. } => {
            unreachable!("handled before the runtime starts")
        }
    }
}

async fn capture_import(
    config: &Config,
    mailbox: &str,
    sent: bool,
    paths: &[PathBuf],
) -> anyhow::Result<()> {
    let mailbox = EmailAddress::parse(mailbox).context("--mailbox")?;
    let store = wiring::connect_store(config).await?;
    let options = import::ImportOptions {
        sent,
        internal_domains: config.internal_domains.clone(),
        ..import::ImportOptions::default()
    };
    let report = import::import_paths(
        store,
        Arc::new(MailParser::default()),
        Arc::new(SystemClock),
        &mailbox,
        &options,
        paths,
    )
    .await?;
    println!(
        "imported into {mailbox}: {} files, {} messages: {} captured, {} matched, \
         {} proposals, {} duplicates, {} errors in {:.2} s ({:.0} messages/s)",
        report.files,
        report.messages,
        report.captured,
        report.matched,
        report.proposals,
        report.duplicates,
        report.errors,
        report.elapsed.as_secs_f64(),
        report.messages_per_second()
    );
    Ok(())
}

async fn audit(config: &Config, mailbox: Option<&str>, repair: bool) -> anyhow::Result<()> {
    let mailbox = mailbox
        .map(EmailAddress::parse)
        .transpose()
        .context("--mailbox")?;
    let state = wiring::build(config, Overrides::default()).await?;
    let Some(audit) = state.audit.clone() else {
        anyhow::bail!("the audit needs Gmail: GOOGLE_SERVICE_ACCOUNT_FILE is not set");
    };
    let accounts: Vec<_> = state
        .store
        .list_accounts()
        .await?
        .into_iter()
        .filter(|a| match &mailbox {
            Some(m) => &a.email_address == m,
            None => a.enabled,
        })
        .collect();
    if accounts.is_empty() {
        anyhow::bail!("no such mailbox");
    }
    for account in accounts {
        let r = audit.audit(account.id, repair).await?;
        let (_, line) = http::audit::summary(r.in_gmail, r.captured, r.at);
        println!(
            "{}: {line}; missing {}, extra {}, failed to parse {}, content missing {}",
            account.email_address,
            r.missing.len(),
            r.extra.len(),
            r.failed.len(),
            r.content_missing.len()
        );
        print_examples("missing (in Gmail, not captured)", &r.missing);
        print_examples("extra (captured, gone from Gmail)", &r.extra);
        if !r.failed.is_empty() {
            println!("  failed to parse ({}):", r.failed.len());
            for f in r.failed.iter().take(http::audit::EXAMPLES) {
                println!("    {}: {}", f.gmail_message_id, f.error);
            }
        }
        print_examples(
            "content missing (matched, stored without content)",
            &r.content_missing,
        );
        if let Some(o) = r.repair {
            println!(
                "  repaired: {} captured, {} refetched, {} soft-deleted, {} still unparsable",
                o.captured, o.refetched, o.soft_deleted, o.unparsable
            );
        }
    }
    Ok(())
}

/// An audit finding's count and its first examples, when it has any.
fn print_examples(what: &str, ids: &[String]) {
    if ids.is_empty() {
        return;
    }
    let shown: Vec<&str> = ids
        .iter()
        .take(http::audit::EXAMPLES)
        .map(String::as_str)
        .collect();
    let more = if ids.len() > shown.len() { ", …" } else { "" };
    println!("  {what} ({}): {}{more}", ids.len(), shown.join(", "));
}

async fn never_log(config: &Config, command: NeverLogCommand) -> anyhow::Result<()> {
    use mailroom_ports::TrustStore;
    use mailroom_ports::trust::NeverLogTarget;
    let store = wiring::connect_store(config).await?;
    match command {
        NeverLogCommand::List => {
            for e in store.never_log_entries().await? {
                println!("{}\t{}\t{}", e.id, e.target.kind(), e.target.value());
            }
        }
        NeverLogCommand::Add {
            value,
            purge_activities,
        } => {
            let target = NeverLogTarget::parse(&value)
                .context("the value is neither an email address nor a domain")?;
            let (entry, purged) = mailroom_domain::trust::add_never_log(
                store.as_ref(),
                &target,
                purge_activities,
                &config.internal_domains,
                jiff::Timestamp::now(),
            )
            .await
            .map_err(|e| match e {
                mailroom_domain::trust::NeverLogError::Refused(reason) => anyhow::anyhow!(reason),
                mailroom_domain::trust::NeverLogError::Store(e) => e.into(),
            })?;
            println!(
                "never-log entry {} added ({} {}): {} emails purged, {} pending proposals \
                 removed, {} activities removed",
                entry.id,
                entry.target.kind(),
                entry.target.value(),
                purged.emails_purged,
                purged.proposals_removed,
                purged.activities_removed
            );
        }
        NeverLogCommand::Remove { id } => {
            let (entry, _) = mailroom_domain::trust::remove_never_log(
                store.as_ref(),
                id,
                jiff::Timestamp::now(),
            )
            .await?;
            println!(
                "never-log entry {} removed ({} {}); a re-match is requested",
                entry.id,
                entry.target.kind(),
                entry.target.value()
            );
        }
    }
    Ok(())
}

/// The console's sign-in URL on `bind`: an unspecified address (0.0.0.0, ::)
/// is reached on loopback.
fn console_link(bind: std::net::SocketAddr, token: &str) -> String {
    let mut addr = bind;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{addr}/#token={token}")
}

async fn serve(config: Config) -> anyhow::Result<()> {
    // Bound first, so a taken address fails before any "listening" line
    // and before the database is touched.
    let listener = http::server::bind(config.bind).await?;
    let state = wiring::build(&config, Overrides::default()).await?;
    tracing::info!(bind = %config.bind, "mailroom listening; API docs at /docs");

    let grace = config.http.connections.shutdown_grace;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let on_signal = {
        let state = state.clone();
        async move {
            let signal = shutdown::signal().await;
            tracing::info!(
                signal,
                grace_s = grace.as_secs(),
                "stopping: no new connections or cycles; in-flight requests, a sync's current batch and a digest send may finish"
            );
            if let Some(sync) = &state.sync {
                sync.stop();
            }
            let _ = stop_tx.send(true);
        }
    };
    let work = async {
        tokio::join!(
            http::server::serve(
                listener,
                http::routes_with(state.clone(), config.http.requests),
                config.http.connections,
                shutdown::stopped(stop_rx.clone()),
            ),
            schedulers::digest_loop(state.clone(), stop_rx.clone()),
            schedulers::sync_loop(state.clone(), config.sync_interval, stop_rx.clone()),
            schedulers::rematch_loop(
                state.clone(),
                std::time::Duration::from_secs(10),
                stop_rx.clone(),
            ),
            schedulers::audit_loop(state.clone(), stop_rx.clone()),
        )
    };
    let deadline = async {
        shutdown::stopped(stop_rx.clone()).await;
        // The server bounds its own wait by the grace; this bounds the
        // schedulers' last cycle, with a little room for the server's logs.
        tokio::time::sleep(grace + std::time::Duration::from_secs(1)).await;
    };
    let signal_task = tokio::spawn(on_signal);
    tokio::select! {
        (served, (), (), (), ()) = work => {
            served.context("the HTTP server stopped")?;
            tracing::info!("mailroom stopped");
        }
        () = deadline => tracing::warn!(
            "the grace period is over with work still running; it is cut (a digest claim or mailbox lease expires on its own)"
        ),
    }
    signal_task.abort();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::console_link;

    #[test]
    fn the_link_carries_the_token_in_the_fragment_on_a_reachable_address() {
        let l = console_link("127.0.0.1:8080".parse().unwrap(), "a.b.c");
        assert_eq!(l, "http://127.0.0.1:8080/#token=a.b.c");
        let l = console_link("0.0.0.0:9000".parse().unwrap(), "t");
        assert_eq!(l, "http://127.0.0.1:9000/#token=t");
        let l = console_link("[::]:9000".parse().unwrap(), "t");
        assert_eq!(l, "http://[::1]:9000/#token=t");
    }
}
