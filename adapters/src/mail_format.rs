//! Renders an internal [`OutgoingMail`] as an RFC 822 message with lettre,
//! for every transport that sends the digest.

use lettre::Message;
use lettre::message::{Mailbox, MultiPart, header::ContentType};
use mailroom_ports::{AdminRecipients, EmailAddress, OutgoingMail, SendError};

/// The message from `from` to exactly the admins in `to`.
///
/// # Errors
/// `SendError::Unexpected` when an address does not survive lettre's own
/// checks (they were checked once already, so this is a bug, not input).
pub fn render(
    from: &EmailAddress,
    to: &AdminRecipients,
    mail: &OutgoingMail,
) -> Result<Message, SendError> {
    let mut builder = Message::builder()
        .from(mailbox(from, Some("mailroom"))?)
        .subject(mail.subject.clone());
    for admin in to.addresses() {
        builder = builder.to(mailbox(admin, None)?);
    }
    let built = match &mail.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            html.clone(),
        )),
        None => builder
            .header(ContentType::TEXT_PLAIN)
            .body(mail.text.clone()),
    };
    built.map_err(|e| SendError::Unexpected(anyhow::anyhow!("failed to build the message: {e}")))
}

fn mailbox(address: &EmailAddress, name: Option<&str>) -> Result<Mailbox, SendError> {
    let parsed = address
        .as_str()
        .parse()
        .map_err(|e| SendError::Unexpected(anyhow::anyhow!("address rejected by lettre: {e}")))?;
    Ok(Mailbox::new(name.map(str::to_string), parsed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailroom_ports::address::TEAM_ADDRESS_PATTERN;

    proptest::proptest! {
        /// Every address the directory takes for a teammate survives lettre's
        /// own checks, so a digest to any set of admins can be rendered (a
        /// looser check once let an admin in whom no transport could address).
        #[test]
        fn every_team_address_is_one_lettre_can_address(s in proptest::string::string_regex(TEAM_ADDRESS_PATTERN.trim_start_matches('^').trim_end_matches('$')).expect("a supported regex")) {
            let address = EmailAddress::parse_team(&s).expect("the pattern's own shape");
            proptest::prop_assert!(mailbox(&address, None).is_ok(), "{s:?}");
        }
    }
}
