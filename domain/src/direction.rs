//! Email-level direction: outbound iff the sender is one of our mailboxes.

use std::collections::BTreeSet;

use mailroom_ports::EmailAddress;
use mailroom_ports::records::Direction;

/// Every mailbox address mailroom captures: the fund's own addresses.
///
/// Direction is decided once per email from its sender, not per mailbox, so a
/// reply seen in three teammates' mailboxes has one direction everywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnMailboxes {
    addresses: BTreeSet<EmailAddress>,
}

impl OwnMailboxes {
    pub fn new(addresses: impl IntoIterator<Item = EmailAddress>) -> Self {
        Self {
            addresses: addresses.into_iter().collect(),
        }
    }

    pub fn contains(&self, address: &EmailAddress) -> bool {
        self.addresses.contains(address)
    }

    /// Outbound iff `from` is one of ours. An email with no parsable sender
    /// cannot be shown to be ours, so it counts as inbound.
    pub fn direction(&self, from: Option<&EmailAddress>) -> Direction {
        match from {
            Some(address) if self.contains(address) => Direction::Outbound,
            _ => Direction::Inbound,
        }
    }

    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> EmailAddress {
        EmailAddress::parse(s).expect("test address")
    }

    fn ours() -> OwnMailboxes {
        OwnMailboxes::new([addr("ann@fund.com"), addr("bob@fund.com")])
    }

    fn check(from: Option<&str>, expected: Direction) {
        let from = from.map(addr);
        assert_eq!(ours().direction(from.as_ref()), expected, "from {from:?}");
    }

    #[test]
    fn sender_in_our_mailboxes_is_outbound_and_anyone_else_is_inbound() {
        check(Some("ann@fund.com"), Direction::Outbound);
        check(Some("bob@fund.com"), Direction::Outbound);
        // Addresses are normalised when parsed, so case and display names do not matter.
        check(Some("  \"Ann\" <ANN@Fund.com> "), Direction::Outbound);
        check(Some("jane@acme.com"), Direction::Inbound);
        // Same domain but not a captured mailbox: not ours for direction.
        check(Some("carol@fund.com"), Direction::Inbound);
        // Same local part at another domain.
        check(Some("ann@fund.co"), Direction::Inbound);
        check(None, Direction::Inbound);
    }

    #[test]
    fn no_own_mailboxes_makes_everything_inbound() {
        let none = OwnMailboxes::new([]);
        assert!(none.is_empty());
        assert_eq!(
            none.direction(Some(&addr("ann@fund.com"))),
            Direction::Inbound
        );
    }

    #[test]
    fn duplicate_addresses_are_kept_once() {
        let own = OwnMailboxes::new([addr("ann@fund.com"), addr("ANN@fund.com")]);
        assert_eq!(own.len(), 1);
        assert!(own.contains(&addr("ann@fund.com")));
        assert!(!own.contains(&addr("bob@fund.com")));
    }
}
