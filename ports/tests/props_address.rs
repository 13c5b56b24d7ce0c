//! Properties of address normalisation: whatever the spelling of a mailbox,
//! parsing gives one canonical form, and parsing that form changes nothing.

use mailroom_ports::{Domain, EmailAddress};
use proptest::prelude::*;

/// Local parts and domains that are valid, in mixed case.
fn local_part() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9._+-]{0,12}"
}

fn domain_name() -> impl Strategy<Value = String> {
    prop::collection::vec("[A-Za-z0-9][A-Za-z0-9-]{0,8}", 2..4).prop_map(|labels| labels.join("."))
}

/// A display name without the characters that delimit the address.
fn display_name() -> impl Strategy<Value = String> {
    "[A-Za-z ,.'éü-]{0,20}"
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
    fn parsing_any_text_never_panics_and_a_parsed_address_is_canonical(input in "\\PC{0,40}") {
        if let Ok(address) = EmailAddress::parse(&input) {
            let text = address.as_str();
            prop_assert_eq!(text.matches('@').count(), 1, "{:?}", text);
            prop_assert!(!text.chars().any(|c| c.is_whitespace() || c.is_control()), "{:?}", text);
            prop_assert_eq!(text.to_lowercase(), text);
            // Parsing the canonical form gives it back.
            prop_assert_eq!(EmailAddress::parse(text), Ok(address.clone()));
            // The domain of an address is a domain in its own right.
            prop_assert_eq!(Domain::parse(address.domain().as_str()), Ok(address.domain()));
        }
    }

    #[test]
    fn case_padding_and_display_names_do_not_change_the_address(
        local in local_part(),
        domain in domain_name(),
        name in display_name(),
        pad_left in "[ \t]{0,3}",
        pad_right in "[ \t]{0,3}",
    ) {
        let plain = format!("{local}@{domain}");
        let canonical = EmailAddress::parse(&plain).expect("generated addresses are valid");
        prop_assert_eq!(canonical.as_str(), plain.to_lowercase());

        let spellings = [
            plain.to_uppercase(),
            format!("{pad_left}{plain}{pad_right}"),
            format!("<{plain}>"),
            format!("\"{name}\" <{plain}>"),
            format!("{name} <{}>", plain.to_uppercase()),
        ];
        for spelling in spellings {
            prop_assert_eq!(EmailAddress::parse(&spelling), Ok(canonical.clone()), "{:?}", spelling);
        }
    }

    #[test]
    fn text_without_exactly_one_at_sign_is_refused(
        parts in prop::collection::vec("[a-z0-9.]{1,6}", 1..5),
    ) {
        let joined = parts.join("@");
        let ats = joined.matches('@').count();
        if ats != 1 {
            prop_assert!(EmailAddress::parse(&joined).is_err(), "{:?}", joined);
        }
    }

    #[test]
    fn domain_parsing_is_idempotent_and_case_blind(input in "@?[A-Za-z0-9.-]{0,20}\\.?") {
        if let Ok(domain) = Domain::parse(&input) {
            prop_assert_eq!(Domain::parse(domain.as_str()), Ok(domain.clone()));
            prop_assert_eq!(Domain::parse(&input.to_uppercase()), Ok(domain.clone()));
            prop_assert!(domain.as_str().contains('.'));
            prop_assert!(!domain.as_str().starts_with('.') && !domain.as_str().ends_with('.'));
        }
    }
}
