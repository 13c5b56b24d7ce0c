//! Capture in the store: dedup across mailboxes, idempotent recapture,
//! soft delete and revival, match-only content, and proposals (R-CAP-5/6/7),
//! on SQLite and PostgreSQL.

use jiff::ToSpan;
use sea_orm::{ConnectionTrait, Statement};

use mailroom_adapters::store::SeaStore;
use mailroom_ports::records::{ActivityQuery, CaptureOutcome, ProposalStatus};
use mailroom_ports::{AccountId, Store, StoreError};
use mailroom_tests::db::TestDb;
use mailroom_tests::db::seed::{self, ACME, LEE, MAX, Msg, OLD, OLGA, ts};
use mailroom_tests::on_both_databases;

on_both_databases!(
    same_message_in_two_mailboxes_is_one_email_with_two_sightings,
    recapturing_a_message_changes_nothing,
    soft_deleted_sighting_seen_again_is_live_again,
    each_newly_linked_email_and_investor_gets_one_proposal,
    unmatched_email_keeps_no_content_until_a_matched_capture,
    known_gmail_ids_include_deleted_sightings,
    capture_errors_keep_the_latest_per_message,
    capture_linking_an_unknown_investor_is_invalid_and_stores_nothing,
    a_batch_stores_what_captures_one_by_one_would,
    a_batch_with_one_bad_capture_stores_nothing,
    a_batch_larger_than_one_statement_keeps_the_one_by_one_outcomes,
);

async fn count(store: &SeaStore, sql: &str) -> i64 {
    let conn = store.connection();
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

fn everything() -> ActivityQuery {
    ActivityQuery {
        investor_id: None,
        account_id: None,
        direction: None,
        q: None,
        limit: 50,
        cursor: None,
        since: None,
        until: None,
    }
}

async fn same_message_in_two_mailboxes_is_one_email_with_two_sightings(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let msg = Msg::new(
        "m1@acme.com",
        "lee@acme.com",
        &["ann@fund.com", "bob@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .link(ACME, Some(LEE), "lee@acme.com");

    let in_ann = store
        .capture(msg.seen_by(team.ann_box, "g-ann-1", false))
        .await
        .unwrap();
    let in_bob = store
        .capture(msg.seen_by(team.bob_box, "g-bob-7", false))
        .await
        .unwrap();

    assert_eq!(
        in_ann,
        CaptureOutcome {
            email_id: in_ann.email_id,
            new_email: true,
            new_sighting: true,
            proposals_created: 1
        }
    );
    assert_eq!(
        in_bob,
        CaptureOutcome {
            email_id: in_ann.email_id,
            new_email: false,
            new_sighting: true,
            proposals_created: 0
        }
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM emails").await, 1);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM email_account_messages").await,
        2
    );
    let page = store.query_activity(everything()).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let boxes: Vec<AccountId> = page.items[0]
        .mailboxes
        .iter()
        .map(|m| m.account_id)
        .collect();
    assert_eq!(boxes, vec![team.ann_box, team.bob_box]);
    assert_eq!(
        store.get_account(team.bob_box).await.unwrap().message_count,
        1
    );
}

async fn recapturing_a_message_changes_nothing(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let msg = Msg::new(
        "m1@acme.com",
        "lee@acme.com",
        &["ann@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .link(ACME, Some(LEE), "lee@acme.com")
    .link(ACME, None, "lee@acme.com");
    let first = store
        .capture(msg.seen_by(team.ann_box, "g1", false))
        .await
        .unwrap();
    let page_before = store.query_activity(everything()).await.unwrap();
    let proposals_before = store.list_proposals(None, None).await.unwrap();

    // Even a recapture whose content differs leaves the stored row alone.
    let again = store
        .capture(
            msg.clone()
                .subject("Changed")
                .seen_by(team.ann_box, "g1", false),
        )
        .await
        .unwrap();

    assert_eq!(
        again,
        CaptureOutcome {
            email_id: first.email_id,
            new_email: false,
            new_sighting: false,
            proposals_created: 0
        }
    );
    assert_eq!(
        store.query_activity(everything()).await.unwrap(),
        page_before
    );
    assert_eq!(
        store.list_proposals(None, None).await.unwrap(),
        proposals_before
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM emails").await, 1);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM email_account_messages").await,
        1
    );
    // The link with a contact and the one without are distinct, and each is stored once.
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM email_investor_links").await,
        2
    );
}

async fn soft_deleted_sighting_seen_again_is_live_again(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let msg = Msg::new(
        "m1@acme.com",
        "lee@acme.com",
        &["ann@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .link(ACME, Some(LEE), "lee@acme.com");
    store
        .capture(msg.seen_by(team.ann_box, "g1", false))
        .await
        .unwrap();
    let at = ts("2025-06-02T00:00:00Z");

    assert!(
        store
            .soft_delete_sighting(team.ann_box, "g1", at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .soft_delete_sighting(team.ann_box, "g1", at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .soft_delete_sighting(team.ann_box, "never-seen", at)
            .await
            .unwrap()
    );
    assert!(
        store
            .query_activity(everything())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        store.get_account(team.ann_box).await.unwrap().message_count,
        0
    );

    let back = store
        .capture(msg.seen_by(team.ann_box, "g1", false))
        .await
        .unwrap();

    assert!(!back.new_email && !back.new_sighting);
    assert_eq!(back.proposals_created, 0);
    assert_eq!(
        store
            .query_activity(everything())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        store.get_account(team.ann_box).await.unwrap().message_count,
        1
    );
}

async fn each_newly_linked_email_and_investor_gets_one_proposal(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    // Two Acme contacts and a graveyard investor's contact on one email.
    let msg = Msg::new(
        "m1@acme.com",
        "lee@acme.com",
        &["max@acme.com", "olga@old.com", "ann@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .link(ACME, Some(LEE), "lee@acme.com")
    .link(ACME, Some(MAX), "max@acme.com")
    .link(OLD, Some(OLGA), "olga@old.com");

    let first = store
        .capture(msg.seen_by(team.ann_box, "g1", false))
        .await
        .unwrap();
    let second = store
        .capture(msg.seen_by(team.bob_box, "g2", false))
        .await
        .unwrap();

    assert_eq!(first.proposals_created, 2);
    assert_eq!(second.proposals_created, 0);
    let proposals = store
        .list_proposals(Some(ProposalStatus::Pending), None)
        .await
        .unwrap();
    let mut pairs: Vec<_> = proposals
        .iter()
        .map(|p| (p.investor_id, p.contact_id))
        .collect();
    pairs.sort();
    assert_eq!(pairs, vec![(ACME, Some(LEE)), (OLD, Some(OLGA))]);
    assert!(
        proposals
            .iter()
            .all(|p| p.owner_user_ids == vec![team.ann.id, team.bob.id])
    );

    // A later capture that links a new investor to the same email proposes only it.
    let with_beta = msg.clone().link(seed::BETA, None, "someone@beta.vc");
    let third = store
        .capture(with_beta.seen_by(team.cat_box, "g3", false))
        .await
        .unwrap();
    assert_eq!(third.proposals_created, 1);
    assert_eq!(store.list_proposals(None, None).await.unwrap().len(), 3);
}

async fn unmatched_email_keeps_no_content_until_a_matched_capture(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let cold = Msg::new(
        "cold@x.com",
        "stranger@x.com",
        &["ann@fund.com"],
        "2025-06-01T09:00:00Z",
    );
    let mut request = cold.seen_by(team.ann_box, "g1", false);
    // Even if a caller passed content for unmatched mail, none is stored (R-CAP-5).
    request.content = Some(mailroom_ports::records::EmailContent {
        subject: Some("secret".into()),
        snippet: Some("secret".into()),
        body: Some("secret".into()),
        attachments: Vec::new(),
    });
    let outcome = store.capture(request).await.unwrap();

    let source = store.reply_source(outcome.email_id).await.unwrap();
    assert_eq!(source.subject, None);
    assert_eq!(source.header.from_email, Some(seed::addr("stranger@x.com")));
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM emails WHERE body IS NOT NULL OR snippet IS NOT NULL"
        )
        .await,
        0
    );
    assert!(
        store
            .query_activity(everything())
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // Matched later (say the directory grew): the content arrives with the link.
    let matched = cold
        .clone()
        .subject("Now matched")
        .link(ACME, None, "stranger@x.com");
    store
        .capture(matched.seen_by(team.bob_box, "g2", false))
        .await
        .unwrap();
    let source = store.reply_source(outcome.email_id).await.unwrap();
    assert_eq!(source.subject.as_deref(), Some("Now matched"));
    assert_eq!(
        store
            .query_activity(everything())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

async fn known_gmail_ids_include_deleted_sightings(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    for (i, gmail_id) in ["g1", "g2", "g3"].iter().enumerate() {
        let msg = Msg::new(
            &format!("m{i}@x.com"),
            "a@x.com",
            &["ann@fund.com"],
            "2025-06-01T09:00:00Z",
        );
        store
            .capture(msg.seen_by(team.ann_box, gmail_id, false))
            .await
            .unwrap();
    }
    store
        .soft_delete_sighting(team.ann_box, "g2", ts("2025-06-02T00:00:00Z"))
        .await
        .unwrap();
    let asked: Vec<String> = ["g1", "g2", "g4"].iter().map(|s| s.to_string()).collect();

    let mut known = store.known_gmail_ids(team.ann_box, &asked).await.unwrap();
    known.sort();

    assert_eq!(known, vec!["g1", "g2"]);
    assert_eq!(
        store.live_gmail_ids(team.ann_box).await.unwrap(),
        vec!["g1", "g3"],
        "live ids leave the soft-deleted sighting out"
    );
    assert!(store.live_gmail_ids(team.bob_box).await.unwrap().is_empty());
    assert!(
        store
            .known_gmail_ids(team.bob_box, &asked)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .known_gmail_ids(team.ann_box, &[])
            .await
            .unwrap()
            .is_empty()
    );
    // More ids than one IN list holds.
    let many: Vec<String> = (0..1200).map(|i| format!("g{i}")).collect();
    let mut known = store.known_gmail_ids(team.ann_box, &many).await.unwrap();
    known.sort();
    assert_eq!(known, vec!["g1", "g2", "g3"]);
}

async fn capture_errors_keep_the_latest_per_message(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let at = ts("2025-06-01T09:00:00Z");

    store
        .record_capture_error(team.ann_box, "g1", "malformed header", at)
        .await
        .unwrap();
    store
        .record_capture_error(team.ann_box, "g1", "still malformed", at + 1.hour())
        .await
        .unwrap();
    store
        .record_capture_error(team.ann_box, "g2", "malformed header", at)
        .await
        .unwrap();

    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM capture_errors").await,
        2
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM capture_errors WHERE error = 'still malformed' AND occurrences = 2").await,
        1
    );
}

async fn capture_linking_an_unknown_investor_is_invalid_and_stores_nothing(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let msg = Msg::new(
        "m1@x.com",
        "a@x.com",
        &["ann@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .link(mailroom_ports::InvestorId(404), None, "a@x.com");

    let err = store
        .capture(msg.seen_by(team.ann_box, "g1", false))
        .await
        .unwrap_err();

    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM emails").await, 0);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM email_account_messages").await,
        0
    );
}

async fn a_batch_stores_what_captures_one_by_one_would(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let matched = Msg::new(
        "m1@acme.com",
        "lee@acme.com",
        &["ann@fund.com", "bob@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .link(ACME, Some(LEE), "lee@acme.com");
    // "a-..." sorts before "m1@...": the batch writes it first, and the
    // outcomes still come back in the order given.
    let unmatched = Msg::new(
        "a-unmatched@x.com",
        "someone@x.com",
        &["ann@fund.com"],
        "2025-06-01T10:00:00Z",
    );

    let outcomes = store
        .capture_many(vec![
            matched.seen_by(team.ann_box, "g1", false),
            matched.seen_by(team.bob_box, "g2", false),
            unmatched.seen_by(team.ann_box, "g3", false),
            matched.seen_by(team.ann_box, "g1", false),
        ])
        .await
        .unwrap();

    let m1 = outcomes[0].email_id;
    let expected = |email_id, new_email, new_sighting, proposals_created| CaptureOutcome {
        email_id,
        new_email,
        new_sighting,
        proposals_created,
    };
    assert_eq!(outcomes.len(), 4);
    assert_eq!(outcomes[0], expected(m1, true, true, 1));
    assert_eq!(outcomes[1], expected(m1, false, true, 0));
    assert_ne!(outcomes[2].email_id, m1);
    assert_eq!(outcomes[2], expected(outcomes[2].email_id, true, true, 0));
    assert_eq!(outcomes[3], expected(m1, false, false, 0));
    assert_eq!(count(&store, "SELECT COUNT(*) FROM emails").await, 2);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM email_account_messages").await,
        3
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM activity_proposals").await,
        1
    );
    let page = store.query_activity(everything()).await.unwrap();
    assert_eq!(page.items.len(), 1, "only the matched email is activity");
    assert_eq!(store.capture_many(Vec::new()).await.unwrap(), Vec::new());
}

async fn a_batch_with_one_bad_capture_stores_nothing(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let good = Msg::new(
        "m1@acme.com",
        "lee@acme.com",
        &["ann@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .link(ACME, Some(LEE), "lee@acme.com");
    let bad = Msg::new(
        "m2@x.com",
        "a@x.com",
        &["ann@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .link(mailroom_ports::InvestorId(404), None, "a@x.com");

    let err = store
        .capture_many(vec![
            good.seen_by(team.ann_box, "g1", false),
            bad.seen_by(team.ann_box, "g2", false),
        ])
        .await
        .unwrap_err();

    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM emails").await, 0);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM activity_proposals").await,
        0
    );
}

/// A batch is written a few dozen rows per statement; one email seen under
/// 40 message ids spans two statements and is still one email, made by the
/// first request, with one proposal.
async fn a_batch_larger_than_one_statement_keeps_the_one_by_one_outcomes(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let matched = Msg::new(
        "m1@acme.com",
        "lee@acme.com",
        &["ann@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .link(ACME, Some(LEE), "lee@acme.com");
    let mut requests: Vec<_> = (0..40)
        .map(|n| matched.seen_by(team.ann_box, &format!("g{n}"), false))
        .collect();
    for n in 0..30 {
        let other = Msg::new(
            &format!("other{n}@x.com"),
            "someone@x.com",
            &["ann@fund.com"],
            "2025-06-02T09:00:00Z",
        );
        requests.insert(n * 2, other.seen_by(team.ann_box, &format!("o{n}"), false));
    }

    let outcomes = store.capture_many(requests.clone()).await.unwrap();

    assert_eq!(outcomes.len(), 70);
    let of_m1: Vec<&CaptureOutcome> = requests
        .iter()
        .zip(&outcomes)
        .filter(|(r, _)| r.gmail_message_id.starts_with('g'))
        .map(|(_, o)| o)
        .collect();
    assert_eq!(of_m1.len(), 40);
    assert!(
        of_m1[0].new_email && of_m1[0].proposals_created == 1,
        "{:?}",
        of_m1[0]
    );
    for later in &of_m1[1..] {
        assert_eq!(later.email_id, of_m1[0].email_id);
        assert!(
            !later.new_email && later.new_sighting && later.proposals_created == 0,
            "{later:?}"
        );
    }
    assert!(outcomes.iter().all(|o| o.new_sighting));
    assert_eq!(count(&store, "SELECT COUNT(*) FROM emails").await, 31);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM email_account_messages").await,
        70
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM activity_proposals").await,
        1
    );
    // The same batch again stores nothing new.
    let again = store.capture_many(requests).await.unwrap();
    assert!(
        again
            .iter()
            .all(|o| !o.new_email && !o.new_sighting && o.proposals_created == 0)
    );
}
