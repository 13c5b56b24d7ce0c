//! The `mailroom` binary from the outside: help, openapi, directory import,
//! token, and clear errors for bad input.

use std::process::Command;

fn mailroom(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mailroom"));
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/m.sqlite?mode=rwc", dir.display()),
        );
    c
}

#[test]
fn help_and_openapi_work_without_any_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let help = mailroom(dir.path()).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("serve"));
    let doc = mailroom(dir.path()).arg("openapi").output().unwrap();
    assert!(doc.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&doc.stdout).unwrap();
    assert!(doc["paths"]["/healthz"].is_object());
}

#[test]
fn a_directory_file_that_is_not_json_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "users: [ann]").unwrap();
    let out = mailroom(dir.path())
        .args(["directory", "import"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a valid directory file"), "{err}");
    assert!(
        !dir.path().join("m.sqlite").exists(),
        "a refused file must not even create the database"
    );
}

#[test]
fn directory_import_then_token_bootstraps_the_first_admin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dir.json");
    std::fs::write(
        &file,
        r#"{"users": [{"email": "Ann@Fund.com", "display_name": "Ann", "role": "admin", "is_active": true}]}"#,
    )
    .unwrap();
    let out = mailroom(dir.path())
        .args(["directory", "import"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 users"));
    let out = mailroom(dir.path())
        .args(["token", "--email", "ann@fund.com", "--ttl", "2h"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(
        token.split('.').count(),
        3,
        "a JWT has three parts: {token}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("warning:"),
        "a known admin gets no warning: {err}"
    );
}

#[test]
fn a_bad_setting_stops_the_service_with_the_variable_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = mailroom(dir.path())
        .env("CRM_TIMEZONE", "Mars/Base")
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CRM_TIMEZONE"));
}
