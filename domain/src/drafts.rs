//! Reply drafts (R-DRAFT-1, R-DRAFT-2): recipients, subject, threading headers, and the service.
//!
//! Drafts are only ever created, never sent (R-DRAFT-3, R-HARD-1): the
//! service holds a [`DraftCreator`], which has no send method.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use mailroom_ports::gmail::{DraftCreator, GmailError, ReplyDraft};
use mailroom_ports::records::{DraftRecord, EmailHeader, ReplySighting, Role, User};
use mailroom_ports::{AccountId, Clock, Domain, EmailAddress, EmailId, Store, StoreError};
use tracing::{instrument, warn};

use crate::capture::{normalize_message_id, store_error_text};
use crate::matching::OwnAddresses;

/// The recipients of a reply: `(to, cc)`.
///
/// To = Reply-To, else From. Reply-all adds the original To and Cc as Cc.
/// Our own addresses are dropped, each address appears once, and a Cc
/// already in To is dropped. When that leaves To empty (we sent the
/// original), the original To (minus ours) becomes To, so a follow-up to our
/// own message goes to the people we wrote to.
pub fn reply_recipients(
    header: &EmailHeader,
    reply_all: bool,
    own: &OwnAddresses,
) -> (Vec<EmailAddress>, Vec<EmailAddress>) {
    let primary: Vec<&EmailAddress> = if header.reply_to.is_empty() {
        header.from_email.iter().collect()
    } else {
        header.reply_to.iter().collect()
    };
    let mut seen = HashSet::new();
    let mut to = keep_new(primary, own, &mut seen);
    if to.is_empty() {
        to = keep_new(header.to.iter(), own, &mut seen);
    }
    let cc = if reply_all {
        keep_new(header.to.iter().chain(&header.cc), own, &mut seen)
    } else {
        Vec::new()
    };
    (to, cc)
}

/// `Re: ` and the original subject with its own reply prefixes removed, so
/// the prefix appears once however long the thread.
pub fn reply_subject(original: Option<&str>) -> String {
    let mut rest = original.unwrap_or("").trim();
    while let Some(stripped) = strip_reply_prefix(rest) {
        rest = stripped;
    }
    if rest.is_empty() {
        "Re:".to_string()
    } else {
        format!("Re: {rest}")
    }
}

/// The reply's `(In-Reply-To, References)` (RFC 5322 §3.6.4), as message
/// ids without angle brackets: In-Reply-To is the parent's Message-ID;
/// References is the parent's References (else its In-Reply-To) followed by
/// the parent's Message-ID.
pub fn threading(parent: &EmailHeader) -> (Option<String>, Vec<String>) {
    let message_id = parent.message_id.as_deref().and_then(normalize_message_id);
    let mut references: Vec<String> = if parent.references.is_empty() {
        parent
            .in_reply_to
            .iter()
            .filter_map(|r| normalize_message_id(r))
            .collect()
    } else {
        parent
            .references
            .iter()
            .filter_map(|r| normalize_message_id(r))
            .collect()
    };
    if let Some(id) = &message_id
        && references.last() != Some(id)
    {
        references.push(id.clone());
    }
    (message_id, references)
}

/// A request to draft a reply to a captured email.
#[derive(Clone, PartialEq, Eq)]
pub struct DraftRequest {
    pub email_id: EmailId,
    pub body: String,
    pub reply_all: bool,
    /// The mailbox to draft in; by default the actor's own copy.
    pub account_id: Option<AccountId>,
}

impl fmt::Debug for DraftRequest {
    // The body is message content: it stays out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DraftRequest")
            .field("email_id", &self.email_id)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("reply_all", &self.reply_all)
            .field("account_id", &self.account_id)
            .finish()
    }
}

/// The draft as created in Gmail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftResult {
    pub gmail_draft_id: String,
    pub thread_id: String,
    /// The draft's message id, which Gmail's web UI opens the draft by.
    pub gmail_message_id: Option<String>,
    pub to: Vec<EmailAddress>,
    pub cc: Vec<EmailAddress>,
    pub subject: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("no such email")]
    NotFound,
    #[error("not allowed to draft a reply from this mailbox")]
    Forbidden,
    #[error("no captured mailbox holds this email")]
    NoMailbox,
    #[error("the reply body is empty")]
    EmptyBody,
    /// Every address on the email is ours: there is no one outside the
    /// team to reply to.
    #[error("the email has no recipient outside the team to reply to")]
    NoRecipients,
    #[error("Gmail call failed")]
    Gmail(#[from] GmailError),
    #[error("store call failed")]
    Store(#[source] StoreError),
}

impl From<StoreError> for DraftError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => DraftError::NotFound,
            other => DraftError::Store(other),
        }
    }
}

/// Creates in-thread reply drafts in the mailbox that holds the email.
pub struct DraftService<S: ?Sized, D: ?Sized, C: ?Sized> {
    store: Arc<S>,
    drafts: Arc<D>,
    clock: Arc<C>,
    internal_domains: Vec<Domain>,
}

impl<S, D, C> DraftService<S, D, C>
where
    S: Store + ?Sized,
    D: DraftCreator + ?Sized,
    C: Clock + ?Sized,
{
    pub fn new(
        store: Arc<S>,
        drafts: Arc<D>,
        clock: Arc<C>,
        internal_domains: Vec<Domain>,
    ) -> Self {
        Self {
            store,
            drafts,
            clock,
            internal_domains,
        }
    }

    /// Creates the draft and records it; never sends anything.
    ///
    /// # Errors
    /// `Forbidden` for an inactive user, a member with no copy of the email,
    /// or a member naming someone else's mailbox; `EmptyBody`; `NotFound`;
    /// `NoMailbox` when no live copy (or not the named one) exists;
    /// `NoRecipients`; `Gmail`/`Store` when a port fails.
    #[instrument(skip_all, fields(email_id = %req.email_id, actor = %actor.id, reply_all = req.reply_all))]
    pub async fn create(&self, actor: &User, req: DraftRequest) -> Result<DraftResult, DraftError> {
        if !actor.is_active {
            return Err(DraftError::Forbidden);
        }
        if req.body.trim().is_empty() {
            return Err(DraftError::EmptyBody);
        }
        let source = self.store.reply_source(req.email_id).await?;
        let sighting = pick_sighting(actor, &source.sightings, req.account_id)?.clone();

        let own = OwnAddresses::new(
            self.store.own_addresses().await?,
            self.internal_domains.iter().cloned(),
        );
        let (to, cc) = reply_recipients(&source.header, req.reply_all, &own);
        if to.is_empty() {
            return Err(DraftError::NoRecipients);
        }
        let subject = reply_subject(source.subject.as_deref());
        let (in_reply_to, references) = threading(&source.header);
        let draft = ReplyDraft {
            thread_id: sighting.gmail_thread_id.clone(),
            from: sighting.account_email.clone(),
            to,
            cc,
            subject,
            in_reply_to,
            references,
            body: req.body,
        };
        let created = self
            .drafts
            .create_draft(&sighting.account_email, &draft)
            .await?;

        let record = DraftRecord {
            email_id: source.email_id,
            account_id: sighting.account_id,
            created_by: actor.id,
            gmail_draft_id: created.draft_id.clone(),
            thread_id: created.thread_id.clone(),
            gmail_message_id: created.message_id.clone(),
            reply_all: req.reply_all,
            to: draft.to.clone(),
            cc: draft.cc.clone(),
            subject: draft.subject.clone(),
            created_at: self.clock.now(),
        };
        if let Err(error) = self.store.record_draft(record).await {
            // The draft exists in Gmail; failing here would make the user
            // retry and leave a second draft behind.
            warn!(error = %store_error_text(&error), draft_id = %created.draft_id, "draft created but its audit row was not stored");
        }
        Ok(DraftResult {
            gmail_draft_id: created.draft_id,
            thread_id: created.thread_id,
            gmail_message_id: created.message_id,
            to: draft.to,
            cc: draft.cc,
            subject: draft.subject,
        })
    }
}

/// The mailbox copy to draft in: the named account, else the actor's own,
/// else (admins only) the first. Members only ever use their own mailboxes.
fn pick_sighting<'a>(
    actor: &User,
    sightings: &'a [ReplySighting],
    account_id: Option<AccountId>,
) -> Result<&'a ReplySighting, DraftError> {
    let admin = actor.role == Role::Admin;
    let mine = |s: &&ReplySighting| s.user_id == actor.id;
    if !admin && !sightings.iter().any(|s| mine(&s)) {
        return Err(DraftError::Forbidden);
    }
    match account_id {
        Some(id) => match sightings.iter().find(|s| s.account_id == id) {
            Some(s) if admin || mine(&s) => Ok(s),
            Some(_) => Err(DraftError::Forbidden),
            None => Err(DraftError::NoMailbox),
        },
        None => sightings
            .iter()
            .find(mine)
            .or_else(|| sightings.first().filter(|_| admin))
            .ok_or(DraftError::NoMailbox),
    }
}

/// Adds the addresses not ours and not seen yet, in order.
fn keep_new<'a>(
    addresses: impl IntoIterator<Item = &'a EmailAddress>,
    own: &OwnAddresses,
    seen: &mut HashSet<String>,
) -> Vec<EmailAddress> {
    addresses
        .into_iter()
        .filter(|a| !own.is_own(a) && seen.insert(a.as_str().to_lowercase()))
        .cloned()
        .collect()
}

fn strip_reply_prefix(subject: &str) -> Option<&str> {
    let head = subject.get(..3)?;
    head.eq_ignore_ascii_case("re:")
        .then(|| subject[3..].trim_start())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use futures::executor::block_on;
    use jiff::Timestamp;
    use mailroom_ports::gmail::CreatedDraft;
    use mailroom_ports::records::ReplySource;
    use mailroom_ports::{MockClock, MockDraftCreator, MockStore, UserId};

    use super::*;

    fn addr(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    fn list(xs: &[&str]) -> Vec<EmailAddress> {
        xs.iter().map(|x| addr(x)).collect()
    }

    fn header(from: &str, to: &[&str], cc: &[&str], reply_to: &[&str]) -> EmailHeader {
        EmailHeader {
            dedup_key: "m3@x".into(),
            message_id: Some("m3@x".into()),
            from_email: Some(addr(from)),
            from_name: None,
            to: list(to),
            cc: list(cc),
            reply_to: list(reply_to),
            in_reply_to: Some("m2@x".into()),
            references: vec!["m1@x".into(), "m2@x".into()],
            sent_at: Timestamp::UNIX_EPOCH,
            size: 0,
        }
    }

    fn own() -> OwnAddresses {
        OwnAddresses::new(
            list(&["me@fund.com", "partner@gmail.com"]),
            [Domain::parse("fund.com").unwrap()],
        )
    }

    fn check(h: EmailHeader, reply_all: bool, to: &[&str], cc: &[&str]) {
        let got = reply_recipients(&h, reply_all, &own());
        assert_eq!(got, (list(to), list(cc)), "reply_all {reply_all} on {h:?}");
    }

    #[test]
    fn reply_goes_to_reply_to_else_from() {
        check(
            header("lp@acme.com", &["me@fund.com"], &["x@acme.com"], &[]),
            false,
            &["lp@acme.com"],
            &[],
        );
        check(
            header("lp@acme.com", &["me@fund.com"], &[], &["ir@acme.com"]),
            false,
            &["ir@acme.com"],
            &[],
        );
        check(
            header(
                "lp@acme.com",
                &["me@fund.com"],
                &[],
                &["ir@acme.com", "lp@acme.com"],
            ),
            false,
            &["ir@acme.com", "lp@acme.com"],
            &[],
        );
    }

    #[test]
    fn reply_all_copies_the_original_to_and_cc_without_us_or_duplicates() {
        check(
            header(
                "lp@acme.com",
                &["me@fund.com", "b@beta.vc"],
                &["c@acme.com", "colleague@fund.com"],
                &[],
            ),
            true,
            &["lp@acme.com"],
            &["b@beta.vc", "c@acme.com"],
        );
        // The sender also in Cc, in another case: kept once, in To.
        check(
            header(
                "lp@acme.com",
                &["me@fund.com"],
                &["LP@ACME.COM", "c@acme.com", "c@acme.com"],
                &[],
            ),
            true,
            &["lp@acme.com"],
            &["c@acme.com"],
        );
        // Our own free-mail mailbox is ours too.
        check(
            header(
                "lp@acme.com",
                &["partner@gmail.com"],
                &["me@eu.fund.com"],
                &[],
            ),
            true,
            &["lp@acme.com"],
            &[],
        );
    }

    #[test]
    fn replying_to_our_own_message_writes_to_its_recipients() {
        check(
            header(
                "me@fund.com",
                &["lp@acme.com", "b@beta.vc"],
                &["c@acme.com"],
                &[],
            ),
            false,
            &["lp@acme.com", "b@beta.vc"],
            &[],
        );
        check(
            header(
                "me@fund.com",
                &["lp@acme.com", "colleague@fund.com"],
                &["c@acme.com", "lp@acme.com"],
                &[],
            ),
            true,
            &["lp@acme.com"],
            &["c@acme.com"],
        );
        // Nobody outside the team: nothing to reply to.
        check(
            header("me@fund.com", &["colleague@fund.com"], &[], &[]),
            true,
            &[],
            &[],
        );
    }

    fn check_subject(original: Option<&str>, expected: &str) {
        assert_eq!(reply_subject(original), expected, "{original:?}");
    }

    #[test]
    fn reply_subject_carries_one_re_prefix() {
        check_subject(Some("Fund III"), "Re: Fund III");
        check_subject(Some("Re: Fund III"), "Re: Fund III");
        check_subject(Some("RE: Fund III"), "Re: Fund III");
        check_subject(Some("re:Fund III"), "Re: Fund III");
        check_subject(Some("Re: RE: re: Fund III"), "Re: Fund III");
        check_subject(Some("  Fund III  "), "Re: Fund III");
        check_subject(Some("Regarding Fund III"), "Re: Regarding Fund III");
        check_subject(Some("Ré: été"), "Re: Ré: été");
        check_subject(Some(""), "Re:");
        check_subject(None, "Re:");
    }

    #[test]
    fn threading_points_at_the_parent_and_extends_its_references() {
        let h = header("lp@acme.com", &[], &[], &[]);
        assert_eq!(
            threading(&h),
            (
                Some("m3@x".into()),
                vec!["m1@x".into(), "m2@x".into(), "m3@x".into()]
            )
        );

        let no_refs = EmailHeader {
            references: vec![],
            ..h.clone()
        };
        assert_eq!(
            threading(&no_refs),
            (Some("m3@x".into()), vec!["m2@x".into(), "m3@x".into()])
        );

        let first = EmailHeader {
            references: vec![],
            in_reply_to: None,
            message_id: Some("<m3@x>".into()),
            ..h.clone()
        };
        assert_eq!(
            threading(&first),
            (Some("m3@x".into()), vec!["m3@x".into()])
        );

        let no_id = EmailHeader {
            message_id: None,
            ..h
        };
        assert_eq!(
            threading(&no_id),
            (None, vec!["m1@x".into(), "m2@x".into()])
        );
    }

    // ------------------------------------------------------------ service

    fn user(id: i64, role: Role) -> User {
        User {
            id: UserId(id),
            email: addr(&format!("u{id}@fund.com")),
            display_name: format!("U{id}"),
            role,
            is_active: true,
        }
    }

    fn sighting(account: i64, user: i64) -> ReplySighting {
        ReplySighting {
            account_id: AccountId(account),
            account_email: addr(&format!("u{user}@fund.com")),
            user_id: UserId(user),
            gmail_thread_id: format!("thread-{account}"),
        }
    }

    fn source(sightings: Vec<ReplySighting>) -> ReplySource {
        ReplySource {
            email_id: EmailId(70),
            header: header(
                "lp@acme.com",
                &["u1@fund.com", "b@beta.vc"],
                &["c@acme.com"],
                &[],
            ),
            subject: Some("Fund III".into()),
            sightings,
        }
    }

    struct Calls {
        drafts: Arc<Mutex<Vec<(EmailAddress, ReplyDraft)>>>,
        records: Arc<Mutex<Vec<DraftRecord>>>,
    }

    fn service(
        sightings: Vec<ReplySighting>,
    ) -> (DraftService<MockStore, MockDraftCreator, MockClock>, Calls) {
        let calls = Calls {
            drafts: Arc::default(),
            records: Arc::default(),
        };
        let mut store = MockStore::new();
        store
            .expect_reply_source()
            .returning(move |_| Ok(source(sightings.clone())));
        store
            .expect_own_addresses()
            .returning(|| Ok(list(&["u1@fund.com", "u2@fund.com"])));
        let records = calls.records.clone();
        store.expect_record_draft().returning(move |r| {
            records.lock().unwrap().push(r);
            Ok(())
        });
        let mut drafts = MockDraftCreator::new();
        let seen = calls.drafts.clone();
        drafts.expect_create_draft().returning(move |mailbox, d| {
            seen.lock().unwrap().push((mailbox.clone(), d.clone()));
            Ok(CreatedDraft {
                draft_id: "d-1".into(),
                thread_id: d.thread_id.clone(),
                message_id: Some("m-1".into()),
            })
        });
        let mut clock = MockClock::new();
        clock.expect_now().return_const(Timestamp::UNIX_EPOCH);
        let svc = DraftService::new(Arc::new(store), Arc::new(drafts), Arc::new(clock), vec![]);
        (svc, calls)
    }

    fn request(reply_all: bool, account_id: Option<i64>) -> DraftRequest {
        DraftRequest {
            email_id: EmailId(70),
            body: "Thanks!".into(),
            reply_all,
            account_id: account_id.map(AccountId),
        }
    }

    #[test]
    fn a_member_drafts_a_threaded_reply_in_their_own_mailbox_and_it_is_recorded() {
        let (svc, calls) = service(vec![sighting(1, 1), sighting(2, 2)]);

        let result = block_on(svc.create(&user(2, Role::Member), request(true, None))).unwrap();

        assert_eq!(
            result,
            DraftResult {
                gmail_draft_id: "d-1".into(),
                thread_id: "thread-2".into(),
                gmail_message_id: Some("m-1".into()),
                to: list(&["lp@acme.com"]),
                cc: list(&["b@beta.vc", "c@acme.com"]),
                subject: "Re: Fund III".into(),
            }
        );
        let drafts = calls.drafts.lock().unwrap();
        assert_eq!(drafts.len(), 1);
        let (mailbox, draft) = &drafts[0];
        assert_eq!(mailbox, &addr("u2@fund.com"));
        assert_eq!(draft.from, addr("u2@fund.com"));
        assert_eq!(draft.in_reply_to.as_deref(), Some("m3@x"));
        assert_eq!(draft.references.last().map(String::as_str), Some("m3@x"));
        assert_eq!(draft.body, "Thanks!");
        let records = calls.records.lock().unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].account_id, AccountId(2));
        assert_eq!(records[0].created_by, UserId(2));
        assert_eq!(records[0].gmail_draft_id, "d-1");
        assert_eq!(records[0].thread_id, "thread-2");
        assert!(records[0].reply_all);
    }

    #[test]
    fn an_admin_without_a_copy_drafts_in_the_first_mailbox_or_the_named_one() {
        let (svc, calls) = service(vec![sighting(1, 1), sighting(2, 2)]);

        let first = block_on(svc.create(&user(9, Role::Admin), request(false, None))).unwrap();
        let named = block_on(svc.create(&user(9, Role::Admin), request(false, Some(2)))).unwrap();

        assert_eq!(first.thread_id, "thread-1");
        assert_eq!(named.thread_id, "thread-2");
        assert_eq!(first.cc, vec![]);
        assert_eq!(calls.drafts.lock().unwrap().len(), 2);
    }

    fn check_refused(
        actor: User,
        sightings: Vec<ReplySighting>,
        req: DraftRequest,
        expected: &str,
    ) {
        let (svc, calls) = service(sightings);
        let err = block_on(svc.create(&actor, req)).unwrap_err();
        assert_eq!(format!("{err:?}"), expected);
        assert!(
            calls.drafts.lock().unwrap().is_empty(),
            "no draft may be created"
        );
        assert!(calls.records.lock().unwrap().is_empty());
    }

    #[test]
    fn drafts_are_refused_without_a_mailbox_the_actor_may_use() {
        // A member with no copy of the email.
        check_refused(
            user(3, Role::Member),
            vec![sighting(1, 1)],
            request(false, None),
            "Forbidden",
        );
        // A member naming a teammate's mailbox.
        check_refused(
            user(2, Role::Member),
            vec![sighting(1, 1), sighting(2, 2)],
            request(false, Some(1)),
            "Forbidden",
        );
        // A mailbox that holds no live copy.
        check_refused(
            user(9, Role::Admin),
            vec![sighting(1, 1)],
            request(false, Some(5)),
            "NoMailbox",
        );
        check_refused(
            user(9, Role::Admin),
            vec![],
            request(false, None),
            "NoMailbox",
        );
        // An inactive user.
        check_refused(
            User {
                is_active: false,
                ..user(9, Role::Admin)
            },
            vec![sighting(1, 1)],
            request(false, None),
            "Forbidden",
        );
        // A blank body.
        let blank = DraftRequest {
            body: " \n ".into(),
            ..request(false, None)
        };
        check_refused(
            user(1, Role::Member),
            vec![sighting(1, 1)],
            blank,
            "EmptyBody",
        );
    }

    #[test]
    fn a_draft_for_a_missing_email_is_not_found() {
        let mut store = MockStore::new();
        store
            .expect_reply_source()
            .returning(|_| Err(StoreError::NotFound("email 70".into())));
        let mut drafts = MockDraftCreator::new();
        drafts.expect_create_draft().never();
        let svc = DraftService::new(
            Arc::new(store),
            Arc::new(drafts),
            Arc::new(MockClock::new()),
            vec![],
        );

        let err = block_on(svc.create(&user(1, Role::Admin), request(false, None))).unwrap_err();

        assert!(matches!(err, DraftError::NotFound), "{err:?}");
    }

    #[test]
    fn a_gmail_failure_is_returned_and_nothing_is_recorded() {
        let mut store = MockStore::new();
        store
            .expect_reply_source()
            .returning(|_| Ok(source(vec![sighting(1, 1)])));
        store.expect_own_addresses().returning(|| Ok(vec![]));
        store.expect_record_draft().never();
        let mut drafts = MockDraftCreator::new();
        drafts
            .expect_create_draft()
            .times(1)
            .returning(|_, _| Err(GmailError::Unavailable("503".into())));
        let svc = DraftService::new(
            Arc::new(store),
            Arc::new(drafts),
            Arc::new(MockClock::new()),
            vec![],
        );

        let err = block_on(svc.create(&user(1, Role::Member), request(false, None))).unwrap_err();

        assert!(
            matches!(err, DraftError::Gmail(GmailError::Unavailable(_))),
            "{err:?}"
        );
    }

    #[test]
    fn the_request_body_stays_out_of_debug_output() {
        let req = DraftRequest {
            body: "confidential terms".into(),
            ..request(false, None)
        };
        assert!(!format!("{req:?}").contains("confidential"));
    }
}
