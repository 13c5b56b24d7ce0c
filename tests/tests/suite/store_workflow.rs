//! Proposals, decisions and draft bookkeeping in the store (R-CAP-7,
//! R-HARD-3), on SQLite and PostgreSQL.

use sea_orm::{ConnectionTrait, Statement};

use mailroom_adapters::store::SeaStore;
use mailroom_ports::records::{Decision, Direction, DraftRecord, ProposalStatus};
use mailroom_ports::{ProposalId, Store, StoreError};
use mailroom_tests::db::TestDb;
use mailroom_tests::db::seed::{self, ACME, LEE, Msg, Team, addr, ts};
use mailroom_tests::on_both_databases;

on_both_databases!(
    approving_twice_creates_one_activity_and_the_second_is_a_conflict,
    rejecting_creates_nothing_and_blocks_a_later_approval,
    deciding_an_unknown_proposal_is_not_found,
    concurrent_approvals_create_exactly_one_activity,
    proposals_are_visible_to_owners_of_a_live_sighting,
    reply_source_lists_live_sightings_and_drafts_are_recorded,
);

async fn activities(store: &SeaStore) -> i64 {
    let conn = store.connection();
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) FROM activities",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// One pending proposal on an inbound email from Lee seen by Ann and Bob.
async fn one_proposal(store: &SeaStore) -> (Team, ProposalId) {
    let team = seed::team(store).await;
    let msg = Msg::new(
        "m1@acme.com",
        "lee@acme.com",
        &["ann@fund.com", "bob@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .subject("Intro")
    .link(ACME, Some(LEE), "lee@acme.com");
    store
        .capture(msg.seen_by(team.ann_box, "a1", false))
        .await
        .unwrap();
    store
        .capture(msg.seen_by(team.bob_box, "b1", false))
        .await
        .unwrap();
    let proposals = store
        .list_proposals(Some(ProposalStatus::Pending), None)
        .await
        .unwrap();
    assert_eq!(proposals.len(), 1);
    (team, proposals[0].id)
}

async fn approving_twice_creates_one_activity_and_the_second_is_a_conflict(db: &TestDb) {
    let store = db.store().await;
    let (team, id) = one_proposal(&store).await;
    let at = ts("2025-06-02T10:00:00Z");

    let activity = store
        .apply_decision(id, Decision::Approve, team.ann.id, at)
        .await
        .unwrap();
    let again = store
        .apply_decision(id, Decision::Approve, team.ann.id, at)
        .await;

    assert!(activity.is_some());
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(activities(&store).await, 1);
    let proposal = store.get_proposal(id).await.unwrap();
    assert_eq!(proposal.status, ProposalStatus::Approved);
    assert_eq!(proposal.activity_id, activity);
    assert_eq!(proposal.decided_by, Some(team.ann.id));
    assert_eq!(proposal.decided_at, Some(at));
    assert_eq!(proposal.investor_name.as_deref(), Some("Acme Capital"));
    assert_eq!(proposal.subject.as_deref(), Some("Intro"));
    assert_eq!(proposal.direction, Direction::Inbound);
    assert!(
        store
            .list_proposals(Some(ProposalStatus::Pending), None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .list_proposals(Some(ProposalStatus::Approved), None)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn rejecting_creates_nothing_and_blocks_a_later_approval(db: &TestDb) {
    let store = db.store().await;
    let (team, id) = one_proposal(&store).await;
    let at = ts("2025-06-02T10:00:00Z");

    let rejected = store
        .apply_decision(id, Decision::Reject, team.bob.id, at)
        .await
        .unwrap();
    let approve = store
        .apply_decision(id, Decision::Approve, team.ann.id, at)
        .await;

    assert_eq!(rejected, None);
    assert!(
        matches!(approve, Err(StoreError::Conflict(_))),
        "{approve:?}"
    );
    assert_eq!(activities(&store).await, 0);
    let proposal = store.get_proposal(id).await.unwrap();
    assert_eq!(
        (proposal.status, proposal.activity_id, proposal.decided_by),
        (ProposalStatus::Rejected, None, Some(team.bob.id))
    );
}

async fn deciding_an_unknown_proposal_is_not_found(db: &TestDb) {
    let store = db.store().await;
    let (team, _) = one_proposal(&store).await;

    let decided = store
        .apply_decision(
            ProposalId(9999),
            Decision::Approve,
            team.ann.id,
            ts("2025-06-02T10:00:00Z"),
        )
        .await;
    let fetched = store.get_proposal(ProposalId(9999)).await;

    assert!(
        matches!(decided, Err(StoreError::NotFound(_))),
        "{decided:?}"
    );
    assert!(
        matches!(fetched, Err(StoreError::NotFound(_))),
        "{fetched:?}"
    );
}

async fn concurrent_approvals_create_exactly_one_activity(db: &TestDb) {
    let seeded = db.store().await;
    let (team, id) = one_proposal(&seeded).await;
    let (one, two) = (db.store().await, db.store().await);
    let at = ts("2025-06-02T10:00:00Z");

    let (a, b) = tokio::join!(
        one.apply_decision(id, Decision::Approve, team.ann.id, at),
        two.apply_decision(id, Decision::Approve, team.bob.id, at),
    );

    let outcomes = [a, b];
    let won = outcomes.iter().filter(|o| matches!(o, Ok(Some(_)))).count();
    let conflicted = outcomes
        .iter()
        .filter(|o| matches!(o, Err(StoreError::Conflict(_))))
        .count();
    assert_eq!(
        (won, conflicted),
        (1, 1),
        "{outcomes:?} on {}",
        db.backend()
    );
    assert_eq!(activities(&seeded).await, 1);
}

async fn proposals_are_visible_to_owners_of_a_live_sighting(db: &TestDb) {
    let store = db.store().await;
    let (team, id) = one_proposal(&store).await;
    let only_ann = Msg::new(
        "m2@acme.com",
        "ann@fund.com",
        &["lee@acme.com"],
        "2025-06-01T11:00:00Z",
    )
    .subject("Reply")
    .link(ACME, Some(LEE), "lee@acme.com");
    store
        .capture(only_ann.seen_by(team.ann_box, "a2", true))
        .await
        .unwrap();

    let for_ann = store.list_proposals(None, Some(team.ann.id)).await.unwrap();
    let for_bob = store.list_proposals(None, Some(team.bob.id)).await.unwrap();
    let for_cat = store.list_proposals(None, Some(team.cat.id)).await.unwrap();

    // Newest email first; the outbound reply only in Ann's mailbox.
    let ann_subjects: Vec<_> = for_ann
        .iter()
        .map(|p| (p.subject.clone().unwrap(), p.direction))
        .collect();
    assert_eq!(
        ann_subjects,
        vec![
            ("Reply".to_string(), Direction::Outbound),
            ("Intro".to_string(), Direction::Inbound)
        ]
    );
    assert_eq!(for_bob.iter().map(|p| p.id).collect::<Vec<_>>(), vec![id]);
    assert!(for_cat.is_empty());

    // Bob deletes his copy: the proposal is no longer his to see.
    store
        .soft_delete_sighting(team.bob_box, "b1", ts("2025-06-02T00:00:00Z"))
        .await
        .unwrap();
    assert!(
        store
            .list_proposals(None, Some(team.bob.id))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.get_proposal(id).await.unwrap().owner_user_ids,
        vec![team.ann.id]
    );
}

async fn reply_source_lists_live_sightings_and_drafts_are_recorded(db: &TestDb) {
    let store = db.store().await;
    let (team, id) = one_proposal(&store).await;
    let email_id = store.get_proposal(id).await.unwrap().email_id;
    store
        .soft_delete_sighting(team.bob_box, "b1", ts("2025-06-02T00:00:00Z"))
        .await
        .unwrap();

    let source = store.reply_source(email_id).await.unwrap();

    assert_eq!(source.subject.as_deref(), Some("Intro"));
    assert_eq!(source.header.dedup_key, "m1@acme.com");
    assert_eq!(
        source.header.to,
        vec![addr("ann@fund.com"), addr("bob@fund.com")]
    );
    assert_eq!(source.sightings.len(), 1);
    assert_eq!(source.sightings[0].account_id, team.ann_box);
    assert_eq!(source.sightings[0].user_id, team.ann.id);
    assert_eq!(source.sightings[0].gmail_thread_id, "thread-m1@acme.com");
    let missing = store.reply_source(mailroom_ports::EmailId(9999)).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );

    let draft = DraftRecord {
        email_id,
        account_id: team.ann_box,
        created_by: team.ann.id,
        gmail_draft_id: "r-123".into(),
        thread_id: "thread-m1@acme.com".into(),
        gmail_message_id: None,
        reply_all: false,
        to: vec![addr("lee@acme.com")],
        cc: vec![],
        subject: "Re: Intro".into(),
        created_at: ts("2025-06-02T10:00:00Z"),
    };
    store.record_draft(draft).await.unwrap();
    let conn = store.connection();
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT gmail_draft_id, to_json FROM drafts",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.try_get::<String>("", "gmail_draft_id").unwrap(),
        "r-123"
    );
    assert_eq!(
        row.try_get::<String>("", "to_json").unwrap(),
        r#"["lee@acme.com"]"#
    );
}
