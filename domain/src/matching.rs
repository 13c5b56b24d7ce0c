//! Address matching (R-CAP-4): own addresses never match; contact email, then investor domain.

use std::collections::{BTreeMap, HashMap, HashSet};

use mailroom_ports::records::{EmailHeader, MatchDirectory, MatchLink};
use mailroom_ports::trust::NeverLogTarget;
use mailroom_ports::{ContactId, Domain, EmailAddress, InvestorId};

/// The fund's own addresses: every captured mailbox and the internal domains.
///
/// Built once per sync run from `Store::own_addresses` and the configured
/// `CRM_INTERNAL_DOMAINS`.
#[derive(Debug, Clone, Default)]
pub struct OwnAddresses {
    mailboxes: HashSet<EmailAddress>,
    /// Kept as plain strings so a parent domain (`fund.com` of `eu.fund.com`)
    /// is looked up without re-parsing it.
    internal_domains: HashSet<String>,
}

impl OwnAddresses {
    pub fn new(
        mailboxes: impl IntoIterator<Item = EmailAddress>,
        internal_domains: impl IntoIterator<Item = Domain>,
    ) -> Self {
        Self {
            mailboxes: mailboxes.into_iter().collect(),
            internal_domains: internal_domains
                .into_iter()
                .map(|d| d.as_str().to_string())
                .collect(),
        }
    }

    /// A mailbox address, or an address whose domain (or a parent of it) is
    /// internal: `ann@eu.fund.com` is ours when `fund.com` is internal.
    pub fn is_own(&self, address: &EmailAddress) -> bool {
        if self.mailboxes.contains(address) {
            return true;
        }
        if self.internal_domains.is_empty() {
            return false;
        }
        domain_and_parents(address.domain().as_str()).any(|d| self.internal_domains.contains(d))
    }

    /// The mailbox addresses, for callers that need the plain list.
    pub fn mailboxes(&self) -> impl Iterator<Item = &EmailAddress> {
        self.mailboxes.iter()
    }

    /// The internal domains (`CRM_INTERNAL_DOMAINS`).
    pub fn internal_domains(&self) -> impl Iterator<Item = &str> {
        self.internal_domains.iter().map(String::as_str)
    }
}

/// Consumer mail providers: a domain shared by strangers says nothing about
/// which investor a sender belongs to, so it never matches by domain.
pub fn is_free_mail(domain: &Domain) -> bool {
    domain_and_parents(domain.as_str())
        .any(|d| FREE_MAIL_EXACT.contains(&d) || is_free_mail_brand(d))
}

/// Matches email headers against the live directory.
#[derive(Debug, Clone)]
pub struct Matcher {
    contacts: HashMap<EmailAddress, Vec<(InvestorId, ContactId)>>,
    domains: HashMap<Domain, Vec<InvestorId>>,
    never_log: Vec<NeverLogTarget>,
    own: OwnAddresses,
}

impl Matcher {
    /// `directory` must hold live records only (the store's
    /// `match_directory` guarantees it): whatever it holds can match.
    pub fn new(directory: MatchDirectory, own: OwnAddresses) -> Self {
        let mut contacts: HashMap<EmailAddress, Vec<(InvestorId, ContactId)>> = HashMap::new();
        for c in directory.contact_emails {
            contacts
                .entry(c.email)
                .or_default()
                .push((c.investor_id, c.contact_id));
        }
        let mut domains: HashMap<Domain, Vec<InvestorId>> = HashMap::new();
        for d in directory.investor_domains {
            // A free-mail domain on an investor record is a data-entry slip;
            // honouring it would tie every gmail.com sender to that investor.
            if !is_free_mail(&d.domain) {
                domains.entry(d.domain).or_default().push(d.investor_id);
            }
        }
        Self {
            contacts,
            domains,
            never_log: directory.never_log,
            own,
        }
    }

    pub fn own(&self) -> &OwnAddresses {
        &self.own
    }

    /// Whether a never-log entry covers an address of the header.
    pub fn is_never_logged(&self, header: &EmailHeader) -> bool {
        self.never_log
            .iter()
            .any(|entry| entry.covers_header(header))
    }

    /// The (investor, contact?) links of one email, ordered by investor then
    /// contact (domain-only first), each with the first header address (in
    /// From, To, Cc, Reply-To order) that produced it.
    ///
    /// Mail to or from a never-log entry matches nothing, so it is stored as
    /// metadata only and never proposed. Our own addresses are never
    /// candidates and free-mail domains never match by domain, as before.
    pub fn match_header(&self, header: &EmailHeader) -> Vec<MatchLink> {
        if self.is_never_logged(header) {
            return Vec::new();
        }
        let candidates = header
            .from_email
            .iter()
            .chain(&header.to)
            .chain(&header.cc)
            .chain(&header.reply_to)
            .filter(|a| !self.own.is_own(a));

        let mut found: BTreeMap<(InvestorId, Option<ContactId>), &EmailAddress> = BTreeMap::new();
        for address in candidates {
            if let Some(hits) = self.contacts.get(address) {
                for &(investor, contact) in hits {
                    found.entry((investor, Some(contact))).or_insert(address);
                }
            } else if let Some(investors) = self.domains.get(&address.domain()) {
                for &investor in investors {
                    found.entry((investor, None)).or_insert(address);
                }
            }
        }

        let with_contact: HashSet<InvestorId> = found
            .keys()
            .filter(|(_, contact)| contact.is_some())
            .map(|(investor, _)| *investor)
            .collect();
        found
            .into_iter()
            .filter(|((investor, contact), _)| {
                contact.is_some() || !with_contact.contains(investor)
            })
            .map(|((investor_id, contact_id), address)| MatchLink {
                investor_id,
                contact_id,
                matched_address: address.clone(),
            })
            .collect()
    }
}

const FREE_MAIL_EXACT: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "ymail.com",
    "rocketmail.com",
    "live.com",
    "msn.com",
    "passport.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "aim.com",
    "proton.me",
    "pm.me",
    "protonmail.com",
    "protonmail.ch",
    "tutanota.com",
    "tuta.io",
    "web.de",
    "mail.com",
    "email.com",
    "zoho.com",
    "zohomail.com",
    "fastmail.com",
    "fastmail.fm",
    "hey.com",
    "hushmail.com",
    "mail.ru",
    "qq.com",
    "163.com",
    "126.com",
    "naver.com",
    "rediffmail.com",
    "comcast.net",
    "verizon.net",
    "att.net",
    "sbcglobal.net",
    "btinternet.com",
    "orange.fr",
    "free.fr",
    "t-online.de",
    "libero.it",
];

/// Providers that run the same service under many country domains
/// (`yahoo.co.uk`, `hotmail.fr`, `gmx.de`, `outlook.com.au`).
const FREE_MAIL_BRANDS: &[&str] = &["yahoo", "hotmail", "outlook", "live", "gmx", "yandex"];

fn is_free_mail_brand(domain: &str) -> bool {
    let Some((brand, suffix)) = domain.split_once('.') else {
        return false;
    };
    // A public suffix has one or two labels (`com`, `co.uk`); more means a
    // company's own host such as `yahoo.corp.example.com`.
    FREE_MAIL_BRANDS.contains(&brand) && !suffix.is_empty() && suffix.split('.').count() <= 2
}

/// `a.b.c.com`, `b.c.com`, `c.com`, `com`.
fn domain_and_parents(domain: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(domain), |d| d.split_once('.').map(|(_, rest)| rest))
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use mailroom_ports::records::{ContactEmail, InvestorDomain};

    use super::*;

    fn addr(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    fn dom(s: &str) -> Domain {
        Domain::parse(s).unwrap()
    }

    fn header(from: &str, to: &[&str], cc: &[&str], reply_to: &[&str]) -> EmailHeader {
        let list = |xs: &[&str]| xs.iter().map(|x| addr(x)).collect::<Vec<_>>();
        EmailHeader {
            dedup_key: "id@x".into(),
            message_id: Some("id@x".into()),
            from_email: Some(addr(from)),
            from_name: None,
            to: list(to),
            cc: list(cc),
            reply_to: list(reply_to),
            in_reply_to: None,
            references: vec![],
            sent_at: Timestamp::UNIX_EPOCH,
            size: 0,
        }
    }

    /// Investor 1 (Acme: acme.com, contact 10 ann@acme.com, contact 11 bob@gmail.com),
    /// investor 2 (Beta: beta.vc, no contacts), investor 3 (Gamma: contact 30
    /// carol@acme.com shared with investor 1's domain).
    fn directory() -> MatchDirectory {
        MatchDirectory {
            contact_emails: vec![
                ContactEmail {
                    email: addr("ann@acme.com"),
                    contact_id: ContactId(10),
                    investor_id: InvestorId(1),
                },
                ContactEmail {
                    email: addr("bob@gmail.com"),
                    contact_id: ContactId(11),
                    investor_id: InvestorId(1),
                },
                ContactEmail {
                    email: addr("carol@acme.com"),
                    contact_id: ContactId(30),
                    investor_id: InvestorId(3),
                },
            ],
            investor_domains: vec![
                InvestorDomain {
                    domain: dom("acme.com"),
                    investor_id: InvestorId(1),
                },
                InvestorDomain {
                    domain: dom("beta.vc"),
                    investor_id: InvestorId(2),
                },
                InvestorDomain {
                    domain: dom("gmail.com"),
                    investor_id: InvestorId(4),
                },
            ],
            never_log: Vec::new(),
        }
    }

    fn matcher() -> Matcher {
        let own = OwnAddresses::new(
            [addr("me@fund.com"), addr("partner@gmail.com")],
            [dom("fund.com")],
        );
        Matcher::new(directory(), own)
    }

    type Link = (i64, Option<i64>, &'static str);

    fn check(h: EmailHeader, expected: &[Link]) {
        let got: Vec<(i64, Option<i64>, String)> = matcher()
            .match_header(&h)
            .into_iter()
            .map(|l| {
                (
                    l.investor_id.0,
                    l.contact_id.map(|c| c.0),
                    l.matched_address.to_string(),
                )
            })
            .collect();
        let want: Vec<(i64, Option<i64>, String)> = expected
            .iter()
            .map(|(i, c, a)| (*i, *c, a.to_string()))
            .collect();
        assert_eq!(got, want, "header {h:?}");
    }

    #[test]
    fn header_addresses_match_contacts_then_domains() {
        // Contact email from the sender.
        check(
            header("ann@acme.com", &["me@fund.com"], &[], &[]),
            &[(1, Some(10), "ann@acme.com")],
        );
        // Case and display names were normalised when the address was parsed.
        check(
            header("\"Ann\" <ANN@Acme.com>", &["me@fund.com"], &[], &[]),
            &[(1, Some(10), "ann@acme.com")],
        );
        // Unknown person at an investor domain: domain-only link.
        check(
            header("dave@acme.com", &["me@fund.com"], &[], &[]),
            &[(1, None, "dave@acme.com")],
        );
        // A contact link supersedes the domain-only link for the same investor.
        check(
            header("dave@acme.com", &["me@fund.com"], &["ann@acme.com"], &[]),
            &[(1, Some(10), "ann@acme.com")],
        );
        // Recipients count as well as the sender; order is by investor id.
        check(
            header("me@fund.com", &["x@beta.vc"], &["ann@acme.com"], &[]),
            &[(1, Some(10), "ann@acme.com"), (2, None, "x@beta.vc")],
        );
        // Reply-To is a candidate too.
        check(
            header("noreply@mailer.io", &["me@fund.com"], &[], &["x@beta.vc"]),
            &[(2, None, "x@beta.vc")],
        );
        // A contact at a free-mail address matches by its email.
        check(
            header("bob@gmail.com", &["me@fund.com"], &[], &[]),
            &[(1, Some(11), "bob@gmail.com")],
        );
        // An investor's contact on another investor's domain links to its own investor only.
        check(
            header("carol@acme.com", &["me@fund.com"], &[], &[]),
            &[(3, Some(30), "carol@acme.com")],
        );
        // Strangers and internal mail match nothing.
        check(
            header("stranger@elsewhere.org", &["me@fund.com"], &[], &[]),
            &[],
        );
        check(
            header("me@fund.com", &["colleague@fund.com"], &[], &[]),
            &[],
        );
    }

    #[test]
    fn one_link_per_investor_and_contact_keeps_the_first_address() {
        check(
            header(
                "ann@acme.com",
                &["ann@acme.com", "dave@acme.com"],
                &["ann@acme.com"],
                &["ann@acme.com"],
            ),
            &[(1, Some(10), "ann@acme.com")],
        );
        check(
            header("dave@acme.com", &["erin@acme.com"], &[], &[]),
            &[(1, None, "dave@acme.com")],
        );
    }

    #[test]
    fn free_mail_domains_never_match_by_domain() {
        // gmail.com is listed as investor 4's domain by mistake: ignored.
        check(
            header("somebody@gmail.com", &["me@fund.com"], &[], &[]),
            &[],
        );
    }

    #[test]
    fn own_addresses_never_match_even_when_in_the_directory() {
        let dir = MatchDirectory {
            contact_emails: vec![ContactEmail {
                email: addr("me@fund.com"),
                contact_id: ContactId(99),
                investor_id: InvestorId(9),
            }],
            investor_domains: vec![
                InvestorDomain {
                    domain: dom("fund.com"),
                    investor_id: InvestorId(9),
                },
                InvestorDomain {
                    domain: dom("sub.fund.com"),
                    investor_id: InvestorId(9),
                },
            ],
            never_log: Vec::new(),
        };
        let m = Matcher::new(
            dir,
            OwnAddresses::new([addr("me@fund.com")], [dom("fund.com")]),
        );
        let h = header("me@fund.com", &["x@sub.fund.com", "y@fund.com"], &[], &[]);
        assert_eq!(m.match_header(&h), vec![]);
    }

    #[test]
    fn contact_of_an_investor_absent_from_the_directory_does_not_match() {
        // The store leaves a soft-deleted investor (and its contacts and
        // domains) out of the directory; the old contact's mail then matches
        // nothing, while a live investor's domain still does.
        let dir = MatchDirectory {
            contact_emails: vec![],
            investor_domains: vec![InvestorDomain {
                domain: dom("beta.vc"),
                investor_id: InvestorId(2),
            }],
            never_log: Vec::new(),
        };
        let m = Matcher::new(dir, OwnAddresses::default());
        assert_eq!(
            m.match_header(&header("ann@acme.com", &["me@fund.com"], &[], &[])),
            vec![]
        );
        assert_eq!(m.match_header(&header("x@beta.vc", &[], &[], &[])).len(), 1);
    }

    #[test]
    fn domain_match_is_exact_not_by_parent_domain() {
        check(header("x@mail.beta.vc", &["me@fund.com"], &[], &[]), &[]);
    }

    fn check_own(address: &str, expected: bool) {
        let own = OwnAddresses::new(
            [addr("me@fund.com"), addr("partner@gmail.com")],
            [dom("fund.com"), dom("fund.vc")],
        );
        assert_eq!(own.is_own(&addr(address)), expected, "{address}");
    }

    #[test]
    fn own_addresses_are_mailboxes_and_internal_domains_with_their_subdomains() {
        check_own("me@fund.com", true);
        check_own("ME@FUND.COM", true);
        check_own("anyone@fund.com", true);
        check_own("anyone@eu.fund.com", true);
        check_own("anyone@fund.vc", true);
        check_own("partner@gmail.com", true);
        check_own("other@gmail.com", false);
        check_own("anyone@notfund.com", false);
        check_own("anyone@fund.com.evil.io", false);
    }

    fn check_free(domain: &str, expected: bool) {
        assert_eq!(is_free_mail(&dom(domain)), expected, "{domain}");
    }

    #[test]
    fn free_mail_providers_are_recognised_across_country_domains() {
        for d in [
            "gmail.com",
            "googlemail.com",
            "yahoo.com",
            "yahoo.co.uk",
            "yahoo.fr",
            "outlook.com",
            "hotmail.com",
            "hotmail.co.uk",
            "live.com",
            "msn.com",
            "icloud.com",
            "me.com",
            "mac.com",
            "aol.com",
            "proton.me",
            "protonmail.com",
            "gmx.de",
            "gmx.net",
            "yandex.ru",
            "mail.com",
            "zoho.com",
            "fastmail.com",
            "hey.com",
        ] {
            check_free(d, true);
        }
        for d in [
            "acme.com",
            "beta.vc",
            "yahoo.corp.example.com",
            "gmailer.com",
            "hey.vc",
            "outlooks.com",
        ] {
            check_free(d, false);
        }
    }
}
