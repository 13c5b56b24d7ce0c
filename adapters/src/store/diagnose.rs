//! Why a database connection failed, in words an operator can act on.
//!
//! sqlx retries a refused connection until its pool times out and then
//! reports only "pool timed out", losing the cause. When that happens, one
//! direct TCP connection to the server's address finds the cause again
//! (refused, unreachable, no such host). The text never holds the URL's
//! user or password.

use std::time::Duration;

/// A cause for `error`, the error sea-orm returned for connecting to `url`.
pub async fn connect_failure(url: &str, error: &str) -> String {
    if !error.contains("timed out") {
        return error.trim_start_matches("Connection Error: ").to_string();
    }
    let Some((host, port)) = server_address(url) else {
        return "the database did not accept a connection in time".into();
    };
    let probe = tokio::time::timeout(
        Duration::from_secs(3),
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await;
    match probe {
        Err(_) => format!("{host}:{port} did not answer within 3 s"),
        Ok(Err(e)) => format!("cannot reach {host}:{port}: {e}"),
        Ok(Ok(_)) => format!(
            "{host}:{port} accepts connections but the database did not complete a login in time"
        ),
    }
}

/// The host and port of a `postgres://` URL (default port 5432).
fn server_address(url: &str) -> Option<(String, u16)> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?.to_string();
    Some((host, parsed.port().unwrap_or(5432)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_port_is_named_and_the_password_is_not() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let url = format!("postgres://app:hunter2@127.0.0.1:{port}/db");
        let text = connect_failure(&url, "Connection Error: pool timed out").await;
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        assert!(text.to_lowercase().contains("refused"), "{text}");
        assert!(
            !text.contains("hunter2") && !text.contains("app:"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn any_other_error_is_kept_without_the_prefix() {
        let text = connect_failure(
            "postgres://x@h/db",
            "Connection Error: error returned from database: database \"db\" does not exist",
        )
        .await;
        assert!(text.starts_with("error returned from database"), "{text}");
    }
}
