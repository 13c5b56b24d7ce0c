//! The real `mailroom serve` binary as a child process, for the tests that
//! kill it with SIGKILL (what `kill -9` sends) and start it again on the same
//! database. Its log goes to a file the test can read.
//!
//! The binary is `MAILROOM_BIN` if set, else `mailroom` next to the test's
//! own `deps/` folder (build it first: `cargo build --bin mailroom`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `mailroom serve`; killed (SIGKILL) on drop.
pub struct Service {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

const STARTUP_LIMIT: Duration = Duration::from_secs(60);

/// Where the `mailroom` binary is.
///
/// # Panics
/// When it is not there.
pub fn binary() -> PathBuf {
    let path = match std::env::var_os("MAILROOM_BIN") {
        Some(path) => PathBuf::from(path),
        None => {
            let exe = std::env::current_exe().expect("the test binary's path");
            // target/<profile>/deps/<test> → target/<profile>/mailroom
            exe.parent()
                .and_then(|deps| deps.parent())
                .expect("the test binary sits in target/<profile>/deps")
                .join("mailroom")
        }
    };
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --bin mailroom` first (or set MAILROOM_BIN)",
        path.display()
    );
    path
}

impl Service {
    /// Starts `mailroom serve` with exactly `env` (plus `PATH`, a free
    /// loopback port as `MAILROOM_BIND` and debug logs for the schedulers)
    /// and waits until `/readyz` answers 200.
    ///
    /// # Panics
    /// When the process exits or is not ready within a minute; the panic
    /// carries its log.
    pub async fn start(env: &[(String, String)]) -> Service {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().expect("a folder for the log");
        let log = dir.path().join("mailroom.log");
        let log_file = std::fs::File::create(&log).expect("the log file");
        let mut command = Command::new(binary());
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("MAILROOM_BIND", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "info,mailroom_app=debug,mailroom_domain=debug")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("the log file"))
            .stderr(log_file);
        let child = command.spawn().expect("mailroom starts");
        let mut service = Service {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        service.wait_ready().await;
        service
    }

    async fn wait_ready(&mut self) {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("client");
        let deadline = Instant::now() + STARTUP_LIMIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("the child's status") {
                panic!("mailroom exited with {status}:\n{}", self.log());
            }
            let ready = http
                .get(format!("{}/readyz", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "mailroom was not ready within {STARTUP_LIMIT:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL, and waits for the process to be gone: no shutdown code runs.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL reaches mailroom");
        let status = self.child.wait().expect("mailroom is reaped");
        assert!(
            status.code().is_none(),
            "mailroom had already exited ({status}) before the kill:\n{}",
            self.log()
        );
    }

    /// The process id (for reading `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log has a line containing `text`.
    ///
    /// # Panics
    /// When `limit` passes first.
    pub async fn wait_for_log(&self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.log().contains(text) {
            assert!(
                Instant::now() < deadline,
                "no log line with {text:?} within {limit:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
