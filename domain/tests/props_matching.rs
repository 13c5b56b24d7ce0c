//! Properties of address matching and of reply-all recipients over random
//! headers drawn from a small pool of addresses, so that collisions (the same
//! person in From and Cc, our own mailbox in To, a contact on an investor's
//! domain) happen often.

use std::collections::{BTreeSet, HashSet};

use jiff::Timestamp;
use mailroom_domain::drafts::reply_recipients;
use mailroom_domain::matching::{Matcher, OwnAddresses, is_free_mail};
use mailroom_ports::records::{ContactEmail, EmailHeader, InvestorDomain, MatchDirectory};
use mailroom_ports::{ContactId, Domain, EmailAddress, InvestorId};
use proptest::prelude::*;

const DOMAINS: &[&str] = &[
    "acme.com",
    "beta.vc",
    "fund.com",
    "eu.fund.com",
    "gmail.com",
    "other.org",
];
const LOCALS: &[&str] = &["ann", "bob", "me", "ir", "x"];

/// Mailboxes of ours: `me@fund.com` and a partner's free-mail address.
const OWN_MAILBOXES: &[&str] = &["me@fund.com", "me@gmail.com"];
const INTERNAL_DOMAINS: &[&str] = &["fund.com"];

fn dom(s: &str) -> Domain {
    Domain::parse(s).expect("pool domain")
}

fn own() -> OwnAddresses {
    OwnAddresses::new(
        OWN_MAILBOXES
            .iter()
            .map(|a| EmailAddress::parse(a).expect("pool address")),
        INTERNAL_DOMAINS.iter().map(|d| dom(d)),
    )
}

/// An address from the pool, spelt in any case and sometimes with a display
/// name, parsed as the capture path parses it.
fn address() -> impl Strategy<Value = EmailAddress> {
    (
        prop::sample::select(LOCALS),
        prop::sample::select(DOMAINS),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(local, domain, upper, named)| {
            let plain = format!("{local}@{domain}");
            let plain = if upper { plain.to_uppercase() } else { plain };
            let text = if named {
                format!("\"Some One\" <{plain}>")
            } else {
                plain
            };
            EmailAddress::parse(&text).expect("pool address parses")
        })
}

fn addresses(max: usize) -> impl Strategy<Value = Vec<EmailAddress>> {
    prop::collection::vec(address(), 0..=max)
}

fn header() -> impl Strategy<Value = EmailHeader> {
    (
        prop::option::weighted(0.9, address()),
        addresses(4),
        addresses(4),
        addresses(2),
    )
        .prop_map(|(from_email, to, cc, reply_to)| EmailHeader {
            dedup_key: "m@x".into(),
            message_id: Some("m@x".into()),
            from_email,
            from_name: None,
            to,
            cc,
            reply_to,
            in_reply_to: None,
            references: vec![],
            sent_at: Timestamp::UNIX_EPOCH,
            size: 0,
        })
}

fn directory() -> impl Strategy<Value = MatchDirectory> {
    let contact =
        (address(), 1i64..20, 1i64..5).prop_map(|(email, contact, investor)| ContactEmail {
            email,
            contact_id: ContactId(contact),
            investor_id: InvestorId(investor),
        });
    let domain =
        (prop::sample::select(DOMAINS), 1i64..5).prop_map(|(d, investor)| InvestorDomain {
            domain: dom(d),
            investor_id: InvestorId(investor),
        });
    (
        prop::collection::vec(contact, 0..6),
        prop::collection::vec(domain, 0..4),
    )
        .prop_map(|(contact_emails, investor_domains)| MatchDirectory {
            contact_emails,
            investor_domains,
        })
}

fn header_addresses(h: &EmailHeader) -> Vec<&EmailAddress> {
    h.from_email
        .iter()
        .chain(&h.to)
        .chain(&h.cc)
        .chain(&h.reply_to)
        .collect()
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_link_comes_from_a_foreign_header_address_and_the_directory(
        dir in directory(),
        h in header(),
    ) {
        let own = own();
        let links = Matcher::new(dir.clone(), own.clone()).match_header(&h);
        let present = header_addresses(&h);
        for link in &links {
            prop_assert!(!own.is_own(&link.matched_address), "own address matched: {:?}", link);
            prop_assert!(present.contains(&&link.matched_address), "{:?} not in header", link);
            match link.contact_id {
                Some(contact) => prop_assert!(
                    dir.contact_emails.iter().any(|c| c.contact_id == contact
                        && c.investor_id == link.investor_id
                        && c.email == link.matched_address),
                    "contact link without a directory entry: {:?}", link
                ),
                None => {
                    let domain = link.matched_address.domain();
                    prop_assert!(!is_free_mail(&domain), "free-mail domain matched: {:?}", link);
                    prop_assert!(
                        dir.investor_domains.iter().any(|d| d.domain == domain
                            && d.investor_id == link.investor_id),
                        "domain link without a directory entry: {:?}", link
                    );
                }
            }
        }
    }

    #[test]
    fn links_are_unique_ordered_and_a_contact_link_supersedes_the_domain_link(
        dir in directory(),
        h in header(),
    ) {
        let links = Matcher::new(dir, own()).match_header(&h);
        let keys: Vec<(InvestorId, Option<ContactId>)> =
            links.iter().map(|l| (l.investor_id, l.contact_id)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        prop_assert_eq!(&keys, &sorted, "links not unique and ordered");
        let with_contact: HashSet<InvestorId> = links
            .iter()
            .filter(|l| l.contact_id.is_some())
            .map(|l| l.investor_id)
            .collect();
        for link in &links {
            prop_assert!(
                link.contact_id.is_some() || !with_contact.contains(&link.investor_id),
                "domain-only link beside a contact link: {:?}", link
            );
        }
    }

    #[test]
    fn the_order_of_recipients_does_not_change_who_matches(
        dir in directory(),
        h in header(),
    ) {
        let matcher = Matcher::new(dir, own());
        let keys = |h: &EmailHeader| -> BTreeSet<(InvestorId, Option<ContactId>)> {
            matcher.match_header(h).iter().map(|l| (l.investor_id, l.contact_id)).collect()
        };
        let mut shuffled = h.clone();
        shuffled.to.reverse();
        shuffled.cc.reverse();
        shuffled.reply_to.reverse();
        std::mem::swap(&mut shuffled.to, &mut shuffled.cc);
        prop_assert_eq!(keys(&h), keys(&shuffled));
    }

    #[test]
    fn reply_recipients_never_include_us_never_repeat_and_always_keep_the_lp(
        h in header(),
        reply_all in any::<bool>(),
    ) {
        let own = own();
        let (to, cc) = reply_recipients(&h, reply_all, &own);

        for a in to.iter().chain(&cc) {
            prop_assert!(!own.is_own(a), "own address {} in the reply", a);
        }
        let mut seen = HashSet::new();
        for a in to.iter().chain(&cc) {
            prop_assert!(seen.insert(a.as_str().to_lowercase()), "{} appears twice", a);
        }
        if !reply_all {
            prop_assert!(cc.is_empty());
        }

        // The LP: whoever the original asks replies to go to (Reply-To, else
        // From), when that is not us, is always in To.
        let primary: Vec<&EmailAddress> = if h.reply_to.is_empty() {
            h.from_email.iter().collect()
        } else {
            h.reply_to.iter().collect()
        };
        let foreign_primary: Vec<&&EmailAddress> =
            primary.iter().filter(|a| !own.is_own(a)).collect();
        for lp in &foreign_primary {
            prop_assert!(to.contains(lp), "LP {} missing from To {:?}", lp, to);
        }
        // Replying to our own message goes to the people it was sent to.
        if foreign_primary.is_empty() {
            for a in h.to.iter().filter(|a| !own.is_own(a)) {
                prop_assert!(to.contains(a), "recipient {} missing from To {:?}", a, to);
            }
        }
        // Reply-all reaches every foreign participant of the original, once.
        if reply_all {
            let everyone: BTreeSet<&EmailAddress> = primary
                .iter()
                .copied()
                .chain(&h.to)
                .chain(&h.cc)
                .filter(|a| !own.is_own(a))
                .collect();
            let reached: BTreeSet<&EmailAddress> = to.iter().chain(&cc).collect();
            prop_assert_eq!(reached, everyone);
        }
    }
}
