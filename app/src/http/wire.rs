//! The closed sets of the API as string enums on the wire, one per set, each
//! the mirror of a domain or port type (snake_case names). Every schema uses
//! these, so the document has one enum per closed set.

use mailroom_domain::digest::policy::PolicySource as DomainPolicySource;
use mailroom_ports::records::{
    DigestTrigger as PortDigestTrigger, Direction as PortDirection,
    ProposalStatus as PortProposalStatus, Role as PortRole, SyncState as PortSyncState,
};
use mailroom_ports::transport::TransportKind as PortTransport;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident <=> $src:ident { $($(#[$vmeta:meta])* $v:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
        #[oai(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $v),+
        }

        impl From<$src> for $name {
            fn from(x: $src) -> Self {
                match x {
                    $($src::$v => Self::$v),+
                }
            }
        }

        impl From<$name> for $src {
            fn from(x: $name) -> Self {
                match x {
                    $($name::$v => Self::$v),+
                }
            }
        }
    };
}

wire_enum! {
    /// Whether an email came to the fund or went out from it.
    Direction <=> PortDirection { Inbound, Outbound }
}

wire_enum! {
    /// Where a proposal stands.
    ProposalStatus <=> PortProposalStatus { Pending, Approved, Rejected }
}

wire_enum! {
    /// A CRM user's role.
    Role <=> PortRole { Admin, Member }
}

wire_enum! {
    /// A mailbox's sync state.
    SyncState <=> PortSyncState { New, Syncing, Idle, Error }
}

wire_enum! {
    /// Where the digest policy in force came from.
    PolicySource <=> DomainPolicySource { Db, Env, Default }
}

wire_enum! {
    /// How an email was sent.
    Transport <=> PortTransport { Gmail, Smtp, Outbox }
}

/// Why a digest was sent: the daily schedule, "send now", or a test email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum DigestTriggerName {
    Schedule,
    SendNow,
    Test,
}

impl From<PortDigestTrigger> for DigestTriggerName {
    fn from(t: PortDigestTrigger) -> Self {
        match t {
            PortDigestTrigger::Scheduled => Self::Schedule,
            PortDigestTrigger::SendNow => Self::SendNow,
            PortDigestTrigger::TestEmail => Self::Test,
        }
    }
}

/// Why a digest send failed, as the send log keeps it (never the error's
/// text): the transport is not configured, the message or a recipient was
/// refused, the transport did not answer, or anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum SendErrorKind {
    NotConfigured,
    Rejected,
    Unavailable,
    Unexpected,
}

impl SendErrorKind {
    /// The kind a send log row holds (`SendError::kind`); a name this
    /// version does not know is `unexpected`.
    pub fn from_stored(kind: &str) -> Self {
        match kind {
            "not_configured" => Self::NotConfigured,
            "rejected" => Self::Rejected,
            "unavailable" => Self::Unavailable,
            _ => Self::Unexpected,
        }
    }
}

/// The database mailroom runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum DatabaseBackend {
    Sqlite,
    Postgres,
}

#[cfg(test)]
mod tests {
    use mailroom_ports::transport::SendError;

    use super::SendErrorKind;

    #[test]
    fn every_send_error_kind_has_its_own_name_on_the_wire() {
        for (e, wire) in [
            (SendError::NotConfigured, SendErrorKind::NotConfigured),
            (SendError::Rejected("x".into()), SendErrorKind::Rejected),
            (
                SendError::Unavailable("x".into()),
                SendErrorKind::Unavailable,
            ),
            (
                SendError::Unexpected(anyhow::anyhow!("x")),
                SendErrorKind::Unexpected,
            ),
        ] {
            assert_eq!(SendErrorKind::from_stored(e.kind()), wire);
        }
        assert_eq!(
            SendErrorKind::from_stored("future"),
            SendErrorKind::Unexpected
        );
    }
}
