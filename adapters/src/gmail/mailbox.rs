//! Reading a mailbox (scope `gmail.readonly`): profile, message lists,
//! history and raw messages. It has no way to send (R-HARD-1).

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jiff::Timestamp;
use mailroom_ports::EmailAddress;
use mailroom_ports::gmail::{
    GmailError, HistoryPage, MailboxReader, MessagePage, MessageRef, Profile, RawMessage, Scope,
    TokenProvider,
};
use serde::Deserialize;
use tracing::instrument;

use super::client::{GmailClient, GmailConfig, Op};

/// The largest page Gmail serves.
const PAGE_SIZE: &str = "500";

/// Gmail's message reader for every captured mailbox.
#[derive(Clone)]
pub struct GmailMailbox {
    client: GmailClient,
}

impl GmailMailbox {
    pub fn new(tokens: Arc<dyn TokenProvider>, config: GmailConfig) -> Self {
        Self {
            client: GmailClient::new(tokens, config),
        }
    }
}

#[async_trait]
impl MailboxReader for GmailMailbox {
    #[instrument(skip_all, fields(mailbox = %mailbox))]
    async fn profile(&self, mailbox: &EmailAddress) -> Result<Profile, GmailError> {
        let url = self.client.url(mailbox, &["profile"])?;
        let body: ProfileBody = self
            .client
            .call(mailbox, Scope::GmailReadonly, Op::Profile, |http| {
                http.get(url.clone())
            })
            .await?;
        let email_address = EmailAddress::parse(&body.email_address).map_err(|e| {
            GmailError::Unexpected(anyhow::anyhow!(
                "Gmail's profile names an unusable address: {e}"
            ))
        })?;
        Ok(Profile {
            email_address,
            history_id: body.history_id.0,
        })
    }

    #[instrument(skip_all, fields(mailbox = %mailbox, after = ?after))]
    async fn list_messages(
        &self,
        mailbox: &EmailAddress,
        after: Option<Timestamp>,
        page_token: Option<String>,
    ) -> Result<MessagePage, GmailError> {
        let url = self.client.url(mailbox, &["messages"])?;
        let mut query: Vec<(&str, String)> = vec![("maxResults", PAGE_SIZE.into())];
        if let Some(after) = after {
            query.push(("q", format!("after:{}", after.as_second())));
        }
        if let Some(token) = page_token {
            query.push(("pageToken", token));
        }
        let body: ListBody = self
            .client
            .call(mailbox, Scope::GmailReadonly, Op::MessagesList, |http| {
                http.get(url.clone()).query(&query)
            })
            .await?;
        Ok(MessagePage {
            messages: body.messages.into_iter().map(MessageRef::from).collect(),
            next_page_token: body.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    #[instrument(skip_all, fields(mailbox = %mailbox, start_history_id))]
    async fn list_history(
        &self,
        mailbox: &EmailAddress,
        start_history_id: &str,
        page_token: Option<String>,
    ) -> Result<HistoryPage, GmailError> {
        let url = self.client.url(mailbox, &["history"])?;
        let mut query: Vec<(&str, String)> = vec![
            ("startHistoryId", start_history_id.to_string()),
            ("historyTypes", "messageAdded".into()),
            ("historyTypes", "messageDeleted".into()),
            ("maxResults", PAGE_SIZE.into()),
        ];
        if let Some(token) = page_token {
            query.push(("pageToken", token));
        }
        let body: HistoryBody = self
            .client
            .call(mailbox, Scope::GmailReadonly, Op::HistoryList, |http| {
                http.get(url.clone()).query(&query)
            })
            .await
            .map_err(|e| match e {
                GmailError::NotFound => GmailError::HistoryExpired,
                other => other,
            })?;
        let mut page = HistoryPage {
            history_id: body.history_id.0,
            next_page_token: body.next_page_token.filter(|t| !t.is_empty()),
            ..HistoryPage::default()
        };
        for record in body.history {
            page.added
                .extend(record.messages_added.into_iter().map(|c| c.message.into()));
            page.deleted.extend(
                record
                    .messages_deleted
                    .into_iter()
                    .map(|c| c.message.into()),
            );
        }
        Ok(page)
    }

    #[instrument(skip_all, fields(mailbox = %mailbox, id))]
    async fn fetch_raw(&self, mailbox: &EmailAddress, id: &str) -> Result<RawMessage, GmailError> {
        let url = self.client.url(mailbox, &["messages", id])?;
        let body: MessageBody = self
            .client
            .call(mailbox, Scope::GmailReadonly, Op::MessagesGet, |http| {
                http.get(url.clone()).query(&[("format", "raw")])
            })
            .await?;
        let raw = decode_raw(body.raw.as_deref().unwrap_or_default()).map_err(|e| {
            GmailError::Unexpected(anyhow::anyhow!(
                "message {id}'s raw field is not base64url: {e}"
            ))
        })?;
        let internal_date = body
            .internal_date
            .and_then(|ms| ms.0.parse::<i64>().ok())
            .and_then(|ms| Timestamp::from_millisecond(ms).ok());
        Ok(RawMessage {
            id: body.id,
            thread_id: body.thread_id,
            label_ids: body.label_ids,
            history_id: body.history_id.map(|h| h.0),
            internal_date,
            size_estimate: body.size_estimate.unwrap_or(raw.len() as u64),
            raw,
        })
    }
}

/// Decodes Gmail's `raw`: base64url, with or without padding. Line breaks
/// are tolerated because some proxies wrap long strings.
pub(crate) fn decode_raw(raw: &str) -> Result<Vec<u8>, base64::DecodeError> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    if raw.bytes().any(|b| b.is_ascii_whitespace()) {
        let compact: String = raw.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        LENIENT.decode(compact)
    } else {
        LENIENT.decode(raw)
    }
}

/// Gmail sends 64-bit ids as strings; a number is accepted too.
#[derive(Debug, Default)]
struct IdString(String);

impl<'de> Deserialize<'de> for IdString {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(Self(s)),
            serde_json::Value::Number(n) => Ok(Self(n.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected an id, got {other}"
            ))),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileBody {
    email_address: String,
    history_id: IdString,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefBody {
    id: String,
    #[serde(default)]
    thread_id: String,
}

impl From<RefBody> for MessageRef {
    fn from(r: RefBody) -> Self {
        MessageRef {
            id: r.id,
            thread_id: r.thread_id,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListBody {
    #[serde(default)]
    messages: Vec<RefBody>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryBody {
    #[serde(default)]
    history: Vec<HistoryRecord>,
    history_id: IdString,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryRecord {
    #[serde(default)]
    messages_added: Vec<Change>,
    #[serde(default)]
    messages_deleted: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    message: RefBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageBody {
    id: String,
    #[serde(default)]
    thread_id: String,
    #[serde(default)]
    label_ids: Vec<String>,
    #[serde(default)]
    history_id: Option<IdString>,
    #[serde(default)]
    internal_date: Option<IdString>,
    #[serde(default)]
    size_estimate: Option<u64>,
    #[serde(default)]
    raw: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &[u8]) {
        assert_eq!(decode_raw(input).unwrap(), expected, "input {input:?}");
    }

    #[test]
    fn raw_is_decoded_with_or_without_padding() {
        check("aGk", b"hi");
        check("aGk=", b"hi");
        check("-_8", &[0xfb, 0xff]);
        check("-_8=", &[0xfb, 0xff]);
        check("aGVs\r\nbG8", b"hello");
        check("", b"");
        assert!(decode_raw("a!b").is_err());
    }

    #[test]
    fn ids_are_read_as_strings_or_numbers() {
        let p: ProfileBody =
            serde_json::from_str(r#"{"emailAddress":"a@b.com","historyId":"123"}"#).unwrap();
        assert_eq!(p.history_id.0, "123");
        let p: ProfileBody =
            serde_json::from_str(r#"{"emailAddress":"a@b.com","historyId":123}"#).unwrap();
        assert_eq!(p.history_id.0, "123");
    }
}
