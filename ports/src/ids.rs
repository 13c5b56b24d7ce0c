//! Typed row ids, so an investor id cannot be passed where an email id goes.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// `users.id`.
    UserId,
    /// `investors.id`: assigned by the CRM, mirrored here.
    InvestorId,
    /// `contacts.id`: assigned by the CRM, mirrored here.
    ContactId,
    /// `email_accounts.id`.
    AccountId,
    /// `emails.id`.
    EmailId,
    /// `activity_proposals.id`.
    ProposalId,
    /// `activities.id`.
    ActivityId,
);
