//! Properties of digest composition over random windows: the counts add up,
//! and an email counts once however its sightings are arranged (seen in
//! several mailboxes, linked to several investors, repeated, reordered).
//!
//! Only the digest's counts and the per-user activity are checked, never the
//! layout of the body, so the properties hold however the sections are laid
//! out or bounded.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use mailroom_domain::digest::{DigestInput, compose, team_activity};
use mailroom_domain::direction::OwnMailboxes;
use mailroom_domain::gating::LiveRows;
use mailroom_ports::records::{DigestRow, Role, User};
use mailroom_ports::{AccountId, EmailAddress, EmailId, InvestorId, UserId};
use proptest::prelude::*;

fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).expect("test address")
}

fn mailbox(user: i64) -> EmailAddress {
    addr(&format!("u{user}@fund.com"))
}

fn base_time() -> Timestamp {
    "2026-11-24T12:00:00Z".parse().expect("timestamp")
}

/// Facts of one email, shared by all its sightings: when it was sent and
/// who sent it (one of ours, or the investor side).
#[derive(Debug, Clone)]
struct EmailFacts {
    minutes: i64,
    sender: Option<i64>,
}

/// One sighting of an email in a user's mailbox, linked to one investor.
#[derive(Debug, Clone)]
struct Sighting {
    email: i64,
    user: i64,
    investor: i64,
    is_sent: bool,
    live: bool,
    active: bool,
    contact: Option<u8>,
}

fn sighting() -> impl Strategy<Value = Sighting> {
    (
        1i64..8,
        1i64..4,
        1i64..5,
        any::<bool>(),
        prop::bool::weighted(0.85),
        prop::bool::weighted(0.9),
        prop::option::of(0u8..3),
    )
        .prop_map(
            |(email, user, investor, is_sent, live, active, contact)| Sighting {
                email,
                user,
                investor,
                is_sent,
                live,
                active,
                contact,
            },
        )
}

fn facts() -> impl Strategy<Value = BTreeMap<i64, EmailFacts>> {
    prop::collection::vec((0i64..600, prop::option::of(1i64..4)), 7).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (minutes, sender))| (i as i64 + 1, EmailFacts { minutes, sender }))
            .collect()
    })
}

fn row(s: &Sighting, facts: &BTreeMap<i64, EmailFacts>) -> DigestRow {
    let f = &facts[&s.email];
    let from = match f.sender {
        Some(user) => mailbox(user),
        None => addr("jane@acme.com"),
    };
    let matched = match s.contact {
        Some(c) => addr(&format!("c{c}@investor{}.com", s.investor)),
        None => addr(&format!("info@investor{}.com", s.investor)),
    };
    DigestRow {
        email_id: EmailId(s.email),
        user_id: UserId(s.user),
        user_name: format!("User {}", s.user),
        account_id: AccountId(s.user),
        account_email: mailbox(s.user),
        is_sent: s.is_sent,
        sighting_live: s.live,
        user_active: s.active,
        from_email: Some(from),
        from_name: None,
        to: vec![mailbox(s.user)],
        subject: Some(format!("Subject {}", s.email)),
        snippet: None,
        sent_at: base_time() + jiff::SignedDuration::from_mins(f.minutes),
        investor_id: InvestorId(s.investor),
        investor_name: Some(format!("Investor {}", s.investor)),
        contact_name: s.contact.map(|c| format!("Contact {c}")),
        matched_address: matched,
    }
}

fn team() -> Vec<User> {
    (1..4)
        .map(|id| User {
            id: UserId(id),
            email: mailbox(id),
            display_name: format!("User {id}"),
            role: Role::Member,
            is_active: true,
        })
        .collect()
}

#[derive(Debug, Clone)]
struct Window {
    rows: Vec<DigestRow>,
}

fn window() -> impl Strategy<Value = Window> {
    (facts(), prop::collection::vec(sighting(), 0..24)).prop_map(|(facts, sightings)| Window {
        rows: sightings.iter().map(|s| row(s, &facts)).collect(),
    })
}

fn digest_of(rows: Vec<DigestRow>) -> mailroom_domain::digest::Digest {
    let tz = TimeZone::UTC;
    let team = team();
    let own = OwnMailboxes::new((1..4).map(mailbox));
    let rows = LiveRows::new(rows);
    compose(
        &DigestInput {
            since: base_time() - jiff::SignedDuration::from_hours(12),
            until: base_time() + jiff::SignedDuration::from_hours(12),
            timezone: &tz,
            team: &team,
            rows: &rows,
            own: &own,
        },
        &BTreeMap::new(),
    )
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn digest_counts_are_the_distinct_live_emails_investors_and_users(w in window()) {
        let live: Vec<&DigestRow> = w.rows.iter().filter(|r| r.sighting_live && r.user_active).collect();
        let emails: BTreeSet<EmailId> = live.iter().map(|r| r.email_id).collect();
        let investors: BTreeSet<InvestorId> = live.iter().map(|r| r.investor_id).collect();
        let users: BTreeSet<UserId> = live.iter().map(|r| r.user_id).collect();

        let digest = digest_of(w.rows.clone());
        prop_assert_eq!(digest.email_count as usize, emails.len());
        prop_assert_eq!(digest.investor_count as usize, investors.len());
        prop_assert_eq!(digest.user_count as usize, users.len());
        prop_assert_eq!(digest.has_activity, !live.is_empty());
    }

    #[test]
    fn each_users_emails_are_distinct_and_received_plus_sent_adds_up(w in window()) {
        let rows = LiveRows::new(w.rows.clone());
        let activity = team_activity(&team(), &rows);
        let mut all_emails = BTreeSet::new();
        for user in &activity {
            let ids: BTreeSet<EmailId> = user.emails.iter().map(|e| e.email_id).collect();
            prop_assert_eq!(ids.len(), user.emails.len(), "an email twice for {}", user.name);
            prop_assert_eq!(user.received_count() + user.sent_count(), user.email_count());
            let mine: BTreeSet<EmailId> = rows.of_user(user.user_id).map(|r| r.email_id).collect();
            prop_assert_eq!(&ids, &mine);
            let mine_investors: BTreeSet<InvestorId> =
                rows.of_user(user.user_id).map(|r| r.investor_id).collect();
            prop_assert_eq!(user.investor_count(), mine_investors.len());
            // Outbound for a user iff one of their sightings carries SENT.
            for e in &user.emails {
                let sent = rows.of_user(user.user_id).any(|r| r.email_id == e.email_id && r.is_sent);
                prop_assert_eq!(e.direction == mailroom_ports::records::Direction::Outbound, sent);
            }
            all_emails.extend(ids);
        }
        // Every team member appears once; nobody's email is dropped.
        let users: BTreeSet<UserId> = activity.iter().map(|a| a.user_id).collect();
        prop_assert_eq!(users.len(), activity.len());
        prop_assert_eq!(all_emails, rows.email_ids());
    }

    #[test]
    fn the_by_investor_pivot_has_one_row_per_email_and_investor(w in window()) {
        let rows = LiveRows::new(w.rows.clone());
        let pivot = rows.per_email_investor();
        let pairs: BTreeSet<(EmailId, InvestorId)> =
            rows.rows().iter().map(|r| (r.email_id, r.investor_id)).collect();
        let picked: Vec<(EmailId, InvestorId)> =
            pivot.iter().map(|r| (r.email_id, r.investor_id)).collect();
        prop_assert_eq!(picked.len(), pairs.len());
        prop_assert_eq!(picked.into_iter().collect::<BTreeSet<_>>(), pairs);
    }

    #[test]
    fn the_digest_does_not_depend_on_how_sightings_are_arranged(
        w in window(),
        seed in any::<u64>(),
        repeat in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let first = digest_of(w.rows.clone());

        // The same sightings, reordered, with some delivered twice (a
        // re-sync returns a row again).
        let mut arranged = w.rows.clone();
        if !arranged.is_empty() {
            for i in &repeat {
                let extra = arranged[i.index(w.rows.len())].clone();
                arranged.push(extra);
            }
        }
        shuffle(&mut arranged, seed);
        prop_assert_eq!(digest_of(arranged), first);
    }

    #[test]
    fn another_mailboxs_sighting_of_a_counted_email_adds_no_email(
        w in window(),
        pick in any::<prop::sample::Index>(),
        user in 1i64..4,
    ) {
        let live: Vec<&DigestRow> = w.rows.iter().filter(|r| r.sighting_live && r.user_active).collect();
        prop_assume!(!live.is_empty());
        let before = digest_of(w.rows.clone());

        let mut seen_again = live[pick.index(live.len())].clone();
        seen_again.user_id = UserId(user);
        seen_again.user_name = format!("User {user}");
        seen_again.account_id = AccountId(user);
        seen_again.account_email = mailbox(user);
        let mut rows = w.rows.clone();
        rows.push(seen_again);
        let after = digest_of(rows);

        prop_assert_eq!(after.email_count, before.email_count);
        prop_assert_eq!(after.investor_count, before.investor_count);
        prop_assert!(after.user_count >= before.user_count);
    }
}

/// A deterministic Fisher–Yates shuffle from a seed (xorshift), so a failing
/// case replays exactly.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed | 1;
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = (state % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}
