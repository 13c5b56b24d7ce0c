//! PostgreSQL restarted under a running `mailroom serve`: while it is down,
//! requests fail cleanly (a 503 within the client's patience, never a hang);
//! once it is back they succeed again without restarting mailroom, and
//! nothing written before or after is lost.
//!
//! The test runs its OWN throwaway cluster (`initdb` on a temp directory, a
//! free port), never the machine's shared server.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const JWT_SECRET: &str = "fault-test-secret-fault-test-secret-0001";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The PostgreSQL server binaries of the newest installed version.
fn pg_bin(name: &str) -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed under /usr/lib/postgresql")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("an initdb").join(name)
}

/// PostgreSQL refuses to run as root: run its tools as `postgres` then.
fn pg_command(name: &str) -> Command {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if is_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(pg_bin(name));
        c
    } else {
        Command::new(pg_bin(name))
    }
}

fn run(mut c: Command, what: &str) {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A cluster in a temp directory on a free port; stopped on drop.
struct Cluster {
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn init() -> Cluster {
        let dir = tempfile::tempdir().expect("cluster dir");
        let data = dir.path().join("data");
        // The postgres user must own (and reach) the directory.
        run(
            {
                let mut c = Command::new("chmod");
                c.arg("755").arg(dir.path());
                c
            },
            "chmod",
        );
        std::fs::create_dir(&data).expect("data dir");
        let _ = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&data)
            .status();
        let mut initdb = pg_command("initdb");
        initdb
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data);
        run(initdb, "initdb");
        let cluster = Cluster {
            data,
            port: free_port(),
            _dir: dir,
        };
        cluster.start();
        cluster
    }

    fn start(&self) {
        let mut c = pg_command("pg_ctl");
        c.arg("-D")
            .arg(&self.data)
            .args(["-w", "-t", "30", "-l"])
            .arg(self.data.join("log"))
            .arg("-o")
            .arg(format!(
                "-p {} -h 127.0.0.1 -k {} -c fsync=off",
                self.port,
                self.data.display()
            ))
            .arg("start");
        run(c, "pg_ctl start");
    }

    fn stop(&self) {
        let mut c = pg_command("pg_ctl");
        c.arg("-D")
            .arg(&self.data)
            .args(["-w", "-t", "30", "-m", "fast", "stop"]);
        run(c, "pg_ctl stop");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut c = pg_command("pg_ctl");
        c.arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = c.status();
    }
}

/// `mailroom serve`; killed on drop.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn mailroom(dir: &Path, db_url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mailroom"));
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("CRM_JWT_SECRET", JWT_SECRET)
        .env("MAILROOM_OUTBOX_DIR", dir.join("outbox"));
    c
}

/// `curl` with a bounded wait: (status, body). Status 0 means no answer.
fn http(method: &str, url: &str, token: &str, body: Option<&str>) -> (u16, String) {
    let mut c = Command::new("curl");
    c.args([
        "-sS",
        "--max-time",
        "20",
        "-X",
        method,
        "-w",
        "\n%{http_code}",
    ])
    .arg("-H")
    .arg(format!("Authorization: Bearer {token}"));
    if let Some(body) = body {
        c.args([
            "-H",
            "content-type: application/json",
            "--data-binary",
            body,
        ]);
    }
    let out = c.arg(url).output().expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn directory(investors: &[(i64, &str)]) -> String {
    let investors: Vec<serde_json::Value> = investors
        .iter()
        .map(|(id, name)| serde_json::json!({"id": id, "name": name, "domains": []}))
        .collect();
    serde_json::json!({
        "users": [{"email": "ann@fund.com", "display_name": "Ann", "role": "admin", "is_active": true}],
        "investors": investors,
    })
    .to_string()
}

#[test]
fn a_postgres_restart_gives_clean_503s_then_recovers_without_losing_writes() {
    let cluster = Cluster::init();
    let work = tempfile::tempdir().expect("work dir");
    let db = cluster.url();
    let file = work.path().join("directory.json");
    std::fs::write(&file, directory(&[(1, "Before Restart LP")])).expect("directory file");
    let out = mailroom(work.path(), &db)
        .args(["directory", "import"])
        .arg(&file)
        .output()
        .expect("import runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(
        mailroom(work.path(), &db)
            .args(["token", "--email", "ann@fund.com"])
            .output()
            .expect("token runs")
            .stdout,
    )
    .expect("a token")
    .trim()
    .to_string();

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _serve = Serve(
        mailroom(work.path(), &db)
            .arg("serve")
            .env("MAILROOM_BIND", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(work.path().join("serve.log")).expect("log file"))
            .spawn()
            .expect("serve starts"),
    );
    let policy = format!("{base}/api/admin/digest/policy");
    let investors = format!("{base}/api/email/activity/investors");
    let mut last = (0, String::new());
    for _ in 0..100 {
        last = http("GET", &policy, &token, None);
        if last.0 == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        last.0,
        200,
        "mailroom serve answers: {} {}",
        last.1,
        std::fs::read_to_string(work.path().join("serve.log")).unwrap_or_default()
    );
    let (status, body) = http(
        "PUT",
        &format!("{base}/api/admin/directory"),
        &token,
        Some(&directory(&[(2, "Written Before Stop LP")])),
    );
    assert_eq!(status, 200, "{body}");

    cluster.stop();
    for url in [&policy, &investors] {
        let (status, body) = http("GET", url, &token, None);
        assert_eq!(
            status, 503,
            "a clean 503 while the database is down: {body}"
        );
        assert!(
            !body.contains("127.0.0.1") && !body.contains("postgres"),
            "the error does not describe the infrastructure: {body}"
        );
    }
    let (status, _) = http(
        "PUT",
        &format!("{base}/api/admin/directory"),
        &token,
        Some(&directory(&[(3, "Refused While Down LP")])),
    );
    assert_eq!(status, 503, "a write while down is refused, not hung");

    cluster.start();
    let mut recovered = false;
    for _ in 0..60 {
        if http("GET", &policy, &token, None).0 == 200 {
            recovered = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(recovered, "mailroom recovers once PostgreSQL is back");
    let (status, body) = http(
        "PUT",
        &format!("{base}/api/admin/directory"),
        &token,
        Some(&directory(&[(4, "Written After Start LP")])),
    );
    assert_eq!(status, 200, "{body}");

    let out = Command::new(pg_bin("psql"))
        .args(["-h", "127.0.0.1", "-U", "postgres", "-At", "-p"])
        .arg(cluster.port.to_string())
        .args(["-c", "SELECT name FROM investors ORDER BY id"])
        .output()
        .expect("psql runs");
    let names = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        names.lines().collect::<Vec<_>>(),
        vec![
            "Before Restart LP",
            "Written Before Stop LP",
            "Written After Start LP"
        ],
        "every acknowledged write survived, the refused one is absent: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
