//! `mailroom serve` as a process: a taken address, an unusable key or a bad
//! port stops it with the variable named (before any "listening" line); an
//! unreachable database is reported with its cause; SIGTERM and SIGINT stop
//! it gracefully, letting an in-flight request finish; logs carry no colour
//! codes when written to a pipe.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn mailroom(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mailroom"));
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/m.sqlite?mode=rwc", dir.display()),
        )
        .env("CRM_JWT_SECRET", "process-test-secret-process-test-secret");
    c
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `serve` to its end (bounded), returning the exit code and stderr.
fn serve_until_exit(mut cmd: Command) -> (Option<i32>, String) {
    let mut child = cmd
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        let _ = tx.send(s);
    });
    let text = rx.recv_timeout(Duration::from_secs(60));
    let text = match text {
        Ok(t) => t,
        Err(_) => {
            let _ = child.kill();
            panic!("mailroom serve did not stop on its own");
        }
    };
    (child.wait().unwrap().code(), text)
}

#[test]
fn a_taken_bind_address_fails_before_any_listening_line() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut cmd = mailroom(dir.path());
    cmd.env("MAILROOM_BIND", &addr);
    let (code, err) = serve_until_exit(cmd);
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains("MAILROOM_BIND"), "{err}");
    assert!(!err.contains("listening"), "{err}");
}

#[test]
fn an_unusable_service_account_key_stops_the_service_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.json");
    std::fs::write(&key, "{\"not\": \"a key\"}").unwrap();
    for path in [key.clone(), dir.path().join("missing.json")] {
        let mut cmd = mailroom(dir.path());
        cmd.env("MAILROOM_BIND", format!("127.0.0.1:{}", free_port()))
            .env("GOOGLE_SERVICE_ACCOUNT_FILE", &path);
        let (code, err) = serve_until_exit(cmd);
        assert_ne!(code, Some(0), "{err}");
        assert!(err.contains("GOOGLE_SERVICE_ACCOUNT_FILE"), "{err}");
        assert!(!err.contains("listening"), "{err}");
    }
}

#[test]
fn a_zero_smtp_port_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = mailroom(dir.path());
    cmd.env("SMTP_HOST", "127.0.0.1")
        .env("SMTP_FROM", "digest@fund.com")
        .env("SMTP_PORT", "0");
    let (code, err) = serve_until_exit(cmd);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("SMTP_PORT"), "{err}");
}

#[test]
fn an_unreachable_postgres_is_reported_with_its_real_cause() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = mailroom(dir.path());
    cmd.env(
        "DATABASE_URL",
        format!("postgres://app:pw-secret-9@127.0.0.1:{port}/mailroom"),
    )
    .env("MAILROOM_BIND", format!("127.0.0.1:{}", free_port()));
    let (code, err) = serve_until_exit(cmd);
    assert_ne!(code, Some(0), "{err}");
    let last = err.lines().last().unwrap_or_default().to_lowercase();
    assert!(last.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(last.contains("refused"), "{err}");
    assert!(!err.contains("pw-secret-9"), "{err}");
}

/// A running `serve` and its stderr lines.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    port: u16,
}

impl Running {
    fn start(dir: &std::path::Path) -> Running {
        let port = free_port();
        let mut child = mailroom(dir)
            .env("MAILROOM_BIND", format!("127.0.0.1:{port}"))
            .env("MAILROOM_SHUTDOWN_GRACE_S", "20")
            .env("RUST_LOG", "info")
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut running = Running {
            child,
            lines,
            seen: Vec::new(),
            port,
        };
        running.wait_for("listening");
        running
    }

    /// Waits (at most 30 s) for a log line containing `what`.
    fn wait_for(&mut self, what: &str) {
        if self.seen.iter().any(|l| l.contains(what)) {
            return;
        }
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    let hit = line.contains(what);
                    self.seen.push(line);
                    if hit {
                        return;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("no log line with {what:?}; saw:\n{}", self.seen.join("\n"));
                }
            }
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (at most 30 s) for the process to exit; returns its code.
    fn exit_code(&mut self) -> Option<i32> {
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("mailroom did not exit after the signal");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn graceful_stop_finishes_the_request_in_flight(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut app = Running::start(dir.path());
    // A request whose body is half sent: in flight when the signal comes.
    // `Expect: 100-continue` makes the server say when it has taken the
    // connection and read the headers, so the signal cannot race the accept.
    let mut conn = TcpStream::connect(("127.0.0.1", app.port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = "{\"users\": []}";
    write!(
        conn,
        "PUT /api/admin/directory HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len(),
    )
    .unwrap();
    conn.flush().unwrap();
    let mut interim = [0u8; 25];
    conn.read_exact(&mut interim).unwrap();
    assert!(
        interim.starts_with(b"HTTP/1.1 100 Continue\r\n\r\n"),
        "{}",
        String::from_utf8_lossy(&interim)
    );
    conn.write_all(&body.as_bytes()[..5]).unwrap();
    conn.flush().unwrap();
    std::thread::sleep(Duration::from_millis(100));

    app.signal(signal);
    app.wait_for(signal);
    app.wait_for("stopped accepting connections");
    // New connections are refused now.
    assert!(TcpStream::connect(("127.0.0.1", app.port)).is_err());
    // The in-flight request still gets its answer.
    conn.write_all(&body.as_bytes()[5..]).unwrap();
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");

    assert_eq!(app.exit_code(), Some(0));
    app.wait_for("mailroom stopped");
    let log = app.seen.join("\n");
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a piped log: {log}"
    );
}

#[test]
fn sigterm_stops_gracefully_and_the_request_in_flight_finishes() {
    graceful_stop_finishes_the_request_in_flight("TERM");
}

#[test]
fn sigint_stops_gracefully_and_the_request_in_flight_finishes() {
    graceful_stop_finishes_the_request_in_flight("INT");
}
