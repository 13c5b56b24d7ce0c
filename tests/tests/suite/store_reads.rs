//! The read side in the store: one email's detail under the list's
//! matched-only and live-only rules, and the keyset-paged logs (digest sends,
//! capture errors, drafts, proposals), on SQLite and PostgreSQL.

use std::future::Future;

use mailroom_ports::reads::{Keyset, Page, PageRequest, ProposalQuery};
use mailroom_ports::records::{
    Attachment, CaptureRequest, DigestSendLog, DigestTrigger, Direction, DraftRecord,
    ProposalStatus,
};
use mailroom_ports::{AccountId, EmailId, Store, StoreError, TransportKind};
use mailroom_tests::db::TestDb;
use mailroom_tests::db::seed::{self, ACME, BETA, LEE, MAX, Msg, OLD, OLGA, addr, ts};
use mailroom_tests::on_both_databases;

on_both_databases!(
    detail_shows_content_investors_contacts_and_live_mailboxes,
    detail_thread_lists_only_matched_live_neighbours_of_the_same_mailbox_thread,
    unmatched_email_has_no_detail,
    email_with_every_sighting_deleted_has_no_detail,
    digest_sends_page_newest_first_with_their_kind,
    capture_errors_are_paged_per_mailbox_and_an_unknown_mailbox_is_not_found,
    drafts_page_newest_first_and_filter_by_creator,
    proposal_pages_keep_the_status_and_visibility_filters,
    a_zero_limit_is_an_empty_page,
);

/// Reads every page of a list, `limit` at a time; returns the pages' sizes
/// and all items in order.
async fn walk<T, F, Fut>(limit: u32, mut read: F) -> (Vec<usize>, Vec<T>)
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, StoreError>>,
{
    let mut sizes = Vec::new();
    let mut all = Vec::new();
    let mut after: Option<Keyset> = None;
    loop {
        let page = read(PageRequest { limit, after }).await.expect("page");
        sizes.push(page.items.len());
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
        assert!(sizes.len() < 50, "pagination does not end");
    }
    (sizes, all)
}

/// The capture of `msg` in `account`, in Gmail thread `thread`.
fn in_thread(msg: &Msg, account: AccountId, gmail_id: &str, thread: &str) -> CaptureRequest {
    let mut request = msg.seen_by(account, gmail_id, false);
    request.gmail_thread_id = thread.to_string();
    request
}

async fn detail_shows_content_investors_contacts_and_live_mailboxes(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    // Ann writes to Lee and Max (Acme) and Olga (graveyard Old LP), cc Bob.
    let msg = Msg::new(
        "deal@fund.com",
        "ann@fund.com",
        &["lee@acme.com", "max@acme.com", "olga@old.com"],
        "2025-06-01T09:00:00Z",
    )
    .subject("Term sheet")
    .link(ACME, Some(LEE), "lee@acme.com")
    .link(ACME, Some(MAX), "max@acme.com")
    .link(OLD, Some(OLGA), "olga@old.com")
    .link(BETA, None, "someone@beta.vc");
    let mut sent = msg.seen_by(team.ann_box, "a1", true);
    sent.header.reply_to = vec![addr("deals@fund.com")];
    sent.header.cc = vec![addr("bob@fund.com")];
    if let Some(content) = sent.content.as_mut() {
        content.attachments = vec![Attachment {
            name: Some("terms.pdf".into()),
            content_type: "application/pdf".into(),
            size: 48_213,
        }];
    }
    let email_id = store.capture(sent).await.unwrap().email_id;
    store
        .capture(msg.seen_by(team.bob_box, "b1", false))
        .await
        .unwrap();
    store
        .capture(msg.seen_by(team.cat_box, "c1", false))
        .await
        .unwrap();
    store
        .soft_delete_sighting(team.cat_box, "c1", ts("2025-06-02T00:00:00Z"))
        .await
        .unwrap();

    let detail = store.email_detail(email_id).await.unwrap();

    assert_eq!(detail.email_id, email_id);
    assert_eq!(detail.message_id.as_deref(), Some("deal@fund.com"));
    assert_eq!(detail.thread_id, "thread-deal@fund.com");
    assert_eq!(detail.subject.as_deref(), Some("Term sheet"));
    assert_eq!(detail.snippet.as_deref(), Some("snippet of Term sheet"));
    assert_eq!(detail.body.as_deref(), Some("body text"));
    assert_eq!(detail.from_email, Some(addr("ann@fund.com")));
    assert_eq!(detail.from_name.as_deref(), Some("Sender of deal@fund.com"));
    assert_eq!(detail.reply_to, vec![addr("deals@fund.com")]);
    assert_eq!(detail.cc, vec![addr("bob@fund.com")]);
    assert_eq!(detail.to.len(), 3);
    assert_eq!(detail.sent_at, ts("2025-06-01T09:00:00Z"));
    assert_eq!(detail.direction, Direction::Outbound);
    assert_eq!(
        detail.attachments,
        vec![Attachment {
            name: Some("terms.pdf".into()),
            content_type: "application/pdf".into(),
            size: 48_213,
        }]
    );
    // Investors by name; contacts that matched, with the address that did;
    // a domain-only match has no contact; graveyard investors still show.
    let investors: Vec<_> = detail
        .investors
        .iter()
        .map(|i| {
            (
                i.investor.name.as_str(),
                i.investor.graveyard,
                i.contacts
                    .iter()
                    .map(|c| (c.id, c.name.as_str(), c.email.as_str().to_string()))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        investors,
        vec![
            (
                "Acme Capital",
                false,
                vec![
                    (LEE, "Lee Park", "lee@acme.com".to_string()),
                    (MAX, "Max Acme", "max@acme.com".to_string()),
                ]
            ),
            ("Beta Ventures", false, vec![]),
            (
                "Old LP",
                true,
                vec![(OLGA, "Olga Old", "olga@old.com".to_string())]
            ),
        ]
    );
    // Cat's copy is deleted: only Ann's (sent) and Bob's (received) remain.
    let mailboxes: Vec<_> = detail
        .mailboxes
        .iter()
        .map(|m| {
            (
                m.account_id,
                m.email_address.as_str().to_string(),
                m.is_sent,
            )
        })
        .collect();
    assert_eq!(
        mailboxes,
        vec![
            (team.ann_box, "ann@fund.com".to_string(), true),
            (team.bob_box, "bob@fund.com".to_string(), false),
        ]
    );
    assert!(detail.thread.is_empty());
}

async fn detail_thread_lists_only_matched_live_neighbours_of_the_same_mailbox_thread(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let matched = |key: &str, at: &str| {
        Msg::new(key, "lee@acme.com", &["ann@fund.com"], at)
            .subject(key)
            .link(ACME, Some(LEE), "lee@acme.com")
    };
    let first = matched("first", "2025-06-01T09:00:00Z");
    let reply = matched("reply", "2025-06-01T10:00:00Z");
    let later = matched("later", "2025-06-01T11:00:00Z");
    let deleted = matched("deleted", "2025-06-01T12:00:00Z");
    let elsewhere = matched("elsewhere", "2025-06-01T13:00:00Z");
    let other_box = matched("other-box", "2025-06-01T14:00:00Z");
    let unmatched = Msg::new(
        "unmatched",
        "stranger@x.com",
        &["ann@fund.com"],
        "2025-06-01T15:00:00Z",
    );

    let first_id = store
        .capture(in_thread(&first, team.ann_box, "a1", "t1"))
        .await
        .unwrap()
        .email_id;
    let reply_id = store
        .capture(in_thread(&reply, team.ann_box, "a2", "t1"))
        .await
        .unwrap()
        .email_id;
    // The same conversation has its own thread id in Bob's mailbox.
    let later_id = store
        .capture(in_thread(&later, team.bob_box, "b3", "bt"))
        .await
        .unwrap()
        .email_id;
    store
        .capture(in_thread(&first, team.bob_box, "b1", "bt"))
        .await
        .unwrap();
    store
        .capture(in_thread(&deleted, team.ann_box, "a4", "t1"))
        .await
        .unwrap();
    store
        .soft_delete_sighting(team.ann_box, "a4", ts("2025-06-02T00:00:00Z"))
        .await
        .unwrap();
    store
        .capture(in_thread(&elsewhere, team.ann_box, "a5", "t2"))
        .await
        .unwrap();
    // A thread id equal to Ann's, but in another mailbox: not the same thread.
    store
        .capture(in_thread(&other_box, team.cat_box, "c6", "t1"))
        .await
        .unwrap();
    store
        .capture(in_thread(&unmatched, team.ann_box, "a7", "t1"))
        .await
        .unwrap();

    let detail = store.email_detail(first_id).await.unwrap();

    let thread: Vec<_> = detail
        .thread
        .iter()
        .map(|t| (t.email_id, t.subject.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        thread,
        vec![
            (later_id, "later".to_string()),
            (reply_id, "reply".to_string())
        ],
        "newest first, the email itself left out"
    );
    assert_eq!(detail.thread_id, "t1");
    assert_eq!(detail.thread[0].direction, Direction::Inbound);
    assert_eq!(detail.thread[0].from_email, Some(addr("lee@acme.com")));
    assert_eq!(detail.thread[0].sent_at, ts("2025-06-01T11:00:00Z"));
    // From the reply, the first message is its neighbour.
    let from_reply = store.email_detail(reply_id).await.unwrap();
    assert_eq!(
        from_reply
            .thread
            .iter()
            .map(|t| t.email_id)
            .collect::<Vec<_>>(),
        vec![first_id]
    );
}

async fn unmatched_email_has_no_detail(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let cold = Msg::new(
        "cold@x.com",
        "stranger@x.com",
        &["ann@fund.com"],
        "2025-06-01T09:00:00Z",
    );
    let id = store
        .capture(cold.seen_by(team.ann_box, "g1", false))
        .await
        .unwrap()
        .email_id;

    let unmatched = store.email_detail(id).await;
    let missing = store.email_detail(EmailId(id.0 + 1000)).await;

    assert!(
        matches!(unmatched, Err(StoreError::NotFound(_))),
        "{unmatched:?}"
    );
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

async fn email_with_every_sighting_deleted_has_no_detail(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let msg = Msg::new(
        "m1@acme.com",
        "lee@acme.com",
        &["ann@fund.com", "bob@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .link(ACME, Some(LEE), "lee@acme.com");
    let id = store
        .capture(msg.seen_by(team.ann_box, "a1", false))
        .await
        .unwrap()
        .email_id;
    store
        .capture(msg.seen_by(team.bob_box, "b1", false))
        .await
        .unwrap();
    let at = ts("2025-06-02T00:00:00Z");

    store
        .soft_delete_sighting(team.ann_box, "a1", at)
        .await
        .unwrap();
    let one_left = store.email_detail(id).await.unwrap();
    assert_eq!(
        one_left
            .mailboxes
            .iter()
            .map(|m| m.account_id)
            .collect::<Vec<_>>(),
        vec![team.bob_box]
    );
    assert_eq!(one_left.thread_id, "thread-m1@acme.com");

    store
        .soft_delete_sighting(team.bob_box, "b1", at)
        .await
        .unwrap();
    let gone = store.email_detail(id).await;
    assert!(matches!(gone, Err(StoreError::NotFound(_))), "{gone:?}");

    // Seen again: live again.
    store
        .capture(msg.seen_by(team.bob_box, "b1", false))
        .await
        .unwrap();
    assert!(store.email_detail(id).await.is_ok());
}

async fn digest_sends_page_newest_first_with_their_kind(db: &TestDb) {
    let store = db.store().await;
    let sends = [
        (
            DigestTrigger::Scheduled,
            Some(TransportKind::Gmail),
            None,
            "2025-06-01T18:00:00Z",
        ),
        (
            DigestTrigger::SendNow,
            None,
            Some("unavailable"),
            "2025-06-02T09:00:00Z",
        ),
        (
            DigestTrigger::TestEmail,
            Some(TransportKind::Smtp),
            None,
            "2025-06-02T09:00:00Z",
        ),
        (
            DigestTrigger::Scheduled,
            Some(TransportKind::Outbox),
            None,
            "2025-06-03T18:00:00Z",
        ),
    ];
    for (i, (trigger, transport, error, at)) in sends.iter().enumerate() {
        store
            .record_digest_send(DigestSendLog {
                trigger: *trigger,
                window_since: ts("2025-05-31T18:00:00Z"),
                window_until: ts(at),
                transport: *transport,
                recipients: i as u32 + 1,
                error_kind: error.map(str::to_string),
                at: ts(at),
            })
            .await
            .unwrap();
    }

    let (sizes, all) = walk(2, |page| store.digest_sends(page)).await;

    assert_eq!(sizes, vec![2, 2]);
    let seen: Vec<_> = all
        .iter()
        .map(|s| (s.trigger, s.transport, s.recipients, s.error_kind.clone()))
        .collect();
    // Newest first; the two sends at the same time by id, newest id first.
    assert_eq!(
        seen,
        vec![
            (
                DigestTrigger::Scheduled,
                Some(TransportKind::Outbox),
                4,
                None
            ),
            (DigestTrigger::TestEmail, Some(TransportKind::Smtp), 3, None),
            (
                DigestTrigger::SendNow,
                None,
                2,
                Some("unavailable".to_string())
            ),
            (
                DigestTrigger::Scheduled,
                Some(TransportKind::Gmail),
                1,
                None
            ),
        ]
    );
    assert_eq!(all[3].window_since, ts("2025-05-31T18:00:00Z"));
    assert_eq!(all[3].window_until, ts("2025-06-01T18:00:00Z"));
    assert_eq!(all[3].at, ts("2025-06-01T18:00:00Z"));
}

async fn capture_errors_are_paged_per_mailbox_and_an_unknown_mailbox_is_not_found(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    for (i, at) in [
        "2025-06-01T09:00:00Z",
        "2025-06-01T10:00:00Z",
        "2025-06-01T11:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        store
            .record_capture_error(
                team.ann_box,
                &format!("g{i}"),
                "message is malformed",
                ts(at),
            )
            .await
            .unwrap();
    }
    // A message that fails again keeps one row, counted, with the new time.
    store
        .record_capture_error(
            team.ann_box,
            "g0",
            "message is too large (9 bytes)",
            ts("2025-06-01T12:00:00Z"),
        )
        .await
        .unwrap();
    store
        .record_capture_error(
            team.bob_box,
            "b0",
            "message is malformed",
            ts("2025-06-01T09:30:00Z"),
        )
        .await
        .unwrap();

    let (sizes, ann) = walk(2, |page| store.capture_errors(team.ann_box, page)).await;
    let (_, cat) = walk(2, |page| store.capture_errors(team.cat_box, page)).await;
    let unknown = store
        .capture_errors(AccountId(9999), PageRequest::first(10))
        .await;

    assert_eq!(sizes, vec![2, 1]);
    let seen: Vec<_> = ann
        .iter()
        .map(|e| (e.gmail_message_id.as_str(), e.error.as_str(), e.occurrences))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("g0", "message is too large (9 bytes)", 2),
            ("g2", "message is malformed", 1),
            ("g1", "message is malformed", 1),
        ]
    );
    assert_eq!(ann[0].at, ts("2025-06-01T12:00:00Z"));
    assert!(cat.is_empty());
    assert!(
        matches!(unknown, Err(StoreError::NotFound(_))),
        "{unknown:?}"
    );
}

async fn drafts_page_newest_first_and_filter_by_creator(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let msg = Msg::new(
        "m1@acme.com",
        "lee@acme.com",
        &["ann@fund.com", "bob@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .link(ACME, Some(LEE), "lee@acme.com");
    let email_id = store
        .capture(msg.seen_by(team.ann_box, "a1", false))
        .await
        .unwrap()
        .email_id;
    store
        .capture(msg.seen_by(team.bob_box, "b1", false))
        .await
        .unwrap();
    let drafts = [
        (&team.ann, team.ann_box, "d1", false, "2025-06-02T10:00:00Z"),
        (&team.bob, team.bob_box, "d2", true, "2025-06-02T11:00:00Z"),
        (&team.ann, team.ann_box, "d3", true, "2025-06-02T12:00:00Z"),
    ];
    for (user, account, draft_id, reply_all, at) in drafts {
        store
            .record_draft(DraftRecord {
                email_id,
                account_id: account,
                created_by: user.id,
                gmail_draft_id: draft_id.into(),
                thread_id: format!("gmail-thread-{draft_id}"),
                gmail_message_id: None,
                reply_all,
                to: vec![addr("lee@acme.com")],
                cc: vec![],
                subject: "Re: About m1@acme.com".into(),
                created_at: ts(at),
            })
            .await
            .unwrap();
    }

    let (sizes, all) = walk(2, |page| store.list_drafts(None, page)).await;
    let (_, anns) = walk(2, |page| store.list_drafts(Some(team.ann.id), page)).await;
    let (_, cats) = walk(2, |page| store.list_drafts(Some(team.cat.id), page)).await;

    assert_eq!(sizes, vec![2, 1]);
    let seen: Vec<_> = all
        .iter()
        .map(|d| {
            (
                d.gmail_draft_id.as_str(),
                d.user_email.as_str().to_string(),
                d.account_id,
                d.reply_all,
                d.thread_id.clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "d3",
                "ann@fund.com".to_string(),
                team.ann_box,
                true,
                Some("gmail-thread-d3".to_string())
            ),
            (
                "d2",
                "bob@fund.com".to_string(),
                team.bob_box,
                true,
                Some("gmail-thread-d2".to_string())
            ),
            (
                "d1",
                "ann@fund.com".to_string(),
                team.ann_box,
                false,
                Some("gmail-thread-d1".to_string())
            ),
        ]
    );
    assert_eq!(all[0].email_id, email_id);
    assert_eq!(all[0].user_id, team.ann.id);
    assert_eq!(all[0].created_at, ts("2025-06-02T12:00:00Z"));
    assert_eq!(
        anns.iter()
            .map(|d| d.gmail_draft_id.as_str())
            .collect::<Vec<_>>(),
        vec!["d3", "d1"]
    );
    assert!(cats.is_empty());
}

async fn proposal_pages_keep_the_status_and_visibility_filters(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    // Five matched emails in Ann's mailbox, the two oldest also in Bob's;
    // two share a send time.
    let times = [
        "2025-06-01T09:00:00Z",
        "2025-06-01T10:00:00Z",
        "2025-06-01T11:00:00Z",
        "2025-06-01T11:00:00Z",
        "2025-06-01T12:00:00Z",
    ];
    let mut emails = Vec::new();
    for (i, at) in times.iter().enumerate() {
        let msg = Msg::new(
            &format!("m{i}@acme.com"),
            "lee@acme.com",
            &["ann@fund.com"],
            at,
        )
        .subject(&format!("m{i}"))
        .link(ACME, Some(LEE), "lee@acme.com");
        emails.push(
            store
                .capture(msg.seen_by(team.ann_box, &format!("a{i}"), false))
                .await
                .unwrap()
                .email_id,
        );
        if i < 2 {
            store
                .capture(msg.seen_by(team.bob_box, &format!("b{i}"), false))
                .await
                .unwrap();
        }
    }
    let all = store.list_proposals(None, None).await.unwrap();
    let first = all.iter().find(|p| p.email_id == emails[0]).unwrap().id;
    store
        .apply_decision(
            first,
            mailroom_ports::records::Decision::Reject,
            team.ann.id,
            ts("2025-06-02T00:00:00Z"),
        )
        .await
        .unwrap();
    let store = &store;
    let query = |status, visible_to| {
        move |page| {
            store.proposal_page(ProposalQuery {
                status,
                visible_to,
                page,
            })
        }
    };

    let (sizes, everything) = walk(2, query(None, None)).await;
    let (_, pending) = walk(2, query(Some(ProposalStatus::Pending), None)).await;
    let (_, bobs) = walk(1, query(None, Some(team.bob.id))).await;
    let (_, cats) = walk(1, query(None, Some(team.cat.id))).await;

    assert_eq!(sizes, vec![2, 2, 1]);
    let subjects = |list: &[mailroom_ports::records::Proposal]| {
        list.iter()
            .map(|p| p.subject.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    // Ties on the send time go by proposal id, newest first.
    assert_eq!(subjects(&everything), vec!["m4", "m3", "m2", "m1", "m0"]);
    assert_eq!(subjects(&pending), vec!["m4", "m3", "m2", "m1"]);
    assert_eq!(subjects(&bobs), vec!["m1", "m0"]);
    assert_eq!(bobs[1].status, ProposalStatus::Rejected);
    assert_eq!(bobs[0].owner_user_ids, vec![team.ann.id, team.bob.id]);
    assert!(cats.is_empty());
}

async fn a_zero_limit_is_an_empty_page(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    store
        .record_capture_error(
            team.ann_box,
            "g1",
            "message is malformed",
            ts("2025-06-01T09:00:00Z"),
        )
        .await
        .unwrap();

    let page = store
        .capture_errors(team.ann_box, PageRequest::first(0))
        .await
        .unwrap();

    assert!(page.items.is_empty());
    assert_eq!(page.next, None);
}
