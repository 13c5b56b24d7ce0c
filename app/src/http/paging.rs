//! The one cursor scheme of every paged list: `limit` (1–200, default 50),
//! an opaque `cursor` taken from the previous page's `next_cursor`, keyset
//! pages. Lists of what happened (activity, proposals, sends, errors,
//! drafts) go newest first by a time, ties broken by id; lists of what is
//! set up (mailboxes, investors, never-log entries, jobs) go by id, oldest
//! first. Those are bounded by the team's and the directory's size, so the
//! store reads them whole and [`page_by_id`] cuts the page.
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
    Accounts,
    Investors,
    NeverLog,
    Jobs,
}

impl List {
    /// The list's name inside its cursors.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            List::Activity => "activity",
            List::Proposals => "proposals",
            List::DigestSends => "digest_sends",
            List::CaptureErrors => "capture_errors",
            List::Drafts => "drafts",
            List::Accounts => "accounts",
            List::Investors => "investors",
            List::NeverLog => "never_log",
            List::Jobs => "jobs",
        }
    }

    /// Whether the list goes by id (its cursor is `<list>:<id>`) rather
    /// than by time (`<list>:<microseconds>:<id>`).
    pub(crate) fn by_id(self) -> bool {
        matches!(
            self,
            List::Accounts | List::Investors | List::NeverLog | List::Jobs
        )
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
    let limit = checked_limit(limit)?;
    let after = cursor.map(|c| decode(list, c)).transpose()?;
    Ok(PageRequest { limit, after })
}

fn checked_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(format!(
            "limit must be from 1 to {MAX_LIMIT}"
        )));
    }
    Ok(limit)
}

/// One page of a list ordered by id (`id` gives an item's), read whole:
/// the items after the cursor's id, at most `limit`, and the `next_cursor`
/// (`None` on the last page).
///
/// # Errors
/// As [`page_request`].
pub fn page_by_id<T>(
    list: List,
    mut items: Vec<T>,
    id: impl Fn(&T) -> i64,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    debug_assert!(list.by_id(), "{list:?} is paged by time");
    let limit = checked_limit(limit)? as usize;
    let after = cursor.map(|c| decode_id(list, c)).transpose()?;
    items.sort_by_key(|item| id(item));
    if let Some(after) = after {
        items.retain(|item| id(item) > after);
    }
    let more = items.len() > limit;
    items.truncate(limit);
    let next = more
        .then(|| {
            items
                .last()
                .map(|last| hex(&format!("{}:{}", list.tag(), id(last))))
        })
        .flatten();
    Ok((items, next))
}

/// The `next_cursor` to answer with: `None` on the last page.
pub fn next_cursor(list: List, next: Option<Keyset>) -> Option<String> {
    next.map(|k| encode(list, k))
}

/// `<list>:<microseconds>:<id>`, hex-encoded so clients treat it as opaque.
fn encode(list: List, k: Keyset) -> String {
    hex(&format!(
        "{}:{}:{}",
        list.tag(),
        k.at.as_microsecond(),
        k.id
    ))
}

/// Hex of `plain`'s bytes: cursors are opaque to clients.
pub(crate) fn hex(plain: &str) -> String {
    plain.bytes().map(|b| format!("{b:02x}")).collect()
}

fn bad_cursor() -> ApiError {
    ApiError::bad_request("cursor is not one this list returned")
}

/// The plain text of a hex-encoded cursor.
fn unhex(cursor: &str) -> Result<String, ApiError> {
    if !cursor.len().is_multiple_of(2) || cursor.len() > 200 {
        return Err(bad_cursor());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| {
            cursor
                .get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad_cursor)?;
    String::from_utf8(bytes).map_err(|_| bad_cursor())
}

/// The id in a `<list>:<id>` cursor.
fn decode_id(list: List, cursor: &str) -> Result<i64, ApiError> {
    let plain = unhex(cursor)?;
    let (tag, id) = plain.split_once(':').ok_or_else(bad_cursor)?;
    if tag != list.tag() {
        return Err(bad_cursor());
    }
    id.parse().map_err(|_| bad_cursor())
}

fn decode(list: List, cursor: &str) -> Result<Keyset, ApiError> {
    let plain = unhex(cursor)?;
    let mut parts = plain.split(':');
    let (Some(tag), Some(micros), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad_cursor());
    };
    if tag != list.tag() {
        return Err(bad_cursor());
    }
    let micros: i64 = micros.parse().map_err(|_| bad_cursor())?;
    let id: i64 = id.parse().map_err(|_| bad_cursor())?;
    let at = jiff::Timestamp::from_microsecond(micros).map_err(|_| bad_cursor())?;
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
    fn an_id_ordered_list_pages_to_its_end_without_gaps_or_repeats() {
        let items: Vec<i64> = vec![9, 3, 7, 1, 5];
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) = page_by_id(
                List::Jobs,
                items.clone(),
                |i| *i,
                Some(2),
                cursor.as_deref(),
            )
            .unwrap();
            assert!(page.len() <= 2);
            seen.extend(page);
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, vec![1, 3, 5, 7, 9]);
        // A last page exactly full says there is no next one.
        let (page, next) = page_by_id(List::Jobs, items.clone(), |i| *i, Some(5), None).unwrap();
        assert_eq!((page.len(), next), (5, None));
        // Another list's cursor, a time list's cursor and garbage are refused.
        let (_, investors) =
            page_by_id(List::Investors, items.clone(), |i| *i, Some(1), None).unwrap();
        let time = next_cursor(List::Activity, Some(keyset())).unwrap();
        for cursor in [
            investors.unwrap(),
            time,
            "6a6f62733a78".to_string(),
            "zz".to_string(),
        ] {
            assert!(
                page_by_id(List::Jobs, items.clone(), |i| *i, None, Some(&cursor)).is_err(),
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
