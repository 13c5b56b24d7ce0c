//! Reading a directory document (the body of `PUT /api/admin/directory` and
//! the file of `mailroom directory import`) into a checked update.

use std::path::Path;

use mailroom_ports::records::DirectoryUpdate;

/// Checks a JSON value: unknown fields, wrong types, bad emails or domains,
/// and an unknown role are refused with a message naming the place.
pub fn parse_update_value(value: serde_json::Value) -> Result<DirectoryUpdate, String> {
    serde_json::from_value(value).map_err(|e| format!("the directory is not valid: {e}"))
}

/// Reads and checks a directory file.
pub fn parse_update_file(path: &Path) -> Result<DirectoryUpdate, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a valid directory file: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_document_parses_and_bad_ones_say_why() {
        let ok = serde_json::json!({
            "users": [{"email": "Ann@Fund.com", "display_name": "Ann", "role": "admin", "is_active": true}],
            "investors": [{"id": 1, "name": "Acme LP", "domains": ["acme.com"]}],
            "contacts": [{"id": 7, "investor_id": 1, "name": "Lee", "emails": ["lee@acme.com"]}],
        });
        let u = parse_update_value(ok).unwrap();
        assert_eq!(u.users[0].email.as_str(), "ann@fund.com");
        for bad in [
            serde_json::json!({"users": [{"email": "nope", "display_name": "A", "role": "admin", "is_active": true}]}),
            serde_json::json!({"users": [{"email": "a@b.com", "display_name": "A", "role": "owner", "is_active": true}]}),
            serde_json::json!({"investors": [{"id": "one", "name": "X"}]}),
            serde_json::json!({"investors": [{"id": 1, "name": "X", "domains": ["not a domain"]}]}),
            serde_json::json!({"surprise": []}),
        ] {
            assert!(parse_update_value(bad.clone()).is_err(), "{bad}");
        }
    }
}
