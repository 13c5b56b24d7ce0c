//! Composing the digest (R-DIG-1): the by-team-member and by-investor sections.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use mailroom_ports::llm::{NarrativeItem, NarrativeRequest};
use mailroom_ports::records::{DigestRow, Direction, User};
use mailroom_ports::{EmailId, InvestorId, UserId};

use crate::direction::OwnMailboxes;
use crate::gating::LiveRows;

/// The by-investor section lists this many investors, most emails first;
/// the rest are one line ("and N more investors (M emails)").
pub const TOP_INVESTORS: usize = 50;

/// Email lines listed under one investor; more are counted, not listed.
pub const EMAILS_PER_INVESTOR: usize = 10;

/// A teammate's narrated paragraph is cut to this many characters.
pub const PARAGRAPH_CHARS: usize = 1_200;

/// The note an empty window carries instead of the two sections.
pub const NO_ACTIVITY_NOTE: &str = "No investor email activity in this window.";

/// A composed digest, ready to send or preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub subject: String,
    pub body: String,
    /// The same digest as an HTML document, sent as the alternative part.
    pub html: String,
    pub has_activity: bool,
    /// Users with at least one investor email in the window.
    pub user_count: u32,
    /// Distinct investor-linked emails.
    pub email_count: u32,
    /// Distinct investors.
    pub investor_count: u32,
}

/// Everything a digest is composed from, read from the store once.
#[derive(Debug, Clone, Copy)]
pub struct DigestInput<'a> {
    pub since: Timestamp,
    pub until: Timestamp,
    pub timezone: &'a TimeZone,
    /// `Store::digest_team()`: active users owning a mailbox.
    pub team: &'a [User],
    pub rows: &'a LiveRows,
    pub own: &'a OwnMailboxes,
}

/// One team member's window, from their own mailboxes' point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserActivity {
    pub user_id: UserId,
    pub name: String,
    /// One per distinct email, oldest first.
    pub emails: Vec<UserEmail>,
    investors: BTreeSet<InvestorId>,
}

/// One email as a team member saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEmail {
    pub email_id: EmailId,
    pub sent_at: Timestamp,
    /// Outbound iff one of the user's sightings carries the SENT label.
    pub direction: Direction,
    /// Investor names (or matched addresses), sorted, without repeats.
    pub investors: Vec<String>,
    /// Contact names (or matched addresses), sorted, without repeats.
    pub counterparts: Vec<String>,
    pub subject: Option<String>,
    pub snippet: Option<String>,
}

impl UserActivity {
    pub fn has_activity(&self) -> bool {
        !self.emails.is_empty()
    }

    pub fn email_count(&self) -> usize {
        self.emails.len()
    }

    pub fn sent_count(&self) -> usize {
        self.emails
            .iter()
            .filter(|e| e.direction == Direction::Outbound)
            .count()
    }

    pub fn received_count(&self) -> usize {
        self.email_count() - self.sent_count()
    }

    pub fn investor_count(&self) -> usize {
        self.investors.len()
    }

    /// The count-only line: always shown, and all that is shown when the
    /// narrator did not answer.
    pub fn summary_line(&self) -> String {
        if !self.has_activity() {
            return format!("{}: no investor email.", self.name);
        }
        format!(
            "{}: {} ({} received, {} sent) with {}.",
            self.name,
            plural(self.email_count(), "email", "emails"),
            self.received_count(),
            self.sent_count(),
            plural(self.investor_count(), "investor", "investors"),
        )
    }

    /// What the narrator is asked to tell about this user's window.
    pub fn narrative_request(&self, since: Timestamp, until: Timestamp) -> NarrativeRequest {
        NarrativeRequest {
            user_name: self.name.clone(),
            since,
            until,
            items: self
                .emails
                .iter()
                .map(|e| NarrativeItem {
                    direction: e.direction,
                    counterpart: e.counterparts.join(", "),
                    investor: e.investors.join(", "),
                    subject: e.subject.clone(),
                    snippet: e.snippet.clone(),
                    sent_at: e.sent_at,
                })
                .collect(),
        }
    }
}

/// Every team member's window: the team's users in name order (users without
/// activity included), then anyone else whose mailbox has rows, so nobody's
/// email is dropped if the team list and the rows disagree.
pub fn team_activity(team: &[User], rows: &LiveRows) -> Vec<UserActivity> {
    let mut people: BTreeMap<UserId, String> = team
        .iter()
        .filter(|u| u.is_active)
        .map(|u| {
            let name = u.display_name.trim();
            let name = if name.is_empty() {
                u.email.as_str()
            } else {
                name
            };
            (u.id, one_line(name))
        })
        .collect();
    for row in rows.rows() {
        people
            .entry(row.user_id)
            .or_insert_with(|| one_line(&row.user_name));
    }
    let mut activity: Vec<UserActivity> = people
        .into_iter()
        .map(|(user_id, name)| user_activity(user_id, name, rows))
        .collect();
    activity.sort_by(|a, b| {
        (a.name.to_lowercase(), a.user_id).cmp(&(b.name.to_lowercase(), b.user_id))
    });
    activity
}

/// Composes the digest. `narratives` holds the narrator's paragraph for the
/// users it answered for; everyone else gets the count-only line alone.
pub fn compose(input: &DigestInput<'_>, narratives: &BTreeMap<UserId, String>) -> Digest {
    let email_count = count(input.rows.email_ids().len());
    let investor_count = count(input.rows.investor_ids().len());
    let has_activity = !input.rows.is_empty();
    let team = team_activity(input.team, input.rows);
    let user_count = count(team.iter().filter(|a| a.has_activity()).count());

    let day = format_local(input.until, input.timezone, "%a %-d %b %Y");
    let subject = if has_activity {
        format!(
            "mailroom digest for {day}: {}, {}",
            plural(email_count as usize, "email", "emails"),
            plural(investor_count as usize, "investor", "investors"),
        )
    } else {
        format!("mailroom digest for {day}: no investor email")
    };

    let mut body = String::new();
    let window = "%a %-d %b %Y %H:%M";
    let _ = writeln!(body, "mailroom daily digest");
    let _ = writeln!(
        body,
        "{} to {} ({})",
        format_local(input.since, input.timezone, window),
        format_local(input.until, input.timezone, window),
        zone_label(input.timezone, input.until),
    );
    body.push('\n');
    if !has_activity {
        let _ = writeln!(body, "{NO_ACTIVITY_NOTE}");
        return Digest {
            html: html_of(&subject, &body),
            subject,
            body,
            has_activity,
            user_count,
            email_count,
            investor_count,
        };
    }
    let _ = writeln!(
        body,
        "{} with {}; {} active.",
        plural(email_count as usize, "email", "emails"),
        plural(investor_count as usize, "investor", "investors"),
        plural(user_count as usize, "team member", "team members"),
    );

    body.push_str("\nBY TEAM MEMBER\n");
    for user in &team {
        body.push('\n');
        let _ = writeln!(body, "{}", user.summary_line());
        let paragraph = narratives.get(&user.user_id).map(|p| p.trim());
        if let Some(paragraph) = paragraph.filter(|p| user.has_activity() && !p.is_empty()) {
            let _ = writeln!(body, "{}", bounded(paragraph, PARAGRAPH_CHARS));
        }
    }

    body.push_str("\nBY INVESTOR\n");
    let sections = investor_sections(input.rows, input.own);
    for investor in sections.iter().take(TOP_INVESTORS) {
        body.push('\n');
        let inbound = investor
            .emails
            .iter()
            .filter(|e| e.direction == Direction::Inbound)
            .count();
        let _ = writeln!(
            body,
            "{}: {} ({} inbound, {} outbound)",
            investor.label,
            plural(investor.emails.len(), "email", "emails"),
            inbound,
            investor.emails.len() - inbound,
        );
        for email in investor.emails.iter().take(EMAILS_PER_INVESTOR) {
            let _ = writeln!(
                body,
                "  - {}  {:<8}  {}  {}",
                format_local(email.sent_at, input.timezone, "%a %-d %b %H:%M"),
                email.direction.as_str(),
                email.counterpart,
                email.subject,
            );
        }
        if investor.emails.len() > EMAILS_PER_INVESTOR {
            let more = investor.emails.len() - EMAILS_PER_INVESTOR;
            let _ = writeln!(
                body,
                "  - and {more} more {}",
                if more == 1 { "email" } else { "emails" }
            );
        }
    }
    if sections.len() > TOP_INVESTORS {
        let rest = &sections[TOP_INVESTORS..];
        let emails: BTreeSet<EmailId> = rest
            .iter()
            .flat_map(|s| s.emails.iter().map(|e| e.email_id))
            .collect();
        let _ = writeln!(
            body,
            "\nand {} more {} ({})",
            rest.len(),
            if rest.len() == 1 {
                "investor"
            } else {
                "investors"
            },
            plural(emails.len(), "email", "emails"),
        );
    }

    Digest {
        html: html_of(&subject, &body),
        subject,
        body,
        has_activity,
        user_count,
        email_count,
        investor_count,
    }
}

/// `text` cut to `max` characters (at a character boundary) with an ellipsis.
fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((end, _)) => format!("{}…", text[..end].trim_end()),
    }
}

/// The plain-text digest as a small HTML document: section titles become
/// headings, email lines list items, everything else paragraphs. Every piece
/// of text is escaped, so a subject cannot inject markup.
fn html_of(subject: &str, body: &str) -> String {
    let mut html = String::with_capacity(body.len() * 2 + 256);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"font-family: sans-serif\">\n",
        escape_html(subject)
    );
    let mut in_list = false;
    for line in body.lines() {
        let item = line.strip_prefix("  - ");
        if in_list && item.is_none() {
            html.push_str("</ul>\n");
            in_list = false;
        }
        match item {
            Some(item) => {
                if !in_list {
                    html.push_str("<ul>\n");
                    in_list = true;
                }
                let _ = writeln!(html, "<li>{}</li>", escape_html(item));
            }
            None if line.is_empty() => {}
            None if line == "BY TEAM MEMBER" || line == "BY INVESTOR" => {
                let _ = writeln!(html, "<h2>{}</h2>", escape_html(line));
            }
            None if line == "mailroom daily digest" => {
                let _ = writeln!(html, "<h1>{}</h1>", escape_html(line));
            }
            None => {
                let _ = writeln!(html, "<p>{}</p>", escape_html(line));
            }
        }
    }
    if in_list {
        html.push_str("</ul>\n");
    }
    html.push_str("</body></html>\n");
    html
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// One investor's part of the by-investor section.
struct InvestorSection {
    label: String,
    emails: Vec<InvestorEmail>,
}

struct InvestorEmail {
    email_id: EmailId,
    sent_at: Timestamp,
    direction: Direction,
    counterpart: String,
    subject: String,
}

fn investor_sections(rows: &LiveRows, own: &OwnMailboxes) -> Vec<InvestorSection> {
    let mut by_investor: BTreeMap<InvestorId, Vec<&DigestRow>> = BTreeMap::new();
    for row in rows.per_email_investor() {
        by_investor.entry(row.investor_id).or_default().push(row);
    }
    let mut sections: Vec<(String, InvestorId, InvestorSection)> = by_investor
        .into_iter()
        .map(|(id, rows)| {
            let label = investor_label(&rows);
            let emails = rows
                .iter()
                .map(|r| InvestorEmail {
                    email_id: r.email_id,
                    sent_at: r.sent_at,
                    direction: own.direction(r.from_email.as_ref()),
                    counterpart: counterpart(r),
                    subject: r
                        .subject
                        .as_deref()
                        .map(one_line)
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| "(no subject)".to_string()),
                })
                .collect();
            (label.to_lowercase(), id, InvestorSection { label, emails })
        })
        .collect();
    // The most active investors first, then by name.
    sections.sort_by(|a, b| (b.2.emails.len(), &a.0, a.1).cmp(&(a.2.emails.len(), &b.0, b.1)));
    sections.into_iter().map(|(_, _, s)| s).collect()
}

fn user_activity(user_id: UserId, name: String, rows: &LiveRows) -> UserActivity {
    let mut by_email: BTreeMap<EmailId, Vec<&DigestRow>> = BTreeMap::new();
    for row in rows.of_user(user_id) {
        by_email.entry(row.email_id).or_default().push(row);
    }
    let mut investors = BTreeSet::new();
    let mut emails: Vec<UserEmail> = by_email
        .into_iter()
        .map(|(email_id, rows)| {
            let first = rows[0];
            investors.extend(rows.iter().map(|r| r.investor_id));
            let mut investor_names: BTreeMap<InvestorId, String> = BTreeMap::new();
            for r in &rows {
                investor_names
                    .entry(r.investor_id)
                    .or_insert_with(|| investor_label(&[r]));
            }
            UserEmail {
                email_id,
                sent_at: first.sent_at,
                direction: if rows.iter().any(|r| r.is_sent) {
                    Direction::Outbound
                } else {
                    Direction::Inbound
                },
                investors: sorted_unique(investor_names.into_values()),
                counterparts: sorted_unique(rows.iter().map(|r| counterpart(r))),
                subject: first.subject.clone(),
                snippet: first.snippet.clone(),
            }
        })
        .collect();
    emails.sort_by_key(|e| (e.sent_at, e.email_id));
    UserActivity {
        user_id,
        name,
        emails,
        investors,
    }
}

/// The investor's name, or, once it is soft-deleted, the address that matched.
fn investor_label(rows: &[&DigestRow]) -> String {
    rows.iter()
        .find_map(|r| {
            r.investor_name
                .as_deref()
                .map(one_line)
                .filter(|n| !n.is_empty())
        })
        .or_else(|| rows.iter().map(|r| r.matched_address.to_string()).min())
        .unwrap_or_default()
}

/// The contact's name, or, without a live contact, the address that matched.
fn counterpart(row: &DigestRow) -> String {
    row.contact_name
        .as_deref()
        .map(one_line)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| row.matched_address.to_string())
}

fn sorted_unique(items: impl IntoIterator<Item = String>) -> Vec<String> {
    items
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Header text can hold line breaks and tabs; one digest line must stay one line.
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn format_local(at: Timestamp, tz: &TimeZone, format: &str) -> String {
    tz.to_datetime(at).strftime(format).to_string()
}

fn zone_label(tz: &TimeZone, at: Timestamp) -> String {
    match tz.iana_name() {
        Some(name) => name.to_string(),
        None => format!("UTC{}", tz.to_offset(at)),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use mailroom_ports::records::Role;

    use super::*;
    use crate::gating::test_rows::{addr, row, ts};

    fn user(id: i64, name: &str) -> User {
        User {
            id: UserId(id),
            email: addr(&format!("u{id}@fund.com")),
            display_name: name.to_string(),
            role: Role::Member,
            is_active: true,
        }
    }

    fn own() -> OwnMailboxes {
        OwnMailboxes::new([
            addr("u1@fund.com"),
            addr("u2@fund.com"),
            addr("u3@fund.com"),
        ])
    }

    fn compose_rows(
        team: &[User],
        rows: Vec<DigestRow>,
        narratives: &BTreeMap<UserId, String>,
    ) -> Digest {
        let tz = TimeZone::get("America/New_York").expect("tzdb has America/New_York");
        let rows = LiveRows::new(rows);
        let own = own();
        compose(
            &DigestInput {
                since: ts("2026-11-23T23:00:00Z"),
                until: ts("2026-11-24T23:00:00Z"),
                timezone: &tz,
                team,
                rows: &rows,
                own: &own,
            },
            narratives,
        )
    }

    /// Ann (1) received a question from Jane at Acme (10), which Bob (2) also
    /// saw; Ann answered it; Bob received one from Beta (11) through its
    /// domain; Carol (3) had nothing.
    fn sample_rows() -> Vec<DigestRow> {
        let mut question_ann = row(100, 1, 10);
        question_ann.subject = Some("Fund III close".into());
        question_ann.sent_at = ts("2026-11-24T14:15:00Z");
        question_ann.investor_name = Some("Acme Capital".into());
        let mut question_bob = question_ann.clone();
        question_bob.user_id = UserId(2);
        question_bob.account_id = mailroom_ports::AccountId(2);

        let mut answer = row(101, 1, 10);
        answer.subject = Some("Re: Fund III close".into());
        answer.sent_at = ts("2026-11-24T16:02:00Z");
        answer.is_sent = true;
        answer.from_email = Some(addr("u1@fund.com"));
        answer.investor_name = Some("Acme Capital".into());

        let mut beta = row(102, 2, 11);
        beta.subject = Some("Capital call\r\n notice".into());
        beta.sent_at = ts("2026-11-24T13:00:00Z");
        beta.from_email = Some(addr("ops@beta.vc"));
        beta.investor_name = Some("Beta Ventures".into());
        beta.contact_name = None;
        beta.matched_address = addr("ops@beta.vc");

        vec![answer, question_bob, beta, question_ann]
    }

    fn team() -> Vec<User> {
        vec![
            user(3, "Carol Diaz"),
            user(2, "Bob Stone"),
            user(1, "Ann Lee"),
        ]
    }

    #[test]
    fn the_by_investor_section_lists_the_top_investors_then_counts_the_rest() {
        // Investor 1 has 3 emails, investor 2 has 2, the 60 others 1 each.
        let mut rows = Vec::new();
        let mut email = 1000;
        for investor in 1..=62 {
            let emails = match investor {
                1 => 3,
                2 => 2,
                _ => 1,
            };
            for _ in 0..emails {
                email += 1;
                let mut r = row(email, 1, investor);
                r.investor_name = Some(format!("Investor {investor:03}"));
                rows.push(r);
            }
        }
        let digest = compose_rows(&team(), rows, &BTreeMap::new());

        let section = digest.body.split("BY INVESTOR\n").nth(1).unwrap();
        let headers: Vec<&str> = section
            .lines()
            .filter(|l| l.starts_with("Investor "))
            .collect();
        assert_eq!(headers.len(), TOP_INVESTORS);
        assert!(headers[0].starts_with("Investor 001: 3 emails"));
        assert!(headers[1].starts_with("Investor 002: 2 emails"));
        assert!(headers[2].starts_with("Investor 003: 1 email"));
        assert!(section.ends_with("\nand 12 more investors (12 emails)\n"));
    }

    #[test]
    fn an_investor_lists_a_bounded_number_of_emails() {
        let rows: Vec<DigestRow> = (0..25)
            .map(|n| {
                let mut r = row(2000 + n, 1, 10);
                r.investor_name = Some("Acme Capital".into());
                r
            })
            .collect();
        let digest = compose_rows(&team(), rows, &BTreeMap::new());

        let listed = digest
            .body
            .lines()
            .filter(|l| l.starts_with("  - "))
            .count();
        assert_eq!(listed, EMAILS_PER_INVESTOR + 1);
        assert!(digest.body.contains("  - and 15 more emails\n"));
    }

    #[test]
    fn a_long_narrative_is_cut_to_a_readable_paragraph() {
        let mut narratives = BTreeMap::new();
        narratives.insert(UserId(1), "word ".repeat(2_000));
        let digest = compose_rows(&team(), sample_rows(), &narratives);

        let paragraph = digest.body.lines().find(|l| l.starts_with("word")).unwrap();
        assert!(paragraph.chars().count() <= PARAGRAPH_CHARS + 1);
        assert!(paragraph.ends_with('…'));
    }

    #[test]
    fn the_html_part_carries_the_same_digest_with_text_escaped() {
        let mut rows = sample_rows();
        rows[2].subject = Some("<script>alert('x')</script> & more".into());
        let digest = compose_rows(&team(), rows, &BTreeMap::new());

        assert!(digest.html.starts_with("<!DOCTYPE html>"));
        assert!(digest.html.contains("<h2>BY INVESTOR</h2>"));
        assert!(digest.html.contains("<li>"));
        assert!(
            digest
                .html
                .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more")
        );
        assert!(!digest.html.contains("<script>"));
    }

    #[test]
    fn a_window_with_activity_has_both_sections_in_a_fixed_order() {
        let mut narratives = BTreeMap::new();
        narratives.insert(
            UserId(1),
            "  Ann answered Acme's question about the Fund III close.\n".to_string(),
        );
        let digest = compose_rows(&team(), sample_rows(), &narratives);

        assert_eq!(
            digest.subject,
            "mailroom digest for Tue 24 Nov 2026: 3 emails, 2 investors"
        );
        assert_eq!(
            digest.body,
            "mailroom daily digest\n\
             Mon 23 Nov 2026 18:00 to Tue 24 Nov 2026 18:00 (America/New_York)\n\
             \n\
             3 emails with 2 investors; 2 team members active.\n\
             \n\
             BY TEAM MEMBER\n\
             \n\
             Ann Lee: 2 emails (1 received, 1 sent) with 1 investor.\n\
             Ann answered Acme's question about the Fund III close.\n\
             \n\
             Bob Stone: 2 emails (2 received, 0 sent) with 2 investors.\n\
             \n\
             Carol Diaz: no investor email.\n\
             \n\
             BY INVESTOR\n\
             \n\
             Acme Capital: 2 emails (1 inbound, 1 outbound)\n  \
             - Tue 24 Nov 09:15  inbound   Jane Roe  Fund III close\n  \
             - Tue 24 Nov 11:02  outbound  Jane Roe  Re: Fund III close\n\
             \n\
             Beta Ventures: 1 email (1 inbound, 0 outbound)\n  \
             - Tue 24 Nov 08:00  inbound   ops@beta.vc  Capital call notice\n"
        );
        assert!(digest.has_activity);
        assert_eq!(
            (digest.user_count, digest.email_count, digest.investor_count),
            (2, 3, 2)
        );
    }

    #[test]
    fn output_does_not_depend_on_the_order_of_rows_or_team() {
        let narratives = BTreeMap::new();
        let first = compose_rows(&team(), sample_rows(), &narratives);
        let mut rows = sample_rows();
        rows.reverse();
        let mut people = team();
        people.reverse();
        assert_eq!(compose_rows(&people, rows, &narratives), first);
    }

    #[test]
    fn an_empty_window_still_makes_a_digest_with_a_note() {
        let digest = compose_rows(&team(), vec![], &BTreeMap::new());
        assert_eq!(
            digest.subject,
            "mailroom digest for Tue 24 Nov 2026: no investor email"
        );
        assert_eq!(
            digest.body,
            "mailroom daily digest\n\
             Mon 23 Nov 2026 18:00 to Tue 24 Nov 2026 18:00 (America/New_York)\n\
             \n\
             No investor email activity in this window.\n"
        );
        assert!(!digest.has_activity);
        assert_eq!(
            (digest.user_count, digest.email_count, digest.investor_count),
            (0, 0, 0)
        );
    }

    #[test]
    fn only_deleted_or_inactive_rows_make_an_empty_digest() {
        let mut deleted = row(1, 1, 10);
        deleted.sighting_live = false;
        let mut inactive = row(2, 2, 10);
        inactive.user_active = false;
        let digest = compose_rows(&team(), vec![deleted, inactive], &BTreeMap::new());
        assert!(!digest.has_activity);
        assert!(digest.body.contains(NO_ACTIVITY_NOTE));
        assert_eq!(digest.email_count, 0);
    }

    #[test]
    fn soft_deleted_investor_and_contact_names_fall_back_to_the_matched_address() {
        let mut r = row(1, 1, 10);
        r.investor_name = None;
        r.contact_name = None;
        r.matched_address = addr("jane@acme.com");
        r.subject = None;
        let digest = compose_rows(&[user(1, "Ann Lee")], vec![r], &BTreeMap::new());
        assert!(
            digest.body.contains(
                "jane@acme.com: 1 email (1 inbound, 0 outbound)\n  \
                 - Tue 24 Nov 09:00  inbound   jane@acme.com  (no subject)\n"
            ),
            "{}",
            digest.body
        );
    }

    #[test]
    fn one_email_to_two_investors_counts_once_per_investor_and_once_overall() {
        let mut to_acme = row(1, 1, 10);
        to_acme.investor_name = Some("Acme".into());
        let mut to_beta = row(1, 1, 11);
        to_beta.investor_name = Some("Beta".into());
        to_beta.contact_name = Some("Bo Chen".into());
        let people = [user(1, "Ann Lee")];
        let digest = compose_rows(
            &people,
            vec![to_acme.clone(), to_beta.clone()],
            &BTreeMap::new(),
        );
        assert_eq!((digest.email_count, digest.investor_count), (1, 2));
        assert!(
            digest
                .body
                .contains("Ann Lee: 1 email (1 received, 0 sent) with 2 investors.")
        );
        assert!(
            digest
                .body
                .contains("Acme: 1 email (1 inbound, 0 outbound)")
        );
        assert!(
            digest
                .body
                .contains("Beta: 1 email (1 inbound, 0 outbound)")
        );

        let activity = team_activity(&people, &LiveRows::new([to_acme, to_beta]));
        let request =
            activity[0].narrative_request(ts("2026-11-23T23:00:00Z"), ts("2026-11-24T23:00:00Z"));
        assert_eq!(request.items.len(), 1);
        assert_eq!(request.items[0].investor, "Acme, Beta");
        assert_eq!(request.items[0].counterpart, "Bo Chen, Jane Roe");
    }

    #[test]
    fn direction_per_user_uses_the_mailbox_sent_flag_and_per_investor_uses_the_sender() {
        // Ann forwarded Jane's email from her own address, so the email is
        // outbound; Bob only received it, so for him it is received.
        let mut ann = row(1, 1, 10);
        ann.is_sent = true;
        ann.from_email = Some(addr("u1@fund.com"));
        let mut bob = ann.clone();
        bob.user_id = UserId(2);
        bob.account_id = mailroom_ports::AccountId(2);
        bob.is_sent = false;
        let digest = compose_rows(&team(), vec![ann, bob], &BTreeMap::new());
        assert!(
            digest
                .body
                .contains("Ann Lee: 1 email (0 received, 1 sent) with 1 investor.")
        );
        assert!(
            digest
                .body
                .contains("Bob Stone: 1 email (1 received, 0 sent) with 1 investor.")
        );
        assert!(
            digest
                .body
                .contains("Investor 10: 1 email (0 inbound, 1 outbound)")
        );
        assert_eq!(digest.user_count, 2);
    }

    #[test]
    fn users_without_activity_are_not_asked_about_and_rows_outside_the_team_still_count() {
        let mut stray = row(1, 9, 10);
        stray.user_name = "Dan Ode".into();
        let activity = team_activity(&[user(1, "Ann Lee")], &LiveRows::new([stray]));
        let names: Vec<(&str, bool)> = activity
            .iter()
            .map(|a| (a.name.as_str(), a.has_activity()))
            .collect();
        assert_eq!(names, vec![("Ann Lee", false), ("Dan Ode", true)]);
    }

    #[test]
    fn an_empty_narrative_is_not_printed() {
        let mut narratives = BTreeMap::new();
        narratives.insert(UserId(1), "   \n".to_string());
        let with_blank = compose_rows(&team(), sample_rows(), &narratives);
        let without = compose_rows(&team(), sample_rows(), &BTreeMap::new());
        assert_eq!(with_blank, without);
    }

    #[test]
    fn summary_lines_count_emails_and_investors() {
        let check = |rows: Vec<DigestRow>, expected: &str| {
            let activity = team_activity(&[user(1, "Ann")], &LiveRows::new(rows));
            assert_eq!(activity[0].summary_line(), expected);
        };
        check(vec![], "Ann: no investor email.");
        check(
            vec![row(1, 1, 10)],
            "Ann: 1 email (1 received, 0 sent) with 1 investor.",
        );
        let mut sent = row(2, 1, 11);
        sent.is_sent = true;
        check(
            vec![row(1, 1, 10), sent, row(3, 1, 10)],
            "Ann: 3 emails (2 received, 1 sent) with 2 investors.",
        );
    }

    #[test]
    fn the_window_line_names_the_zone_or_its_offset() {
        let check = |tz: TimeZone, expected: &str| {
            let rows = LiveRows::default();
            let own = own();
            let digest = compose(
                &DigestInput {
                    since: ts("2026-11-23T23:00:00Z"),
                    until: ts("2026-11-24T23:00:00Z"),
                    timezone: &tz,
                    team: &[],
                    rows: &rows,
                    own: &own,
                },
                &BTreeMap::new(),
            );
            assert_eq!(digest.body.lines().nth(1), Some(expected), "{tz:?}");
        };
        check(
            TimeZone::UTC,
            "Mon 23 Nov 2026 23:00 to Tue 24 Nov 2026 23:00 (UTC)",
        );
        check(
            TimeZone::fixed(jiff::tz::offset(-5)),
            "Mon 23 Nov 2026 18:00 to Tue 24 Nov 2026 18:00 (UTC-05)",
        );
        check(
            TimeZone::get("Asia/Tokyo").expect("tzdb has Asia/Tokyo"),
            "Tue 24 Nov 2026 08:00 to Wed 25 Nov 2026 08:00 (Asia/Tokyo)",
        );
    }
}
