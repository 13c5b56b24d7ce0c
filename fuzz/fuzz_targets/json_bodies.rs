//! Bytes as a JSON request body: the directory document through the checks
//! both `PUT /api/admin/directory` and `mailroom directory import` apply, and
//! the other JSON command bodies through their schema parse. Each must
//! accept or refuse, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailroom_app::http::digest::{PolicyPatchBody, TestEmailBody};
use mailroom_app::http::directory::DirectoryBody;
use mailroom_app::http::drafts::DraftBody;
use poem_openapi::types::ParseFromJSON;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if DirectoryBody::parse_from_json(Some(value.clone())).is_ok() {
        let _ = mailroom_app::directory::parse_update_value(value.clone());
    }
    let _ = mailroom_app::directory::parse_update_value(value.clone());
    let _ = PolicyPatchBody::parse_from_json(Some(value.clone()));
    let _ = TestEmailBody::parse_from_json(Some(value.clone()));
    let _ = DraftBody::parse_from_json(Some(value));
});
