//! The email-activity search in the store: matched-only, live-only,
//! graveyard handling, email-level direction, free text and keyset
//! pagination, on SQLite and PostgreSQL.

use mailroom_adapters::store::SeaStore;
use mailroom_ports::records::{ActivityQuery, Direction};
use mailroom_ports::{EmailId, InvestorId, Store};
use mailroom_tests::db::TestDb;
use mailroom_tests::db::seed::{self, ACME, BETA, LEE, Msg, OLD, OLGA, ts};
use mailroom_tests::on_both_databases;

on_both_databases!(
    only_email_linked_to_an_investor_is_listed,
    email_is_hidden_only_when_no_live_sighting_remains,
    graveyard_investor_is_hidden_from_the_dropdown_but_its_email_is_found_by_q,
    direction_is_decided_at_the_email_level,
    keyset_pagination_walks_newest_first_without_gaps_or_repeats,
    investor_and_mailbox_filters_narrow_the_list,
    free_text_is_case_insensitive_and_literal,
);

fn query() -> ActivityQuery {
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

fn subjects(page: &mailroom_ports::records::ActivityPage) -> Vec<String> {
    page.items
        .iter()
        .map(|i| i.subject.clone().unwrap_or_default())
        .collect()
}

async fn only_email_linked_to_an_investor_is_listed(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let cold = Msg::new(
        "cold@x.com",
        "stranger@x.com",
        &["ann@fund.com"],
        "2025-06-01T09:00:00Z",
    );
    let warm = Msg::new(
        "warm@acme.com",
        "lee@acme.com",
        &["ann@fund.com"],
        "2025-06-01T08:00:00Z",
    )
    .subject("Warm")
    .link(ACME, Some(LEE), "lee@acme.com");
    store
        .capture(cold.seen_by(team.ann_box, "g1", false))
        .await
        .unwrap();
    store
        .capture(warm.seen_by(team.ann_box, "g2", false))
        .await
        .unwrap();

    let page = store.query_activity(query()).await.unwrap();

    assert_eq!(subjects(&page), vec!["Warm"]);
    assert_eq!(page.next_cursor, None);
    let item = &page.items[0];
    assert_eq!(
        item.investors.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![ACME]
    );
    assert_eq!(item.from_email, Some(seed::addr("lee@acme.com")));
    assert_eq!(item.to, vec![seed::addr("ann@fund.com")]);
    assert_eq!(item.snippet.as_deref(), Some("snippet of Warm"));
    assert_eq!(item.sent_at, ts("2025-06-01T08:00:00Z"));
}

async fn email_is_hidden_only_when_no_live_sighting_remains(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let msg = Msg::new(
        "m1@acme.com",
        "lee@acme.com",
        &["ann@fund.com", "bob@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .link(ACME, Some(LEE), "lee@acme.com");
    store
        .capture(msg.seen_by(team.ann_box, "a1", false))
        .await
        .unwrap();
    store
        .capture(msg.seen_by(team.bob_box, "b1", false))
        .await
        .unwrap();
    let at = ts("2025-06-02T00:00:00Z");

    store
        .soft_delete_sighting(team.ann_box, "a1", at)
        .await
        .unwrap();
    let page = store.query_activity(query()).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let boxes: Vec<_> = page.items[0]
        .mailboxes
        .iter()
        .map(|m| m.account_id)
        .collect();
    assert_eq!(boxes, vec![team.bob_box]);
    // The deleted mailbox no longer finds it through the mailbox filter.
    let ann_only = store
        .query_activity(ActivityQuery {
            account_id: Some(team.ann_box),
            ..query()
        })
        .await
        .unwrap();
    assert!(ann_only.items.is_empty());

    store
        .soft_delete_sighting(team.bob_box, "b1", at)
        .await
        .unwrap();
    assert!(
        store
            .query_activity(query())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

async fn graveyard_investor_is_hidden_from_the_dropdown_but_its_email_is_found_by_q(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let msg = Msg::new(
        "old@old.com",
        "olga@old.com",
        &["ann@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .subject("Fund III wind-down")
    .link(OLD, Some(OLGA), "olga@old.com");
    store
        .capture(msg.seen_by(team.ann_box, "g1", false))
        .await
        .unwrap();

    let dropdown = store.dropdown_investors().await.unwrap();
    let listed = store.query_activity(query()).await.unwrap();
    let found = store
        .query_activity(ActivityQuery {
            q: Some("wind-down".into()),
            ..query()
        })
        .await
        .unwrap();
    let by_investor = store
        .query_activity(ActivityQuery {
            investor_id: Some(OLD),
            ..query()
        })
        .await
        .unwrap();

    assert!(dropdown.iter().all(|i| i.id != OLD));
    assert_eq!(subjects(&listed), vec!["Fund III wind-down"]);
    assert_eq!(subjects(&found), vec!["Fund III wind-down"]);
    assert_eq!(subjects(&by_investor), vec!["Fund III wind-down"]);
    let investor = &found.items[0].investors[0];
    assert_eq!(
        (investor.id, investor.name.as_str(), investor.graveyard),
        (OLD, "Old LP", true)
    );
}

async fn direction_is_decided_at_the_email_level(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    // Ann writes to Lee, cc Bob: outbound, even in Bob's inbox (is_sent false there).
    let ours = Msg::new(
        "out@fund.com",
        "ann@fund.com",
        &["lee@acme.com", "bob@fund.com"],
        "2025-06-01T10:00:00Z",
    )
    .subject("Ours")
    .link(ACME, Some(LEE), "lee@acme.com");
    store
        .capture(ours.seen_by(team.ann_box, "a1", true))
        .await
        .unwrap();
    store
        .capture(ours.seen_by(team.bob_box, "b1", false))
        .await
        .unwrap();
    // Lee writes to Ann: inbound.
    let theirs = Msg::new(
        "in@acme.com",
        "lee@acme.com",
        &["ann@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .subject("Theirs")
    .link(ACME, Some(LEE), "lee@acme.com");
    store
        .capture(theirs.seen_by(team.ann_box, "a2", false))
        .await
        .unwrap();
    // Cat's mailbox is disabled, yet her address is still ours.
    store
        .set_account_enabled(team.cat_box, false)
        .await
        .unwrap();
    let cats = Msg::new(
        "cat@fund.com-1",
        "cat@fund.com",
        &["lee@acme.com"],
        "2025-06-01T08:00:00Z",
    )
    .subject("Cat's")
    .link(ACME, Some(LEE), "lee@acme.com");
    store
        .capture(cats.seen_by(team.bob_box, "b2", false))
        .await
        .unwrap();

    check_direction(
        &store,
        None,
        vec![
            ("Ours", Direction::Outbound),
            ("Theirs", Direction::Inbound),
            ("Cat's", Direction::Outbound),
        ],
    )
    .await;
    check_direction(
        &store,
        Some(Direction::Outbound),
        vec![
            ("Ours", Direction::Outbound),
            ("Cat's", Direction::Outbound),
        ],
    )
    .await;
    check_direction(
        &store,
        Some(Direction::Inbound),
        vec![("Theirs", Direction::Inbound)],
    )
    .await;
    let page = store.query_activity(query()).await.unwrap();
    let sent: Vec<bool> = page.items[0].mailboxes.iter().map(|m| m.is_sent).collect();
    assert_eq!(sent, vec![true, false]);
}

async fn keyset_pagination_walks_newest_first_without_gaps_or_repeats(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    // Two pairs share a sent_at, so ties are broken by id.
    let times = [
        "2025-06-01T09:00:00Z",
        "2025-06-01T10:00:00Z",
        "2025-06-01T10:00:00Z",
        "2025-06-01T11:00:00.250Z",
        "2025-06-01T11:00:00.250Z",
        "2025-06-01T12:00:00Z",
        "2025-06-01T08:59:59.999999Z",
    ];
    let mut ids = Vec::new();
    for (i, at) in times.iter().enumerate() {
        let msg = Msg::new(
            &format!("m{i}@acme.com"),
            "lee@acme.com",
            &["ann@fund.com"],
            at,
        )
        .link(ACME, Some(LEE), "lee@acme.com");
        ids.push((
            ts(at),
            store
                .capture(msg.seen_by(team.ann_box, &format!("g{i}"), false))
                .await
                .unwrap()
                .email_id,
        ));
    }
    let mut expected = ids.clone();
    expected.sort_by(|a, b| b.cmp(a));
    let expected: Vec<EmailId> = expected.into_iter().map(|(_, id)| id).collect();

    let mut walked = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = store
            .query_activity(ActivityQuery {
                limit: 2,
                cursor,
                ..query()
            })
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= 2);
        walked.extend(page.items.iter().map(|i| i.email_id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages < 10, "pagination does not terminate");
    }

    assert_eq!(walked, expected);
    assert_eq!(pages, 4);
    let empty = store
        .query_activity(ActivityQuery {
            limit: 0,
            ..query()
        })
        .await
        .unwrap();
    assert!(empty.items.is_empty() && empty.next_cursor.is_none());
}

async fn investor_and_mailbox_filters_narrow_the_list(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let acme = Msg::new(
        "a@acme.com",
        "lee@acme.com",
        &["ann@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .subject("Acme")
    .link(ACME, Some(LEE), "lee@acme.com");
    let beta = Msg::new(
        "b@beta.vc",
        "x@beta.vc",
        &["bob@fund.com"],
        "2025-06-01T08:00:00Z",
    )
    .subject("Beta")
    .link(BETA, None, "x@beta.vc");
    store
        .capture(acme.seen_by(team.ann_box, "a1", false))
        .await
        .unwrap();
    store
        .capture(beta.seen_by(team.bob_box, "b1", false))
        .await
        .unwrap();

    let by_beta = store
        .query_activity(ActivityQuery {
            investor_id: Some(BETA),
            ..query()
        })
        .await
        .unwrap();
    let by_ann = store
        .query_activity(ActivityQuery {
            account_id: Some(team.ann_box),
            ..query()
        })
        .await
        .unwrap();
    let nobody = store
        .query_activity(ActivityQuery {
            investor_id: Some(InvestorId(77)),
            ..query()
        })
        .await
        .unwrap();
    let both = store
        .query_activity(ActivityQuery {
            investor_id: Some(ACME),
            account_id: Some(team.bob_box),
            ..query()
        })
        .await
        .unwrap();

    assert_eq!(subjects(&by_beta), vec!["Beta"]);
    assert_eq!(subjects(&by_ann), vec!["Acme"]);
    assert!(nobody.items.is_empty());
    assert!(both.items.is_empty());
}

async fn free_text_is_case_insensitive_and_literal(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let q3 = Msg::new(
        "q3@acme.com",
        "lee@acme.com",
        &["ann@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .subject("Q3 Update: 100% deployed")
    .link(ACME, Some(LEE), "lee@acme.com");
    let other = Msg::new(
        "other@beta.vc",
        "max_power@beta.vc",
        &["ann@fund.com"],
        "2025-06-01T08:00:00Z",
    )
    .subject("Hello")
    .link(BETA, None, "max_power@beta.vc");
    store
        .capture(q3.seen_by(team.ann_box, "g1", false))
        .await
        .unwrap();
    store
        .capture(other.seen_by(team.ann_box, "g2", false))
        .await
        .unwrap();

    check_q(&store, "q3 update", vec!["Q3 Update: 100% deployed"]).await;
    check_q(&store, "DEPLOYED", vec!["Q3 Update: 100% deployed"]).await;
    check_q(&store, "100%", vec!["Q3 Update: 100% deployed"]).await;
    check_q(&store, "0%d", vec![]).await;
    check_q(&store, "max_power", vec!["Hello"]).await;
    check_q(&store, "l_e", vec![]).await;
    check_q(&store, "sender of other", vec!["Hello"]).await;
    check_q(&store, "SNIPPET OF HELLO", vec!["Hello"]).await;
    check_q(&store, "lee@ACME", vec!["Q3 Update: 100% deployed"]).await;
    check_q(&store, "   ", vec!["Q3 Update: 100% deployed", "Hello"]).await;
}

async fn check_direction(
    store: &SeaStore,
    direction: Option<Direction>,
    expected: Vec<(&str, Direction)>,
) {
    let page = store
        .query_activity(ActivityQuery {
            direction,
            ..query()
        })
        .await
        .unwrap();
    let got: Vec<(String, Direction)> = page
        .items
        .iter()
        .map(|i| (i.subject.clone().unwrap_or_default(), i.direction))
        .collect();
    let expected: Vec<(String, Direction)> = expected
        .into_iter()
        .map(|(s, d)| (s.to_string(), d))
        .collect();
    assert_eq!(got, expected, "direction filter {direction:?}");
}

async fn check_q(store: &SeaStore, q: &str, expected: Vec<&str>) {
    let page = store
        .query_activity(ActivityQuery {
            q: Some(q.to_string()),
            ..query()
        })
        .await
        .unwrap();
    assert_eq!(subjects(&page), expected, "q = {q:?}");
}
