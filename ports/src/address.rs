//! Checked email addresses and domains, normalised once at the edge.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not an email address or a domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("email address is empty")]
    Empty,
    #[error("`{0}` is not an email address (expected local@domain)")]
    Malformed(String),
    #[error("`{0}` is not a domain name")]
    BadDomain(String),
}

/// The pattern of what [`EmailAddress::parse_team`] accepts (an ECMA-262
/// regular expression without look-around, so generators can follow it).
pub const TEAM_ADDRESS_PATTERN: &str = concat!(
    r"^(?:[A-Za-z0-9_'+-]{1,64}|[A-Za-z0-9_'+-]{1,20}(?:\.[A-Za-z0-9_'+-]{1,20}){1,2})",
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,60}[A-Za-z0-9])?\.){1,3}",
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,60}[A-Za-z0-9])?$"
);

/// An email address, trimmed and lower-cased, of the shape `local@domain`.
///
/// Display names (`"Ann" <ann@x.com>`) and surrounding angle brackets are
/// stripped by [`EmailAddress::parse`], so two spellings of one mailbox compare
/// equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses and normalises an address.
    ///
    /// # Errors
    /// [`AddressError::Empty`] for blank input, [`AddressError::Malformed`] when
    /// there is not exactly one `@` with text on both sides, or the text holds
    /// whitespace or control characters.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let trimmed = input.trim();
        // A display-name form keeps the address between the last angle brackets.
        let inner = match (trimmed.rfind('<'), trimmed.rfind('>')) {
            (Some(open), Some(close)) if open < close => &trimmed[open + 1..close],
            _ => trimmed,
        };
        let candidate = inner.trim().trim_matches(|c| c == '<' || c == '>').trim();
        if candidate.is_empty() {
            return Err(AddressError::Empty);
        }
        let lowered = candidate.to_lowercase();
        let mut parts = lowered.split('@');
        let (local, domain) = match (parts.next(), parts.next(), parts.next()) {
            (Some(l), Some(d), None) if !l.is_empty() && !d.is_empty() => (l, d),
            _ => return Err(AddressError::Malformed(candidate.to_string())),
        };
        if lowered.chars().any(|c| c.is_whitespace() || c.is_control())
            || Domain::parse(domain).is_err()
        {
            return Err(AddressError::Malformed(candidate.to_string()));
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    /// Parses a teammate's address: a Google Workspace user, who signs in,
    /// owns mailboxes and may receive the digest, so the address must be one
    /// every transport can deliver to. Stricter than [`EmailAddress::parse`]
    /// (which must take whatever captured mail carries): no display name, no
    /// surrounding space; a local part of letters, digits and `_ ' + -`,
    /// either one part of up to 64 characters or two or three dot-separated
    /// parts of up to 20; a domain of two to four labels of letters, digits
    /// and inner `-`, each up to 62 characters. The document's pattern for a
    /// directory user's `email` says the same.
    ///
    /// # Errors
    /// [`AddressError::Empty`] for an empty string, [`AddressError::Malformed`]
    /// for anything else outside that shape.
    pub fn parse_team(input: &str) -> Result<Self, AddressError> {
        if input.is_empty() {
            return Err(AddressError::Empty);
        }
        let malformed = || AddressError::Malformed(input.to_string());
        let (local, domain) = input.split_once('@').ok_or_else(malformed)?;
        let local_char = |c: char| c.is_ascii_alphanumeric() || "_'+-".contains(c);
        let parts: Vec<&str> = local.split('.').collect();
        let part_max = if parts.len() == 1 { 64 } else { 20 };
        let local_ok = parts.len() <= 3
            && parts
                .iter()
                .all(|p| (1..=part_max).contains(&p.len()) && p.chars().all(local_char));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = (2..=4).contains(&labels.len())
            && labels.iter().all(|l| {
                (1..=62).contains(&l.len())
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if local_ok && domain_ok {
            Ok(Self(input.to_ascii_lowercase()))
        } else {
            Err(malformed())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`.
    pub fn domain(&self) -> Domain {
        let at = self.0.rfind('@').expect("checked at construction");
        Domain(self.0[at + 1..].to_string())
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        EmailAddress::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Deserialises a teammate's address with [`EmailAddress::parse_team`].
///
/// # Errors
/// The parse error, as a serde error.
pub fn team_address<'de, D: serde::Deserializer<'de>>(d: D) -> Result<EmailAddress, D::Error> {
    let raw = String::deserialize(d)?;
    EmailAddress::parse_team(&raw).map_err(serde::de::Error::custom)
}

/// A DNS domain, trimmed, lower-cased, without a leading `@` or trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Domain(String);

impl Domain {
    /// # Errors
    /// [`AddressError::BadDomain`] when the input is empty, has no dot, or
    /// holds characters a host name cannot.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let d = input
            .trim()
            .trim_start_matches('@')
            .trim_end_matches('.')
            .to_lowercase();
        let ok = !d.is_empty()
            && d.contains('.')
            && !d.starts_with('.')
            && !d.contains("..")
            && d.chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        if ok {
            Ok(Self(d))
        } else {
            Err(AddressError::BadDomain(input.trim().to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Domain {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Domain {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Domain::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, ()>) {
        let got = EmailAddress::parse(input)
            .map(|a| a.to_string())
            .map_err(|_| ());
        assert_eq!(got.as_deref().map_err(|_| ()), expected, "input {input:?}");
    }

    #[test]
    fn addresses_are_normalised_or_refused() {
        check("  Ann@Example.COM ", Ok("ann@example.com"));
        check("\"Ann Lee\" <Ann@Example.com>", Ok("ann@example.com"));
        check("<bob@x.org>", Ok("bob@x.org"));
        check("", Err(()));
        check("no-at-sign", Err(()));
        check("a@b@c.com", Err(()));
        check("a b@c.com", Err(()));
        check("a@nodot", Err(()));
    }

    #[test]
    fn team_addresses_are_deliverable_shapes_only() {
        for ok in [
            "ann@fund.com",
            "Ann.B.Lee@Mail.Fund.co.uk",
            "o'neil+crm_1-x@f-und.com",
            &format!("{}@fund.com", "a".repeat(64)),
            &format!("{}.{}@fund.com", "a".repeat(20), "b".repeat(20)),
            &format!("a@{}.com", "d".repeat(62)),
        ] {
            let parsed = EmailAddress::parse_team(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(parsed.as_str(), ok.to_ascii_lowercase());
        }
        for bad in [
            "",
            "0@0",
            "a@-.com",
            "a@b-.com",
            "a@b..com",
            "a@b.com.",
            "a@a.b.c.d.e",
            ".a@fund.com",
            "a.@fund.com",
            "a..b@fund.com",
            "a.b.c.d@fund.com",
            "é@fund.com",
            "a@fünd.com",
            "a b@fund.com",
            " ann@fund.com",
            "Ann <ann@fund.com>",
            "a/b@fund.com",
            "a@b@fund.com",
            &format!("{}@fund.com", "a".repeat(65)),
            &format!("{}.b@fund.com", "a".repeat(21)),
            &format!("a@{}.com", "d".repeat(63)),
        ] {
            assert!(
                EmailAddress::parse_team(bad).is_err(),
                "{bad:?} was accepted"
            );
        }
    }

    proptest::proptest! {
        /// Every string the documented pattern allows is accepted, so a
        /// client that follows the document is never refused.
        #[test]
        fn the_pattern_and_the_parser_agree(s in proptest::string::string_regex(TEAM_ADDRESS_PATTERN.trim_start_matches('^').trim_end_matches('$')).expect("a supported regex")) {
            proptest::prop_assert!(EmailAddress::parse_team(&s).is_ok(), "{s:?}");
        }
    }

    #[test]
    fn domain_of_an_address_is_its_tail() {
        let a = EmailAddress::parse("x@Sub.Fund.com").unwrap();
        assert_eq!(a.domain().as_str(), "sub.fund.com");
        assert_eq!(Domain::parse("@Fund.COM.").unwrap().as_str(), "fund.com");
        assert!(Domain::parse("localhost").is_err());
    }
}
