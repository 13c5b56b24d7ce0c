//! Example values of the main response shapes, shown in the OpenAPI document
//! (and so in Swagger UI and the generated client's docs). Every value is
//! made up; none comes from real mail.

use poem_openapi::types::Example;

use crate::http::accounts::{AccountAudit, AccountEntry, SyncResult};
use crate::http::activity::{ActivityEntry, InvestorSummary, MailboxSummary};
use crate::http::digest::{DigestPreview, SendNowResponse};
use crate::http::proposals::{DecisionResponse, ProposalEntry};
use crate::http::types::ApiTimestamp;
use crate::http::views::{
    AttachmentView, CaptureErrorView, ContactView, DigestSendView, DraftView, EmailActivityDetail,
    LinkedInvestorView, MeResponse, SightingView, ThreadEmailView,
};
use crate::http::wire::{
    DigestTriggerName, Direction, ProposalStatus, Role, SendErrorKind, SyncState, Transport,
};

fn at(s: &str) -> ApiTimestamp {
    ApiTimestamp(s.parse().expect("an example timestamp parses"))
}

impl Example for MeResponse {
    fn example() -> Self {
        MeResponse {
            user_id: 1,
            email: "ann@fund.com".into(),
            display_name: "Ann Admin".into(),
            role: Role::Admin,
            is_active: true,
        }
    }
}

impl Example for AccountEntry {
    fn example() -> Self {
        AccountEntry {
            id: 1,
            user_email: "ann@fund.com".into(),
            email_address: "ann@fund.com".into(),
            enabled: true,
            sync_state: SyncState::Idle,
            history_id: Some("184467".into()),
            last_error: None,
            last_synced_at: Some(at("2026-03-02T09:15:00Z")),
            message_count: 1240,
            audit: Some(AccountAudit {
                in_gmail: 12_345,
                captured: 12_345,
                complete_percent: 100.0,
                summary: "complete 100.0% (12,345 / 12,345) at 2026-03-02T06:00:00Z".into(),
                at: at("2026-03-02T06:00:00Z"),
            }),
        }
    }
}

impl Example for ActivityEntry {
    fn example() -> Self {
        ActivityEntry {
            email_id: 42,
            subject: Some("Q1 update".into()),
            snippet: Some("Thanks for the deck, a few questions on".into()),
            from_email: Some("lee@acme.com".into()),
            from_name: Some("Lee Park".into()),
            to: vec!["ann@fund.com".into()],
            cc: vec![],
            sent_at: at("2026-03-02T08:40:00Z"),
            direction: Direction::Inbound,
            investors: vec![InvestorSummary {
                id: 2,
                name: "Acme Capital".into(),
                graveyard: false,
            }],
            mailboxes: vec![MailboxSummary {
                account_id: 1,
                email_address: "ann@fund.com".into(),
                is_sent: false,
            }],
        }
    }
}

impl Example for ProposalEntry {
    fn example() -> Self {
        ProposalEntry {
            id: 7,
            email_id: 42,
            investor_id: 2,
            investor_name: Some("Acme Capital".into()),
            contact_id: Some(10),
            subject: Some("Q1 update".into()),
            from_email: Some("lee@acme.com".into()),
            sent_at: at("2026-03-02T08:40:00Z"),
            direction: Direction::Inbound,
            status: ProposalStatus::Pending,
            activity_id: None,
            decided_by: None,
            decided_at: None,
        }
    }
}

impl Example for EmailActivityDetail {
    fn example() -> Self {
        EmailActivityDetail {
            email_id: 42,
            message_id: Some("CAF1x2y3@mail.acme.com".into()),
            thread_id: "18e0c5a9b2d4f001".into(),
            subject: Some("Q1 update".into()),
            snippet: Some("Thanks for the deck, a few questions on".into()),
            body: Some("Thanks for the deck, a few questions on the pipeline.\n\nLee".into()),
            from_email: Some("lee@acme.com".into()),
            from_name: Some("Lee Park".into()),
            reply_to: vec![],
            to: vec!["ann@fund.com".into()],
            cc: vec!["bob@fund.com".into()],
            sent_at: at("2026-03-02T08:40:00Z"),
            direction: Direction::Inbound,
            attachments: vec![AttachmentView {
                name: Some("questions.pdf".into()),
                content_type: "application/pdf".into(),
                size: 48213,
            }],
            investors: vec![LinkedInvestorView {
                id: 2,
                name: "Acme Capital".into(),
                graveyard: false,
                contacts: vec![ContactView {
                    id: 10,
                    name: "Lee Park".into(),
                    email: "lee@acme.com".into(),
                }],
            }],
            mailboxes: vec![
                SightingView {
                    account_id: 1,
                    email_address: "ann@fund.com".into(),
                    is_sent: false,
                    direction: Direction::Inbound,
                },
                SightingView {
                    account_id: 2,
                    email_address: "bob@fund.com".into(),
                    is_sent: false,
                    direction: Direction::Inbound,
                },
            ],
            thread: vec![ThreadEmailView {
                email_id: 40,
                subject: Some("Q1 update".into()),
                from_email: Some("ann@fund.com".into()),
                sent_at: at("2026-03-01T17:05:00Z"),
                direction: Direction::Outbound,
            }],
        }
    }
}

impl Example for SyncResult {
    fn example() -> Self {
        SyncResult {
            fetched: 12,
            captured: 11,
            matched: 4,
            skipped: 1,
            errors: 0,
            full: false,
        }
    }
}

impl Example for DecisionResponse {
    fn example() -> Self {
        DecisionResponse {
            id: 7,
            status: ProposalStatus::Approved,
            activity_id: Some(31),
        }
    }
}

impl Example for DigestPreview {
    fn example() -> Self {
        DigestPreview {
            since: at("2026-03-01T14:00:00Z"),
            until: at("2026-03-02T14:00:00Z"),
            subject: "mailroom digest for Mon 2 Mar 2026: 14 emails, 5 investors".into(),
            body: "Ann Admin: 9 emails with Acme LP and 3 other investors...".into(),
            has_activity: true,
            user_count: 2,
            email_count: 14,
            investor_count: 5,
        }
    }
}

impl Example for SendNowResponse {
    fn example() -> Self {
        SendNowResponse {
            sent: true,
            transport: Transport::Gmail,
            recipients: vec!["ann@fund.com".into()],
            subject: "mailroom digest for Mon 2 Mar 2026: 14 emails, 5 investors".into(),
            has_activity: true,
            user_count: 2,
            email_count: 14,
            investor_count: 5,
        }
    }
}

impl Example for DigestSendView {
    fn example() -> Self {
        DigestSendView {
            id: 12,
            sent_at: at("2026-03-02T14:00:03Z"),
            trigger: DigestTriggerName::Schedule,
            window_since: at("2026-03-01T14:00:00Z"),
            window_until: at("2026-03-02T14:00:00Z"),
            transport: None,
            recipient_count: 2,
            ok: false,
            error_kind: Some(SendErrorKind::Unavailable),
        }
    }
}

impl Example for CaptureErrorView {
    fn example() -> Self {
        CaptureErrorView {
            id: 3,
            gmail_message_id: "18c2f0a7d4e5b6c1".into(),
            error: "message is malformed".into(),
            occurrences: 2,
            occurred_at: at("2026-03-02T09:15:04Z"),
        }
    }
}

impl Example for DraftView {
    fn example() -> Self {
        DraftView {
            id: 5,
            user_email: "ann@fund.com".into(),
            email_id: 42,
            account_id: 1,
            gmail_draft_id: "r-5286309726126498123".into(),
            thread_id: Some("18c2f0a7d4e5b6c1".into()),
            gmail_message_id: Some("18c2f1b9e0a4c7d2".into()),
            mailbox: "ann@fund.com".into(),
            reply_all: false,
            created_at: at("2026-03-02T10:01:00Z"),
        }
    }
}
