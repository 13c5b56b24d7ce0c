//! Wire shapes of the read side (who the caller is, one email's detail, the
//! send log, capture errors, drafts) and their mapping from the store's
//! records. The handlers live with their API area.

use mailroom_ports::reads::{
    CaptureErrorEntry, DigestSendEntry, DraftEntry, EmailDetail, LinkedInvestor, Page,
};
use mailroom_ports::records::{Attachment, MailboxSighting, User};
use poem_openapi::Object;

use crate::http::paging::{List, next_cursor};
use crate::http::types::ApiTimestamp;
use crate::http::wire::{DigestTriggerName, Direction, Role, Transport};

// ---------------------------------------------------------------- me

/// The user the bearer token names.
#[derive(Debug, Object)]
#[oai(example)]
pub struct MeResponse {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Always `true`: an inactive user's token is refused.
    pub is_active: bool,
}

impl From<&User> for MeResponse {
    fn from(u: &User) -> Self {
        MeResponse {
            user_id: u.id.0,
            email: u.email.to_string(),
            display_name: u.display_name.clone(),
            role: u.role.into(),
            is_active: u.is_active,
        }
    }
}

// ---------------------------------------------------------------- one email

/// An attachment's name, type and size; its bytes are never kept.
#[derive(Debug, Object)]
pub struct AttachmentView {
    /// `null` when the part has no file name.
    #[oai(nullable)]
    pub name: Option<String>,
    pub content_type: String,
    pub size: u64,
}

/// A contact whose address matched.
#[derive(Debug, Object)]
pub struct ContactView {
    pub id: i64,
    pub name: String,
    /// The address that matched.
    pub email: String,
}

/// A linked investor and the contacts that matched (empty when only the
/// investor's domain did).
#[derive(Debug, Object)]
pub struct LinkedInvestorView {
    pub id: i64,
    pub name: String,
    pub graveyard: bool,
    pub contacts: Vec<ContactView>,
}

/// One mailbox that holds the email live.
#[derive(Debug, Object)]
pub struct SightingView {
    pub account_id: i64,
    pub email_address: String,
    /// The email carries this mailbox's SENT label.
    pub is_sent: bool,
    /// Per mailbox: `outbound` where it was sent from, `inbound` elsewhere.
    pub direction: Direction,
}

/// Another captured email of the same thread.
#[derive(Debug, Object)]
pub struct ThreadEmailView {
    pub email_id: i64,
    #[oai(nullable)]
    pub subject: Option<String>,
    #[oai(nullable)]
    pub from_email: Option<String>,
    pub sent_at: ApiTimestamp,
    pub direction: Direction,
}

/// One investor-linked, live email in full.
#[derive(Debug, Object)]
#[oai(example)]
pub struct EmailActivityDetail {
    pub email_id: i64,
    /// The RFC 822 `Message-ID`, without angle brackets.
    #[oai(nullable)]
    pub message_id: Option<String>,
    /// The Gmail thread id in the first mailbox (by id) that holds it.
    pub thread_id: String,
    #[oai(nullable)]
    pub subject: Option<String>,
    #[oai(nullable)]
    pub snippet: Option<String>,
    /// The text body.
    #[oai(nullable)]
    pub body: Option<String>,
    #[oai(nullable)]
    pub from_email: Option<String>,
    #[oai(nullable)]
    pub from_name: Option<String>,
    pub reply_to: Vec<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub sent_at: ApiTimestamp,
    /// Email-level: `outbound` iff the sender is one of our mailboxes.
    pub direction: Direction,
    pub attachments: Vec<AttachmentView>,
    pub investors: Vec<LinkedInvestorView>,
    pub mailboxes: Vec<SightingView>,
    /// The other matched, live emails of its thread, newest first (at most 100).
    pub thread: Vec<ThreadEmailView>,
}

fn strings<T: ToString>(list: &[T]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

fn attachment(a: Attachment) -> AttachmentView {
    AttachmentView {
        name: a.name,
        content_type: a.content_type,
        size: a.size,
    }
}

fn investor(i: LinkedInvestor) -> LinkedInvestorView {
    LinkedInvestorView {
        id: i.investor.id.0,
        name: i.investor.name,
        graveyard: i.investor.graveyard,
        contacts: i
            .contacts
            .into_iter()
            .map(|c| ContactView {
                id: c.id.0,
                name: c.name,
                email: c.email.to_string(),
            })
            .collect(),
    }
}

fn sighting(m: MailboxSighting) -> SightingView {
    // The mailbox that sent the email saw it go out; every other saw it come in.
    let direction = if m.is_sent {
        Direction::Outbound
    } else {
        Direction::Inbound
    };
    SightingView {
        account_id: m.account_id.0,
        email_address: m.email_address.to_string(),
        is_sent: m.is_sent,
        direction,
    }
}

impl From<EmailDetail> for EmailActivityDetail {
    fn from(d: EmailDetail) -> Self {
        EmailActivityDetail {
            email_id: d.email_id.0,
            message_id: d.message_id,
            thread_id: d.thread_id,
            subject: d.subject,
            snippet: d.snippet,
            body: d.body,
            from_email: d.from_email.map(|a| a.to_string()),
            from_name: d.from_name,
            reply_to: strings(&d.reply_to),
            to: strings(&d.to),
            cc: strings(&d.cc),
            sent_at: d.sent_at.into(),
            direction: d.direction.into(),
            attachments: d.attachments.into_iter().map(attachment).collect(),
            investors: d.investors.into_iter().map(investor).collect(),
            mailboxes: d.mailboxes.into_iter().map(sighting).collect(),
            thread: d
                .thread
                .into_iter()
                .map(|t| ThreadEmailView {
                    email_id: t.email_id.0,
                    subject: t.subject,
                    from_email: t.from_email.map(|a| a.to_string()),
                    sent_at: t.sent_at.into(),
                    direction: t.direction.into(),
                })
                .collect(),
        }
    }
}

// ---------------------------------------------------------------- logs

/// One digest send attempt.
#[derive(Debug, Object)]
#[oai(example)]
pub struct DigestSendView {
    pub id: i64,
    pub sent_at: ApiTimestamp,
    pub trigger: DigestTriggerName,
    pub window_since: ApiTimestamp,
    pub window_until: ApiTimestamp,
    /// `null` when every transport failed.
    #[oai(nullable)]
    pub transport: Option<Transport>,
    pub recipient_count: u32,
    pub ok: bool,
    /// A short kind when the send failed (`null` on success); never the
    /// error's text.
    #[oai(nullable)]
    pub error_kind: Option<crate::http::wire::SendErrorKind>,
}

/// A page of the digest send log, newest first.
#[derive(Debug, Object)]
pub struct DigestSendList {
    pub items: Vec<DigestSendView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

impl From<Page<DigestSendEntry>> for DigestSendList {
    fn from(page: Page<DigestSendEntry>) -> Self {
        DigestSendList {
            items: page
                .items
                .into_iter()
                .map(|s| DigestSendView {
                    id: s.id,
                    sent_at: s.at.into(),
                    trigger: s.trigger.into(),
                    window_since: s.window_since.into(),
                    window_until: s.window_until.into(),
                    transport: s.transport.map(Into::into),
                    recipient_count: s.recipients,
                    ok: s.error_kind.is_none(),
                    error_kind: s
                        .error_kind
                        .as_deref()
                        .map(crate::http::wire::SendErrorKind::from_stored),
                })
                .collect(),
            next_cursor: next_cursor(List::DigestSends, page.next),
        }
    }
}

/// The latest failure of one message in a mailbox.
#[derive(Debug, Object)]
#[oai(example)]
pub struct CaptureErrorView {
    pub id: i64,
    pub gmail_message_id: String,
    /// A fixed text naming the kind of failure: never upstream text or the
    /// message's content.
    pub error: String,
    /// How many times this message failed.
    pub occurrences: u32,
    /// When it last failed.
    pub occurred_at: ApiTimestamp,
}

/// A page of a mailbox's capture errors, most recent first.
#[derive(Debug, Object)]
pub struct CaptureErrorList {
    pub items: Vec<CaptureErrorView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

impl From<Page<CaptureErrorEntry>> for CaptureErrorList {
    fn from(page: Page<CaptureErrorEntry>) -> Self {
        CaptureErrorList {
            items: page
                .items
                .into_iter()
                .map(|e| CaptureErrorView {
                    id: e.id,
                    gmail_message_id: e.gmail_message_id,
                    error: e.error,
                    occurrences: e.occurrences,
                    occurred_at: e.at.into(),
                })
                .collect(),
            next_cursor: next_cursor(List::CaptureErrors, page.next),
        }
    }
}

/// A reply draft mailroom created in Gmail.
#[derive(Debug, Object)]
#[oai(example)]
pub struct DraftView {
    pub id: i64,
    /// Who asked for it.
    pub user_email: String,
    pub email_id: i64,
    /// The mailbox it was created in.
    pub account_id: i64,
    pub gmail_draft_id: String,
    /// The Gmail thread it went into; `null` only for an old draft whose
    /// thread was not kept.
    #[oai(nullable)]
    pub thread_id: Option<String>,
    /// The draft message's Gmail id, what Gmail's web UI opens a draft by
    /// (`#drafts?compose=<id>`); `null` for a draft recorded before it was
    /// kept.
    #[oai(nullable)]
    pub gmail_message_id: Option<String>,
    /// The mailbox the draft is in (to open the right Gmail account).
    pub mailbox: String,
    pub reply_all: bool,
    pub created_at: ApiTimestamp,
}

/// A page of drafts, newest first.
#[derive(Debug, Object)]
pub struct DraftList {
    pub items: Vec<DraftView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

impl From<Page<DraftEntry>> for DraftList {
    fn from(page: Page<DraftEntry>) -> Self {
        DraftList {
            items: page
                .items
                .into_iter()
                .map(|d| DraftView {
                    id: d.id,
                    user_email: d.user_email.to_string(),
                    email_id: d.email_id.0,
                    account_id: d.account_id.0,
                    gmail_draft_id: d.gmail_draft_id,
                    thread_id: d.thread_id,
                    gmail_message_id: d.gmail_message_id,
                    mailbox: d.mailbox.to_string(),
                    reply_all: d.reply_all,
                    created_at: d.created_at.into(),
                })
                .collect(),
            next_cursor: next_cursor(List::Drafts, page.next),
        }
    }
}
