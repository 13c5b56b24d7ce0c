//! The boundary of mailroom: the records that cross it and the traits the
//! adapters implement. Nothing here performs I/O.

pub mod address;
pub mod clock;
pub mod gmail;
pub mod ids;
pub mod llm;
pub mod parse;
pub mod reads;
pub mod records;
pub mod store;
pub mod transport;

pub use address::{AddressError, Domain, EmailAddress};
pub use clock::Clock;
pub use ids::{AccountId, ActivityId, ContactId, EmailId, InvestorId, ProposalId, UserId};
pub use llm::{LlmError, LlmNarrator, NarrativeRequest};
pub use store::{Store, StoreError};
pub use transport::{
    AdminRecipients, MailTransport, NotAnAdmin, OutgoingMail, RecipientsError, SendError,
    TransportKind,
};

#[cfg(feature = "mock")]
pub use clock::MockClock;
#[cfg(feature = "mock")]
pub use gmail::{MockDraftCreator, MockMailboxReader, MockTokenProvider};
#[cfg(feature = "mock")]
pub use llm::MockLlmNarrator;
#[cfg(feature = "mock")]
pub use parse::MockMessageParser;
#[cfg(feature = "mock")]
pub use store::MockStore;
#[cfg(feature = "mock")]
pub use transport::MockMailTransport;
