//! The narrator of the digest's per-user paragraph (Spark, OpenAI-compatible).

use async_trait::async_trait;
use jiff::Timestamp;

use crate::records::Direction;

/// One email in a user's digest window, as the prompt shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NarrativeItem {
    pub direction: Direction,
    /// The other side: the matched address or its contact's name.
    pub counterpart: String,
    pub investor: String,
    pub subject: Option<String>,
    pub snippet: Option<String>,
    pub sent_at: Timestamp,
}

/// A user's window, to be told as one short factual paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NarrativeRequest {
    pub user_name: String,
    pub since: Timestamp,
    pub until: Timestamp,
    pub items: Vec<NarrativeItem>,
}

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("no LLM is configured")]
    NotConfigured,
    #[error("the LLM did not answer in time")]
    Timeout,
    #[error("the LLM is unavailable: {0}")]
    Unavailable(String),
    #[error("the LLM answered something unusable: {0}")]
    Invalid(String),
}

#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait LlmNarrator: Send + Sync {
    /// One paragraph about the user's window.
    ///
    /// # Errors
    /// MUST return `Timeout` rather than run past `deadline` or its own
    /// per-call timeout, whichever is sooner.
    async fn narrate(
        &self,
        request: &NarrativeRequest,
        deadline: Timestamp,
    ) -> Result<String, LlmError>;
}
