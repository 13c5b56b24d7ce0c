//! Turning raw RFC 822 bytes into a [`ParsedMessage`].

use crate::records::ParsedMessage;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("message is too large ({size} bytes)")]
    TooLarge { size: usize },
    #[error("message is malformed: {0}")]
    Malformed(String),
}

#[cfg_attr(feature = "mock", mockall::automock)]
pub trait MessageParser: Send + Sync {
    /// # Errors
    /// MUST return an error, never panic, on any input.
    fn parse(&self, raw: &[u8]) -> Result<ParsedMessage, ParseError>;
}
