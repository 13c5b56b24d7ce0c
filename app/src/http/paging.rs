//! The one cursor scheme of every paged list: `limit` (1–200, default 50),
//! an opaque `cursor` taken from the previous page's `next_cursor`, keyset
//! pages newest first.
//!
//! A cursor names the list it came from, so one list's cursor handed to
//! another is refused like any other garbage (400), never misread.

use mailroom_ports::reads::{Keyset, PageRequest};

use crate::http::error::ApiError;

/// The page size when the request names none.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page a request may ask for.
pub const MAX_LIMIT: u32 = 200;

/// Which list a cursor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    Activity,
    Proposals,
    DigestSends,
    CaptureErrors,
    Drafts,
}

impl List {
    fn tag(self) -> &'static str {
        match self {
            List::Activity => "activity",
            List::Proposals => "proposals",
            List::DigestSends => "digest_sends",
            List::CaptureErrors => "capture_errors",
            List::Drafts => "drafts",
        }
    }
}

/// The page a request asks for.
///
/// # Errors
/// `BadRequest` for a limit outside 1–200 or a cursor this list did not hand
/// out; the message never repeats the input.
pub fn page_request(
    list: List,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(format!(
            "limit must be from 1 to {MAX_LIMIT}"
        )));
    }
    let after = cursor.map(|c| decode(list, c)).transpose()?;
    Ok(PageRequest { limit, after })
}

/// The `next_cursor` to answer with: `None` on the last page.
pub fn next_cursor(list: List, next: Option<Keyset>) -> Option<String> {
    next.map(|k| encode(list, k))
}

/// `<list>:<microseconds>:<id>`, hex-encoded so clients treat it as opaque.
fn encode(list: List, k: Keyset) -> String {
    let plain = format!("{}:{}:{}", list.tag(), k.at.as_microsecond(), k.id);
    plain.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode(list: List, cursor: &str) -> Result<Keyset, ApiError> {
    let bad = || ApiError::bad_request("cursor is not one this list returned");
    if !cursor.len().is_multiple_of(2) || cursor.len() > 200 {
        return Err(bad());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| {
            cursor
                .get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)?;
    let plain = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = plain.split(':');
    let (Some(tag), Some(micros), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if tag != list.tag() {
        return Err(bad());
    }
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let id: i64 = id.parse().map_err(|_| bad())?;
    let at = jiff::Timestamp::from_microsecond(micros).map_err(|_| bad())?;
    Ok(Keyset { at, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyset() -> Keyset {
        Keyset {
            at: "2026-11-24T10:00:00.123456Z".parse().unwrap(),
            id: 42,
        }
    }

    #[test]
    fn a_cursor_survives_the_round_trip() {
        let cursor = next_cursor(List::Drafts, Some(keyset())).unwrap();
        let page = page_request(List::Drafts, Some(10), Some(&cursor)).unwrap();
        assert_eq!(page.after, Some(keyset()));
        assert_eq!(page.limit, 10);
        assert_eq!(next_cursor(List::Drafts, None), None);
    }

    #[test]
    fn garbage_and_other_lists_cursors_are_refused() {
        let other = next_cursor(List::Activity, Some(keyset())).unwrap();
        for cursor in [
            "abc",
            "zz",
            "",
            "1.2",
            other.as_str(),
            // "drafts:1" and "drafts:x:1", hex-encoded.
            "6472616674733a31",
            "6472616674733a783a31",
        ] {
            assert!(
                page_request(List::Drafts, None, Some(cursor)).is_err(),
                "{cursor}"
            );
        }
    }

    #[test]
    fn limits_outside_one_to_two_hundred_are_refused() {
        assert_eq!(
            page_request(List::Proposals, None, None).unwrap().limit,
            DEFAULT_LIMIT
        );
        assert!(page_request(List::Proposals, Some(0), None).is_err());
        assert!(page_request(List::Proposals, Some(201), None).is_err());
        assert_eq!(
            page_request(List::Proposals, Some(200), None)
                .unwrap()
                .limit,
            200
        );
    }
}
