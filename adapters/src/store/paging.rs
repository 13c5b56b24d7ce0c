//! Keyset pagination shared by every paged list: newest first by a time
//! column, ties by a row id, one extra row fetched to know whether another
//! page exists.

use mailroom_ports::reads::{Keyset, Page, PageRequest};

use super::sql::{self, Params};

/// The largest page the store serves, whatever the caller asks.
pub(crate) const MAX_LIMIT: u32 = 500;

/// A page request with its limit capped; `None` when it asks for nothing.
pub(crate) fn effective_limit(page: PageRequest) -> Option<u32> {
    Some(page.limit.min(MAX_LIMIT)).filter(|l| *l > 0)
}

/// ` AND (at < $a OR (at = $a AND id < $i))` for a page after `after`, or
/// nothing for the first page. Times compare as fixed-width text.
pub(crate) fn after_clause(
    p: &mut Params,
    at_column: &str,
    id_column: &str,
    after: Option<Keyset>,
) -> String {
    match after {
        None => String::new(),
        Some(k) => {
            let at = p.bind(sql::ts_text(k.at));
            let id = p.bind(k.id);
            format!(" AND ({at_column} < {at} OR ({at_column} = {at} AND {id_column} < {id}))")
        }
    }
}

/// `ORDER BY … LIMIT n+1` for the keyset columns.
pub(crate) fn order_and_limit(
    p: &mut Params,
    at_column: &str,
    id_column: &str,
    limit: u32,
) -> String {
    let fetch = p.bind(i64::from(limit) + 1);
    format!(" ORDER BY {at_column} DESC, {id_column} DESC LIMIT {fetch}")
}

/// Cuts the extra row off and says where the next page starts.
pub(crate) fn finish<T>(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> Keyset) -> Page<T> {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next = if more { items.last().map(key) } else { None };
    Page { items, next }
}

/// The empty page a zero limit asks for.
pub(crate) fn empty<T>() -> Page<T> {
    Page {
        items: Vec::new(),
        next: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extra_row_makes_a_next_cursor_and_is_dropped() {
        let at: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let key = |n: &i64| Keyset { at, id: *n };
        let page = finish(vec![5, 4, 3], 2, key);
        assert_eq!(page.items, vec![5, 4]);
        assert_eq!(page.next, Some(Keyset { at, id: 4 }));
        let last = finish(vec![5, 4], 2, key);
        assert_eq!(last.next, None);
    }

    #[test]
    fn limits_are_capped_and_zero_asks_for_nothing() {
        assert_eq!(effective_limit(PageRequest::first(0)), None);
        assert_eq!(effective_limit(PageRequest::first(10)), Some(10));
        assert_eq!(effective_limit(PageRequest::first(10_000)), Some(MAX_LIMIT));
    }
}
