//! The trust commands of the real binary against the team's database and
//! the fake Google, on SQLite and PostgreSQL: `mailroom never-log
//! list|add|remove` (with the refusal of the fund's own addresses) and
//! `mailroom audit [--mailbox]`, which prints the counts, up to ten example
//! ids per finding and the recorded parse errors.
//!
//! Needs `cargo build --bin mailroom` (see `mailroom_tests::service`).

use std::process::Stdio;
use std::time::Duration;

use mailroom_tests::app::Backend;
use mailroom_tests::capture_team::{ANN, CaptureTeam, Mail, seed_mail};
use mailroom_tests::fake_google::NewMessage;
use mailroom_tests::service::binary;

/// Exit success, stdout, stderr of `mailroom <args>` with exactly `env`.
async fn mailroom(env: &[(String, String)], args: &[&str]) -> (bool, String, String) {
    let mut command = tokio::process::Command::new(binary());
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .unwrap_or_else(|_| panic!("mailroom {args:?} took over a minute"))
        .expect("mailroom runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn never_log_list_add_and_remove_with_the_cli(backend: Backend) {
    let team = CaptureTeam::start(backend).await;
    seed_mail(&team.google);
    team.sync_both().await;
    let env = team.service_env();
    let acme_content = "SELECT COUNT(*) FROM emails WHERE content_stored = TRUE AND \
                        (from_email LIKE '%@acme.com' OR to_json LIKE '%@acme.com\"%' \
                        OR cc_json LIKE '%@acme.com\"%')";
    let stored = team.count(acme_content).await;
    assert!(stored > 0, "Acme's mail is stored in full");

    let (ok, out, err) = mailroom(&env, &["never-log", "list"]).await;
    assert!(ok, "{err}");
    assert_eq!(out, "", "an empty list prints nothing");

    let (ok, out, err) = mailroom(&env, &["never-log", "add", "Lawyer@Firm.com"]).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("(address lawyer@firm.com): 0 emails purged"),
        "{out}"
    );
    let (ok, out, err) = mailroom(&env, &["never-log", "add", "acme.com"]).await;
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("(domain acme.com): {stored} emails purged")),
        "{out}"
    );
    assert_eq!(team.count(acme_content).await, 0, "the purge erased it");

    // The fund's own addresses are refused; nothing is added.
    for own in ["fund.com", "ann@fund.com", "x@eu.fund.com"] {
        let (ok, out, err) = mailroom(&env, &["never-log", "add", own]).await;
        assert!(!ok, "{own} must be refused: {out}");
        assert!(err.contains("own mail"), "{own}: {err}");
    }
    let (ok, out, err) = mailroom(&env, &["never-log", "add", "not an address@"]).await;
    assert!(!ok, "{out}");
    assert!(
        err.contains("neither an email address nor a domain"),
        "{err}"
    );

    let (ok, out, err) = mailroom(&env, &["never-log", "list"]).await;
    assert!(ok, "{err}");
    let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(lines[0][1..], ["domain", "acme.com"], "{out}");
    assert_eq!(lines[1][1..], ["address", "lawyer@firm.com"], "{out}");
    let acme_id = lines[0][0];

    let (ok, out, err) = mailroom(&env, &["never-log", "remove", acme_id]).await;
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!(
            "entry {acme_id} removed (domain acme.com); a re-match is requested"
        )),
        "{out}"
    );
    assert_eq!(
        team.count("SELECT COUNT(*) FROM jobs WHERE kind = 'rematch' AND state = 'pending'")
            .await,
        1
    );
    let (ok, out, _) = mailroom(&env, &["never-log", "remove", acme_id]).await;
    assert!(!ok, "a second removal fails: {out}");
    let (_, out, _) = mailroom(&env, &["never-log", "list"]).await;
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("lawyer@firm.com"), "{out}");
}

async fn audit_prints_counts_examples_and_parse_errors(backend: Backend) {
    let team = CaptureTeam::start(backend).await;
    let seeded = seed_mail(&team.google);
    team.sync_both().await;
    // Twelve messages arrive after the sync (missing: ten examples shown),
    // and one captured message is deleted from Gmail (extra).
    let mut missing = Vec::new();
    for n in 0..12 {
        let raw = Mail {
            from: "lee@acme.com",
            to: &[ANN],
            cc: &[],
            subject: &format!("Late {n}"),
            message_id: &format!("late-{n}@acme.com"),
            in_reply_to: None,
            references: &[],
            date: "2026-11-25T09:00:00Z",
            body: "Arrived after the sync.",
        }
        .render();
        missing.push(team.google.add_message_with(ANN, NewMessage::new(raw)).id);
    }
    assert!(team.google.delete_message(ANN, &seeded.ann_only.id));
    let error = team
        .rows(&format!(
            "SELECT error FROM capture_errors WHERE gmail_message_id = '{}'",
            seeded.malformed.id
        ))
        .await[0]
        .try_get::<String>("", "error")
        .expect("the parse error is recorded");
    let env = team.service_env();

    let (ok, out, err) = mailroom(&env, &["audit", "--mailbox", ANN]).await;
    assert!(ok, "{err}");
    let summary = out.lines().next().unwrap_or_default();
    assert!(
        summary.starts_with("ann@fund.com: complete ")
            && summary.contains("missing 12, extra 1, failed to parse 1, content missing 0"),
        "{out}"
    );
    let missing_line = out
        .lines()
        .find(|l| {
            l.trim_start()
                .starts_with("missing (in Gmail, not captured) (12): ")
        })
        .unwrap_or_else(|| panic!("no missing line: {out}"));
    let shown: Vec<&str> = missing_line
        .split(": ")
        .nth(1)
        .unwrap()
        .trim_end_matches(", …")
        .split(", ")
        .collect();
    assert_eq!(shown.len(), 10, "ten examples: {missing_line}");
    assert!(missing_line.ends_with(", …"), "{missing_line}");
    assert!(
        shown.iter().all(|id| missing.iter().any(|m| m == id)),
        "{missing_line}"
    );
    assert!(
        out.contains(&format!(
            "extra (captured, gone from Gmail) (1): {}",
            seeded.ann_only.id
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "failed to parse (1):\n    {}: {error}",
            seeded.malformed.id
        )),
        "{out}"
    );
    assert!(!out.contains("bob@fund.com"), "one mailbox only: {out}");

    let (ok, out, err) = mailroom(&env, &["audit"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("\nbob@fund.com: complete 100.0%"), "{out}");
    let (ok, _, err) = mailroom(&env, &["audit", "--mailbox", "nobody@fund.com"]).await;
    assert!(!ok);
    assert!(err.contains("no such mailbox"), "{err}");

    // --repair captures the missing and soft-deletes the extra: the next
    // audit finds neither.
    let (ok, out, err) = mailroom(&env, &["audit", "--mailbox", ANN, "--repair"]).await;
    assert!(ok, "{err}");
    assert!(out.starts_with("ann@fund.com: "), "{out}");
    let (ok, out, err) = mailroom(&env, &["audit", "--mailbox", ANN]).await;
    assert!(ok, "{err}");
    let summary = out.lines().next().unwrap_or_default();
    assert!(summary.contains("missing 0, extra 0, "), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_log_list_add_and_remove_with_the_cli_sqlite() {
    never_log_list_add_and_remove_with_the_cli(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_log_list_add_and_remove_with_the_cli_postgres() {
    never_log_list_add_and_remove_with_the_cli(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_prints_counts_examples_and_parse_errors_sqlite() {
    audit_prints_counts_examples_and_parse_errors(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_prints_counts_examples_and_parse_errors_postgres() {
    audit_prints_counts_examples_and_parse_errors(Backend::Postgres).await;
}
