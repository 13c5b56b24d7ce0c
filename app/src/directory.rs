//! Reading a directory document (the body of `PUT /api/admin/directory` and
//! the file of `mailroom directory import`) into a checked update.

use std::path::Path;

use mailroom_ports::records::DirectoryUpdate;

/// Checks a JSON value: unknown fields, wrong types, bad emails or domains,
/// and an unknown role are refused with a message naming the place.
pub fn parse_update_value(value: serde_json::Value) -> Result<DirectoryUpdate, String> {
    match serde_json::from_value(value.clone()) {
        Ok(update) => Ok(update),
        Err(e) => {
            tracing::debug!(error = %e, "directory refused");
            Err(format!("the directory is not valid: {}", locate(&value)))
        }
    }
}

/// Names the first entry that does not parse (`users[3]`), never its
/// content: the parser's own text quotes the offending value.
fn locate(value: &serde_json::Value) -> String {
    use mailroom_ports::records::{DirectoryContact, DirectoryInvestor, DirectoryUser};
    fn first_bad<T: serde::de::DeserializeOwned>(
        value: &serde_json::Value,
        key: &str,
    ) -> Option<String> {
        let items = value.get(key)?.as_array()?;
        items
            .iter()
            .position(|item| serde_json::from_value::<T>(item.clone()).is_err())
            .map(|i| format!("{key}[{i}] has a missing, unknown or malformed field"))
    }
    first_bad::<DirectoryUser>(value, "users")
        .or_else(|| first_bad::<DirectoryInvestor>(value, "investors"))
        .or_else(|| first_bad::<DirectoryContact>(value, "contacts"))
        .unwrap_or_else(|| "expected an object with the lists users, investors and contacts".into())
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
            let err = parse_update_value(bad.clone()).expect_err("refused");
            for quoted in ["nope", "owner", "one", "not a domain", "surprise"] {
                assert!(!err.contains(quoted), "{err} echoes the input");
            }
        }
        let err = parse_update_value(serde_json::json!({"users": [
            {"email": "a@b.com", "display_name": "A", "role": "admin", "is_active": true},
            {"email": "nope", "display_name": "B", "role": "admin", "is_active": true},
        ]}))
        .unwrap_err();
        assert!(err.contains("users[1]"), "{err}");
    }
}
