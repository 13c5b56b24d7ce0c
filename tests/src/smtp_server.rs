//! A real SMTP server on loopback (aiosmtpd, `support/smtp_sink.py`) that
//! requires AUTH and keeps what it is sent, plus admin recipients for sends.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use mailroom_ports::records::{Role, User};
use mailroom_ports::{AdminRecipients, EmailAddress, MockStore, UserId};
use serde::Deserialize;

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct SmtpServerConfig {
    /// The only credentials AUTH PLAIN/LOGIN accepts.
    pub username: String,
    pub password: String,
    /// Answer DATA with this reply code (e.g. 451, 554) instead of accepting.
    pub fail_with: Option<u16>,
    /// Hold the first this many messages after their DATA arrived: no answer
    /// and nothing stored until [`SmtpServer::release`] (see [`SmtpServer::held`]).
    pub hold_first: usize,
}

impl Default for SmtpServerConfig {
    fn default() -> Self {
        Self {
            username: "digest@fund.test".into(),
            password: "loopback-only-password".into(),
            fail_with: None,
            hold_first: 0,
        }
    }
}

/// One message the server accepted.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`), in order.
    pub rcpt_to: Vec<String>,
    /// The user that authenticated the session.
    pub auth_login: Option<String>,
    /// The message exactly as transmitted after `DATA`.
    pub raw: Vec<u8>,
}

/// A running `smtp_sink.py`; killed on drop.
pub struct SmtpServer {
    child: Child,
    // Held so the script sees stdin close (and exits) if this process dies
    // without running Drop.
    _stdin: Option<ChildStdin>,
    port: u16,
    dir: tempfile::TempDir,
}

const STARTUP_LIMIT: Duration = Duration::from_secs(10);
const MISSING_AIOSMTPD: i32 = 3;

impl SmtpServer {
    /// Starts the server on 127.0.0.1 with a port of the OS's choosing.
    ///
    /// # Panics
    /// When python3 or aiosmtpd is missing, or the server does not report its
    /// port within a few seconds.
    pub fn start(config: SmtpServerConfig) -> SmtpServer {
        let dir = tempfile::tempdir().expect("failed to create a folder for delivered mail");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("support/smtp_sink.py");
        let mut command = Command::new("python3");
        command
            .arg("-u")
            .arg(&script)
            .arg("--dir")
            .arg(dir.path())
            .args([
                "--username",
                &config.username,
                "--password",
                &config.password,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if config.hold_first > 0 {
            command.args(["--hold-first", &config.hold_first.to_string()]);
        }
        if let Some(code) = config.fail_with {
            command.args(["--fail-with", &code.to_string()]);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("could not run python3 for the SMTP test server: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(STARTUP_LIMIT).unwrap_or_default();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse::<u16>().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let status = child.wait().ok().and_then(|s| s.code());
            if status == Some(MISSING_AIOSMTPD) {
                panic!(
                    "the SMTP test server needs aiosmtpd: pip install -r tests/support/requirements.txt"
                );
            }
            panic!("smtp_sink.py did not report its port (said {line:?}, exit {status:?})");
        };
        let stdin = child.stdin.take();
        SmtpServer {
            child,
            _stdin: stdin,
            port,
            dir,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Everything accepted so far, in arrival order.
    pub fn messages(&self) -> Vec<Delivered> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("the delivery folder is readable")
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path).expect("a delivered record is readable");
                let record: Record =
                    serde_json::from_str(&text).expect("a delivered record is JSON");
                Delivered {
                    mail_from: record.mail_from,
                    rcpt_to: record.rcpt_to,
                    auth_login: record.auth_login,
                    raw: BASE64.decode(record.raw_b64).expect("raw_b64 is base64"),
                }
            })
            .collect()
    }

    /// How many messages arrived and are being held unanswered.
    pub fn held(&self) -> usize {
        std::fs::read_dir(self.dir.path())
            .expect("the delivery folder is readable")
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_name().to_string_lossy().starts_with("held-"))
            .count()
    }

    /// Lets the held messages (and any later ones) through: stored and confirmed.
    pub fn release(&self) {
        std::fs::write(self.dir.path().join("release"), b"").expect("the release file");
    }

    /// The accepted messages once there are at least `n`.
    ///
    /// # Panics
    /// When fewer than `n` arrived within `timeout`.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Delivered> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if Instant::now() >= deadline {
                panic!(
                    "expected {n} delivered messages within {timeout:?}, got {}",
                    messages.len()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Deserialize)]
struct Record {
    mail_from: String,
    rcpt_to: Vec<String>,
    auth_login: Option<String>,
    raw_b64: String,
}

/// Admin recipients as the store would build them: a `MockStore` whose
/// active admins are `emails` (ids 1, 2, …).
pub async fn admin_recipients(emails: &[&str]) -> AdminRecipients {
    let users: Vec<User> = emails
        .iter()
        .enumerate()
        .map(|(i, email)| User {
            id: UserId(i as i64 + 1),
            email: EmailAddress::parse(email).expect("a test admin address parses"),
            display_name: format!("Admin {}", i + 1),
            role: Role::Admin,
            is_active: true,
        })
        .collect();
    let mut store = MockStore::new();
    store
        .expect_active_admins()
        .times(1)
        .returning(move || Ok(users.clone()));
    AdminRecipients::load(&store)
        .await
        .expect("the test admins load")
}
