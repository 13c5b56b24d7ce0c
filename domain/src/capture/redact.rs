//! Short, fixed texts for errors kept on a mailbox (`last_error`, capture errors).
//!
//! The stored text is shown to admins and may be logged, so it is built from
//! the error's kind only, never from upstream text: a Google error body can
//! carry a token or credential (R-HARD-4), and a parser message can quote an
//! unmatched email's content that R-CAP-5 forbids storing.

use mailroom_ports::StoreError;
use mailroom_ports::gmail::{GmailError, TokenError};
use mailroom_ports::parse::ParseError;

/// What an admin can act on for a failed Gmail call.
pub fn gmail_error_text(error: &GmailError) -> String {
    match error {
        GmailError::NotFound => "Gmail: not found".into(),
        GmailError::HistoryExpired => "Gmail: the stored historyId has expired".into(),
        GmailError::Auth(TokenError::UnknownUser(_)) => {
            "Google Workspace has no such user: check the mailbox address".into()
        }
        GmailError::Auth(TokenError::NotAuthorized(_)) => {
            "domain-wide delegation is not granted for this service account or scope".into()
        }
        GmailError::Auth(TokenError::BadKey(_)) => "the service-account key is unusable".into(),
        GmailError::Auth(TokenError::Unavailable(_)) => {
            "the Google token endpoint is unavailable".into()
        }
        GmailError::Auth(TokenError::Unexpected(_)) => {
            "unexpected error while minting a Google token".into()
        }
        GmailError::RateLimited {
            retry_after: Some(after),
        } => {
            format!(
                "Gmail rate limit reached (retry after {} s)",
                after.as_secs()
            )
        }
        GmailError::RateLimited { retry_after: None } => "Gmail rate limit reached".into(),
        GmailError::Unavailable(_) => "Gmail is unavailable".into(),
        GmailError::Invalid(_) => "Gmail refused the request".into(),
        GmailError::Unexpected(_) => "unexpected Gmail error".into(),
    }
}

/// What an admin can act on for a failed store call.
pub fn store_error_text(error: &StoreError) -> String {
    match error {
        StoreError::NotFound(_) => "database: a row was not found".into(),
        StoreError::Conflict(_) => "database: conflicting update".into(),
        StoreError::Invalid(_) => "database: invalid input".into(),
        StoreError::Unavailable(_) => "database unavailable".into(),
        StoreError::Unexpected(_) => "unexpected database error".into(),
    }
}

/// Why one message could not be parsed.
pub fn parse_error_text(error: &ParseError) -> String {
    match error {
        ParseError::TooLarge { size } => format!("message is too large ({size} bytes)"),
        ParseError::Malformed(_) => "message is malformed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_text_never_reaches_the_stored_error() {
        let secret = "ya29.secret-token";
        let texts = [
            gmail_error_text(&GmailError::Unavailable(format!("body: {secret}"))),
            gmail_error_text(&GmailError::Invalid(format!("body: {secret}"))),
            gmail_error_text(&GmailError::Unexpected(anyhow::anyhow!("{secret}"))),
            gmail_error_text(&GmailError::Auth(TokenError::NotAuthorized(secret.into()))),
            gmail_error_text(&GmailError::Auth(TokenError::Unexpected(anyhow::anyhow!(
                "{secret}"
            )))),
            store_error_text(&StoreError::Unexpected(anyhow::anyhow!("{secret}"))),
            store_error_text(&StoreError::Unavailable(secret.into())),
            parse_error_text(&ParseError::Malformed(format!("near {secret}"))),
        ];
        for text in texts {
            assert!(!text.contains(secret), "{text}");
            assert!(!text.is_empty());
        }
    }

    #[test]
    fn safe_details_are_kept() {
        assert_eq!(
            parse_error_text(&ParseError::TooLarge { size: 42 }),
            "message is too large (42 bytes)"
        );
        let limited = GmailError::RateLimited {
            retry_after: Some(std::time::Duration::from_secs(30)),
        };
        assert_eq!(
            gmail_error_text(&limited),
            "Gmail rate limit reached (retry after 30 s)"
        );
    }
}
