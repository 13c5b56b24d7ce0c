//! Which rows count: live sightings of active users, investor-linked email only.

use std::collections::{BTreeMap, BTreeSet};

use mailroom_ports::records::DigestRow;
use mailroom_ports::{EmailId, InvestorId, UserId};

/// A sighting counts only while it is not soft-deleted and its mailbox's
/// user is active (R-DIG-1).
pub fn is_live(row: &DigestRow) -> bool {
    row.sighting_live && row.user_active
}

/// The digest rows of a window that count, in a fixed order.
///
/// Matched-only holds by construction: a [`DigestRow`] always carries an
/// investor link (the store returns investor-linked email only), so every
/// email and investor counted from here is investor-linked. Live-only is
/// enforced here even though the store promises it, because a digest that
/// mentions a deleted email or a departed teammate's mailbox is a leak.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveRows {
    rows: Vec<DigestRow>,
}

impl LiveRows {
    /// Keeps the live rows and sorts them by time, then ids, so that
    /// everything built from them is deterministic whatever the store's order.
    pub fn new(rows: impl IntoIterator<Item = DigestRow>) -> Self {
        let mut rows: Vec<DigestRow> = rows.into_iter().filter(is_live).collect();
        rows.sort_by(|a, b| {
            (
                a.sent_at,
                a.email_id,
                a.investor_id,
                a.user_id,
                a.account_id,
            )
                .cmp(&(
                    b.sent_at,
                    b.email_id,
                    b.investor_id,
                    b.user_id,
                    b.account_id,
                ))
                .then_with(|| a.matched_address.cmp(&b.matched_address))
        });
        Self { rows }
    }

    pub fn rows(&self) -> &[DigestRow] {
        &self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Distinct emails, however many mailboxes or investors each touches.
    pub fn email_ids(&self) -> BTreeSet<EmailId> {
        self.rows.iter().map(|r| r.email_id).collect()
    }

    /// Distinct investors.
    pub fn investor_ids(&self) -> BTreeSet<InvestorId> {
        self.rows.iter().map(|r| r.investor_id).collect()
    }

    /// Users with at least one live sighting in the window.
    pub fn user_ids(&self) -> BTreeSet<UserId> {
        self.rows.iter().map(|r| r.user_id).collect()
    }

    /// The rows of one user's mailboxes.
    pub fn of_user(&self, user: UserId) -> impl Iterator<Item = &DigestRow> {
        self.rows.iter().filter(move |r| r.user_id == user)
    }

    /// One row per (email, investor), for the by-investor pivot: a reply seen
    /// in three teammates' mailboxes counts once there.
    ///
    /// When an email reaches one investor through several links, the row
    /// naming a contact wins, then the smallest address, so the choice does
    /// not depend on the store's order.
    pub fn per_email_investor(&self) -> Vec<&DigestRow> {
        let mut chosen: BTreeMap<(EmailId, InvestorId), &DigestRow> = BTreeMap::new();
        for row in &self.rows {
            chosen
                .entry((row.email_id, row.investor_id))
                .and_modify(|kept| {
                    if representative_key(row) < representative_key(kept) {
                        *kept = row;
                    }
                })
                .or_insert(row);
        }
        let mut picked: Vec<&DigestRow> = chosen.into_values().collect();
        picked.sort_by_key(|r| (r.sent_at, r.email_id, r.investor_id));
        picked
    }
}

fn representative_key(row: &DigestRow) -> (bool, Option<&str>, &str) {
    (
        row.contact_name.is_none(),
        row.contact_name.as_deref(),
        row.matched_address.as_str(),
    )
}

#[cfg(test)]
pub(crate) mod test_rows {
    //! A builder of digest rows for this crate's tests.

    use jiff::Timestamp;
    use mailroom_ports::records::DigestRow;
    use mailroom_ports::{AccountId, EmailAddress, EmailId, InvestorId, UserId};

    pub fn addr(s: &str) -> EmailAddress {
        EmailAddress::parse(s).expect("test address")
    }

    pub fn ts(s: &str) -> Timestamp {
        s.parse().expect("test timestamp")
    }

    /// A live row of `email` seen by `user` (account id = user id), linked to
    /// `investor` through `jane@acme.com`.
    pub fn row(email: i64, user: i64, investor: i64) -> DigestRow {
        DigestRow {
            email_id: EmailId(email),
            user_id: UserId(user),
            user_name: format!("User {user}"),
            account_id: AccountId(user),
            account_email: addr(&format!("u{user}@fund.com")),
            is_sent: false,
            sighting_live: true,
            user_active: true,
            from_email: Some(addr("jane@acme.com")),
            from_name: Some("Jane Roe".into()),
            to: vec![addr(&format!("u{user}@fund.com"))],
            subject: Some(format!("Subject {email}")),
            snippet: Some(format!("Snippet {email}")),
            sent_at: ts("2026-11-24T14:00:00Z"),
            investor_id: InvestorId(investor),
            investor_name: Some(format!("Investor {investor}")),
            contact_name: Some("Jane Roe".into()),
            matched_address: addr("jane@acme.com"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_rows::{addr, row, ts};
    use super::*;

    #[test]
    fn only_live_sightings_of_active_users_count() {
        let check = |live: bool, active: bool, expected: bool| {
            let mut r = row(1, 1, 1);
            r.sighting_live = live;
            r.user_active = active;
            assert_eq!(is_live(&r), expected, "live {live}, active {active}");
            assert_eq!(LiveRows::new([r]).is_empty(), !expected);
        };
        check(true, true, true);
        check(false, true, false);
        check(true, false, false);
        check(false, false, false);
    }

    #[test]
    fn reply_seen_in_three_teammates_mailboxes_counts_once_per_investor() {
        let rows = LiveRows::new([row(7, 1, 10), row(7, 2, 10), row(7, 3, 10)]);
        assert_eq!(rows.rows().len(), 3);
        assert_eq!(rows.email_ids().len(), 1);
        assert_eq!(rows.user_ids().len(), 3);
        let pivot = rows.per_email_investor();
        assert_eq!(pivot.len(), 1);
        assert_eq!(
            (pivot[0].email_id, pivot[0].investor_id),
            (EmailId(7), InvestorId(10))
        );
    }

    #[test]
    fn an_email_linked_to_two_investors_counts_once_for_each() {
        let rows = LiveRows::new([row(7, 1, 10), row(7, 1, 11), row(7, 2, 11)]);
        let pivot: Vec<(EmailId, InvestorId)> = rows
            .per_email_investor()
            .iter()
            .map(|r| (r.email_id, r.investor_id))
            .collect();
        assert_eq!(
            pivot,
            vec![(EmailId(7), InvestorId(10)), (EmailId(7), InvestorId(11))]
        );
        assert_eq!(rows.email_ids().len(), 1);
        assert_eq!(rows.investor_ids().len(), 2);
    }

    #[test]
    fn a_deleted_sighting_does_not_hide_a_live_one_of_the_same_email() {
        let mut deleted = row(7, 1, 10);
        deleted.sighting_live = false;
        let rows = LiveRows::new([deleted, row(7, 2, 10)]);
        assert_eq!(
            rows.user_ids().into_iter().collect::<Vec<_>>(),
            vec![UserId(2)]
        );
        assert_eq!(rows.per_email_investor().len(), 1);
    }

    #[test]
    fn the_pivot_representative_does_not_depend_on_row_order() {
        let mut by_domain = row(7, 1, 10);
        by_domain.contact_name = None;
        by_domain.matched_address = addr("info@acme.com");
        let by_contact = row(7, 2, 10);
        for rows in [
            vec![by_domain.clone(), by_contact.clone()],
            vec![by_contact.clone(), by_domain.clone()],
        ] {
            let live = LiveRows::new(rows);
            let pivot = live.per_email_investor();
            assert_eq!(pivot[0].contact_name.as_deref(), Some("Jane Roe"));
        }
    }

    #[test]
    fn rows_are_ordered_by_time_whatever_the_input_order() {
        let mut late = row(1, 1, 10);
        late.sent_at = ts("2026-11-24T18:00:00Z");
        let mut early = row(2, 1, 10);
        early.sent_at = ts("2026-11-24T08:00:00Z");
        let rows = LiveRows::new([late, early]);
        let ids: Vec<EmailId> = rows.of_user(UserId(1)).map(|r| r.email_id).collect();
        assert_eq!(ids, vec![EmailId(2), EmailId(1)]);
    }
}
