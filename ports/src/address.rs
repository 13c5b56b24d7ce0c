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
    fn domain_of_an_address_is_its_tail() {
        let a = EmailAddress::parse("x@Sub.Fund.com").unwrap();
        assert_eq!(a.domain().as_str(), "sub.fund.com");
        assert_eq!(Domain::parse("@Fund.COM.").unwrap().as_str(), "fund.com");
        assert!(Domain::parse("localhost").is_err());
    }
}
