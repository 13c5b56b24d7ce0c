//! Adding to the never-log list, with the one rule the store cannot know:
//! the fund's own addresses never go on it. An entry covering a team
//! mailbox or an internal domain (`CRM_INTERNAL_DOMAINS`, or a subdomain
//! of one) would purge the content of nearly every captured email and hold
//! back every new one, so it is refused.

use jiff::Timestamp;
use mailroom_ports::trust::{NeverLogEntry, NeverLogTarget, PurgeOutcome};
use mailroom_ports::{Domain, EmailAddress, StoreError, TrustStore};
use tracing::info;

use crate::matching::OwnAddresses;

#[derive(Debug, thiserror::Error)]
pub enum NeverLogError {
    /// The entry would cover the fund's own mail; the text says why.
    #[error("{0}")]
    Refused(String),
    #[error("store call failed")]
    Store(#[from] StoreError),
}

/// Why `target` may not go on the never-log list, if it may not: it is
/// one of `own`'s mailboxes or at an internal domain, or it is a domain
/// that covers one of them (an internal domain, a subdomain of one, or a
/// parent of one).
pub fn never_log_refusal(target: &NeverLogTarget, own: &OwnAddresses) -> Option<String> {
    const WHY: &str = "a never-log entry for it would erase the fund's own mail and hold back \
                       every new message";
    match target {
        NeverLogTarget::Address(address) => {
            if own.mailboxes().any(|m| m == address) {
                Some(format!(
                    "the address is one of the team's captured mailboxes: {WHY}"
                ))
            } else if own.is_own(address) {
                Some(format!(
                    "the address is at an internal domain (CRM_INTERNAL_DOMAINS): {WHY}"
                ))
            } else {
                None
            }
        }
        NeverLogTarget::Domain(domain) => {
            if let Some(internal) = own
                .internal_domains()
                .find(|d| covers_domain(target, d) || is_within(domain, d))
            {
                return Some(format!(
                    "the domain is or covers the internal domain {internal} \
                     (CRM_INTERNAL_DOMAINS): {WHY}"
                ));
            }
            own.mailboxes()
                .find(|m| target.covers(m))
                .map(|mailbox| format!("the domain covers the team's mailbox {mailbox}: {WHY}"))
        }
    }
}

/// Why `mailbox` may not be captured, if it may not: a never-log entry
/// covers it, so every message in it would be kept as metadata only. The
/// other side of [`never_log_refusal`]: the entry has to go first.
pub fn mailbox_refusal(mailbox: &EmailAddress, entries: &[NeverLogEntry]) -> Option<String> {
    entries.iter().find(|e| e.target.covers(mailbox)).map(|e| {
        format!(
            "the mailbox is covered by the never-log entry {}: its mail would all be kept \
                 as metadata only; remove the entry first",
            e.target.value()
        )
    })
}

/// Whether a domain entry covers every address at `domain`.
fn covers_domain(entry: &NeverLogTarget, domain: &str) -> bool {
    EmailAddress::parse(&format!("postmaster@{domain}")).is_ok_and(|a| entry.covers(&a))
}

/// Whether `domain` is `parent` or one of its subdomains.
fn is_within(domain: &Domain, parent: &str) -> bool {
    let d = domain.as_str();
    d == parent
        || d.strip_suffix(parent)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// Adds `target` to the never-log list (see [`TrustStore::add_never_log`])
/// unless [`never_log_refusal`] refuses it against the captured mailboxes
/// and `internal_domains`.
///
/// # Errors
/// `Refused` for the fund's own addresses; the store's `Conflict` when the
/// entry exists; otherwise whatever the store answers.
pub async fn add_never_log<S: TrustStore + ?Sized>(
    store: &S,
    target: &NeverLogTarget,
    purge_activities: bool,
    internal_domains: &[Domain],
    at: Timestamp,
) -> Result<(NeverLogEntry, PurgeOutcome), NeverLogError> {
    let own = OwnAddresses::new(
        store.own_addresses().await?,
        internal_domains.iter().cloned(),
    );
    if let Some(reason) = never_log_refusal(target, &own) {
        info!(
            kind = target.kind(),
            "never-log entry refused: the fund's own address"
        );
        return Err(NeverLogError::Refused(reason));
    }
    Ok(store.add_never_log(target, purge_activities, at).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> OwnAddresses {
        OwnAddresses::new(
            [
                EmailAddress::parse("ann@fund.com").unwrap(),
                EmailAddress::parse("founder@personal.example").unwrap(),
            ],
            [Domain::parse("fund.com").unwrap()],
        )
    }

    fn refused(value: &str) -> bool {
        never_log_refusal(&NeverLogTarget::parse(value).unwrap(), &own()).is_some()
    }

    #[test]
    fn the_funds_own_addresses_and_domains_are_refused() {
        for value in [
            "ann@fund.com",
            "bob@fund.com",
            "x@eu.fund.com",
            "founder@personal.example",
            "fund.com",
            "eu.fund.com",
            "personal.example",
            "FUND.COM",
        ] {
            assert!(refused(value), "{value} must be refused");
        }
    }

    #[test]
    fn a_domain_above_an_internal_subdomain_is_refused() {
        let own = OwnAddresses::new([], [Domain::parse("eu.fund.com").unwrap()]);
        let target = NeverLogTarget::parse("fund.com").unwrap();
        assert!(never_log_refusal(&target, &own).is_some());
        let target = NeverLogTarget::parse("us.fund.com").unwrap();
        assert!(never_log_refusal(&target, &own).is_none());
    }

    #[test]
    fn outside_addresses_and_domains_are_allowed() {
        for value in [
            "lawyer@firm.com",
            "firm.com",
            "notfund.com",
            "fund.com.evil.example",
            "other@personal.example",
            "mail.personal.example",
        ] {
            assert!(!refused(value), "{value} must be allowed");
        }
    }

    #[test]
    fn a_mailbox_a_never_log_entry_covers_is_refused() {
        let entry = |id, value: &str| NeverLogEntry {
            id,
            target: NeverLogTarget::parse(value).unwrap(),
            created_at: Timestamp::UNIX_EPOCH,
        };
        let entries = [entry(1, "lawyer@firm.com"), entry(2, "home.example")];
        let refusal = |m: &str| mailbox_refusal(&EmailAddress::parse(m).unwrap(), &entries);
        let why = refusal("Ann@Home.example").expect("covered by the domain entry");
        assert!(
            why.contains("home.example") && why.contains("remove the entry first"),
            "{why}"
        );
        assert!(
            refusal("x@mail.home.example").is_some(),
            "subdomains are covered"
        );
        assert!(refusal("lawyer@firm.com").is_some());
        assert!(refusal("partner@firm.com").is_none());
        assert!(refusal("ann@fund.com").is_none());
        assert!(mailbox_refusal(&EmailAddress::parse("a@home.example").unwrap(), &[]).is_none());
    }

    #[test]
    fn the_reason_names_the_address_and_the_rule() {
        let reason =
            never_log_refusal(&NeverLogTarget::parse("fund.com").unwrap(), &own()).unwrap();
        assert!(
            reason.contains("fund.com") && reason.contains("CRM_INTERNAL_DOMAINS"),
            "{reason}"
        );
        let reason =
            never_log_refusal(&NeverLogTarget::parse("ann@fund.com").unwrap(), &own()).unwrap();
        assert!(reason.contains("captured mailboxes"), "{reason}");
    }
}
