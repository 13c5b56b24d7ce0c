//! In-thread reply drafts (R-DRAFT-1, scope `gmail.compose`). This only
//! creates a draft for a human to send; it has no send method (R-DRAFT-3).

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lettre::Message;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use mailroom_ports::EmailAddress;
use mailroom_ports::gmail::{
    CreatedDraft, DraftCreator, GmailError, ReplyDraft, Scope, TokenProvider,
};
use serde::Deserialize;
use serde_json::json;
use tracing::instrument;

use super::client::{GmailClient, GmailConfig, Op};

/// Creates reply drafts in the mailbox that holds the original email.
#[derive(Clone)]
pub struct GmailDrafts {
    client: GmailClient,
}

impl GmailDrafts {
    pub fn new(tokens: Arc<dyn TokenProvider>, config: GmailConfig) -> Self {
        Self {
            client: GmailClient::new(tokens, config),
        }
    }
}

#[async_trait]
impl DraftCreator for GmailDrafts {
    #[instrument(skip_all, fields(mailbox = %mailbox, thread_id = %draft.thread_id))]
    async fn create_draft(
        &self,
        mailbox: &EmailAddress,
        draft: &ReplyDraft,
    ) -> Result<CreatedDraft, GmailError> {
        let raw = URL_SAFE_NO_PAD.encode(render_reply(draft)?.formatted());
        let body = json!({ "message": { "raw": raw, "threadId": draft.thread_id } });
        let url = self.client.url(mailbox, &["drafts"])?;
        let created: DraftBody = self
            .client
            .call(mailbox, Scope::GmailCompose, Op::DraftsCreate, |http| {
                http.post(url.clone()).json(&body)
            })
            .await?;
        let (thread_id, message_id) = created
            .message
            .map(|m| (m.thread_id, m.id))
            .unwrap_or_default();
        let thread_id = thread_id
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| draft.thread_id.clone());
        Ok(CreatedDraft {
            draft_id: created.id,
            thread_id,
            message_id: message_id.filter(|m| !m.is_empty()),
        })
    }
}

/// The RFC 822 reply: threading headers per RFC 5322 §3.6.4 and one `Re:`
/// so Gmail keeps it in the thread.
pub(crate) fn render_reply(draft: &ReplyDraft) -> Result<Message, GmailError> {
    let mut builder = Message::builder()
        .from(mailbox(&draft.from)?)
        .subject(reply_subject(&draft.subject));
    for to in &draft.to {
        builder = builder.to(mailbox(to)?);
    }
    for cc in &draft.cc {
        builder = builder.cc(mailbox(cc)?);
    }
    if let Some(parent) = &draft.in_reply_to {
        builder = builder.in_reply_to(angle(parent));
    }
    if !draft.references.is_empty() {
        let refs = draft
            .references
            .iter()
            .map(|r| angle(r))
            .collect::<Vec<_>>()
            .join(" ");
        builder = builder.references(refs);
    }
    builder
        .header(ContentType::TEXT_PLAIN)
        .body(draft.body.clone())
        .map_err(|e| GmailError::Invalid(format!("the reply cannot be built: {e}")))
}

/// `Re: ` once, however many the original carried.
pub(crate) fn reply_subject(subject: &str) -> String {
    let mut rest = subject.trim();
    while let Some(head) = rest.get(..3)
        && head.eq_ignore_ascii_case("re:")
    {
        rest = rest[3..].trim_start();
    }
    format!("Re: {rest}")
}

fn angle(id: &str) -> String {
    let bare = id.trim().trim_start_matches('<').trim_end_matches('>');
    format!("<{bare}>")
}

fn mailbox(address: &EmailAddress) -> Result<Mailbox, GmailError> {
    let parsed = address
        .as_str()
        .parse()
        .map_err(|e| GmailError::Invalid(format!("lettre refuses the address {address}: {e}")))?;
    Ok(Mailbox::new(None, parsed))
}

#[derive(Deserialize)]
struct DraftBody {
    id: String,
    #[serde(default)]
    message: Option<DraftMessage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DraftMessage {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    thread_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(reply_subject(input), expected, "input {input:?}");
    }

    #[test]
    fn reply_subjects_carry_exactly_one_re() {
        check("Q3 update", "Re: Q3 update");
        check("Re: Q3 update", "Re: Q3 update");
        check("RE: re:Q3 update", "Re: Q3 update");
        check("  ", "Re: ");
        check("Résumé", "Re: Résumé");
        check("Ré", "Re: Ré");
        check("a日本", "Re: a日本");
    }

    #[test]
    fn a_reply_carries_threading_headers_in_angle_brackets() {
        let draft = ReplyDraft {
            thread_id: "t1".into(),
            from: EmailAddress::parse("ann@fund.com").unwrap(),
            to: vec![EmailAddress::parse("lp@investor.com").unwrap()],
            cc: vec![EmailAddress::parse("bob@fund.com").unwrap()],
            subject: "Q3".into(),
            in_reply_to: Some("m2@investor.com".into()),
            references: vec!["m1@investor.com".into(), "<m2@investor.com>".into()],
            body: "Thanks!".into(),
        };
        let text = String::from_utf8(render_reply(&draft).unwrap().formatted()).unwrap();
        assert!(
            text.contains("In-Reply-To: <m2@investor.com>\r\n"),
            "{text}"
        );
        assert!(
            text.contains("References: <m1@investor.com> <m2@investor.com>\r\n"),
            "{text}"
        );
        assert!(text.contains("Subject: Re: Q3\r\n"), "{text}");
        assert!(text.contains("Cc: bob@fund.com\r\n"), "{text}");
    }
}
