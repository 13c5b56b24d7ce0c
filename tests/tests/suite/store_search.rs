//! Free-text search and the stored facts the activity filters walk: word
//! prefixes without case or accents, hostile text, the index following
//! content and purges, direction after a mailbox is added, and the
//! since/until window, on SQLite and PostgreSQL.

use mailroom_ports::records::{ActivityPage, ActivityQuery, Direction};
use mailroom_ports::{Store, StoreError};
use mailroom_tests::db::TestDb;
use mailroom_tests::db::seed::{self, ACME, LEE, Msg, addr, ts};
use mailroom_tests::on_both_databases;
use sea_orm::ConnectionTrait;

on_both_databases!(
    search_matches_word_prefixes_without_case_or_accents,
    hostile_search_text_is_searched_or_refused_never_an_error,
    the_search_index_follows_stored_and_purged_content,
    a_mailbox_added_later_turns_its_earlier_mail_outbound,
    since_and_until_bound_every_filter,
);

fn query() -> ActivityQuery {
    ActivityQuery {
        limit: 50,
        ..ActivityQuery::default()
    }
}

fn subjects(page: &ActivityPage) -> Vec<String> {
    page.items
        .iter()
        .map(|i| i.subject.clone().unwrap_or_default())
        .collect()
}

async fn search(store: &impl Store, q: &str) -> Vec<String> {
    let page = store
        .query_activity(ActivityQuery {
            q: Some(q.to_string()),
            ..query()
        })
        .await
        .unwrap_or_else(|e| panic!("q = {q:?}: {e}"));
    subjects(&page)
}

async fn search_matches_word_prefixes_without_case_or_accents(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let msg = Msg::new(
        "cafe@acme.com",
        "lee@acme.com",
        &["ann@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .subject("Café Müller: Übernahme AND more")
    .link(ACME, Some(LEE), "lee@acme.com");
    store
        .capture(msg.seen_by(team.ann_box, "g1", false))
        .await
        .unwrap();

    let hit = vec!["Café Müller: Übernahme AND more".to_string()];
    for q in [
        "cafe", "CAFÉ", "caf", "muller", "MÜLL", "uber", "über", "and", "lee", "acme", "lee@acme",
    ] {
        assert_eq!(search(&store, q).await, hit, "q = {q:?}");
    }
    for q in ["afe", "ller", "cafes", "zebra", "cafe zebra"] {
        assert!(search(&store, q).await.is_empty(), "q = {q:?}");
    }
}

async fn hostile_search_text_is_searched_or_refused_never_an_error(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let msg = Msg::new(
        "near@acme.com",
        "lee@acme.com",
        &["ann@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .subject("near the NOT and OR")
    .link(ACME, Some(LEE), "lee@acme.com");
    store
        .capture(msg.seen_by(team.ann_box, "g1", false))
        .await
        .unwrap();

    let long_word = "a".repeat(50_000);
    let many_words = "a ".repeat(25_000);
    let hostile = [
        "\"",
        "*",
        "NEAR(",
        "NEAR(near the)",
        "-",
        "-near",
        "AND",
        "OR",
        "NOT",
        "\0",
        "a\0b",
        "🎉",
        "'",
        "\\",
        ":*",
        "&|!",
        "a\"b",
        "near*",
        "(near)",
        "^near",
        "near:*",
        "{near}",
        "subject:near",
        long_word.as_str(),
        many_words.as_str(),
    ];
    for q in hostile {
        let result = store
            .query_activity(ActivityQuery {
                q: Some(q.to_string()),
                ..query()
            })
            .await;
        match result {
            Ok(_) | Err(StoreError::Invalid(_)) => {}
            Err(e) => panic!("q of {} chars failed: {e}", q.len()),
        }
    }
    // Operators are words: they find the email that has them.
    assert_eq!(search(&store, "NEAR(").await, vec!["near the NOT and OR"]);
    assert_eq!(search(&store, "-not").await, vec!["near the NOT and OR"]);
    assert!(matches!(
        store
            .query_activity(ActivityQuery {
                q: Some(many_words),
                ..query()
            })
            .await,
        Err(StoreError::Invalid(_))
    ));
}

async fn the_search_index_follows_stored_and_purged_content(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    // First seen unmatched (no content), then matched in another mailbox.
    let unmatched = Msg::new(
        "later@acme.com",
        "lee@acme.com",
        &["ann@fund.com", "bob@fund.com"],
        "2025-06-01T09:00:00Z",
    )
    .subject("Quarterly zeppelin review");
    store
        .capture(unmatched.seen_by(team.ann_box, "g1", false))
        .await
        .unwrap();
    assert!(search(&store, "zeppelin").await.is_empty());
    let matched = unmatched.clone().link(ACME, Some(LEE), "lee@acme.com");
    store
        .capture(matched.seen_by(team.bob_box, "g2", false))
        .await
        .unwrap();
    assert_eq!(
        search(&store, "zeppelin").await,
        vec!["Quarterly zeppelin review"]
    );

    // A content purge empties the subject: the word is gone from the index.
    store
        .connection()
        .execute_unprepared("UPDATE emails SET subject = NULL, snippet = NULL, body = NULL")
        .await
        .unwrap();
    assert!(search(&store, "zeppelin").await.is_empty());
    assert_eq!(search(&store, "lee").await, vec![String::new()]);
}

async fn a_mailbox_added_later_turns_its_earlier_mail_outbound(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let msg = Msg::new(
        "alias@fund.com",
        "ann.alias@fund.com",
        &["lee@acme.com"],
        "2025-06-01T09:00:00Z",
    )
    .subject("From the alias")
    .link(ACME, Some(LEE), "lee@acme.com");
    store
        .capture(msg.seen_by(team.ann_box, "g1", false))
        .await
        .unwrap();
    let before = store.query_activity(query()).await.unwrap();
    assert_eq!(before.items[0].direction, Direction::Inbound);

    store
        .create_account(&addr("ann@fund.com"), &addr("ann.alias@fund.com"))
        .await
        .unwrap();

    let after = store.query_activity(query()).await.unwrap();
    assert_eq!(after.items[0].direction, Direction::Outbound);
    let outbound = store
        .query_activity(ActivityQuery {
            direction: Some(Direction::Outbound),
            ..query()
        })
        .await
        .unwrap();
    assert_eq!(subjects(&outbound), vec!["From the alias"]);
}

async fn since_and_until_bound_every_filter(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    for (key, hour) in [("h08", "08"), ("h09", "09"), ("h10", "10")] {
        let msg = Msg::new(
            &format!("{key}@acme.com"),
            "lee@acme.com",
            &["ann@fund.com"],
            &format!("2025-06-01T{hour}:00:00Z"),
        )
        .subject(&format!("report {key}"))
        .link(ACME, Some(LEE), "lee@acme.com");
        store
            .capture(msg.seen_by(team.ann_box, key, false))
            .await
            .unwrap();
    }
    let window = |base: ActivityQuery| ActivityQuery {
        since: Some(ts("2025-06-01T09:00:00Z")),
        until: Some(ts("2025-06-01T10:00:00Z")),
        ..base
    };
    let cases = [
        ("no filter", query()),
        (
            "investor",
            ActivityQuery {
                investor_id: Some(ACME),
                ..query()
            },
        ),
        (
            "mailbox",
            ActivityQuery {
                account_id: Some(team.ann_box),
                ..query()
            },
        ),
        (
            "search",
            ActivityQuery {
                q: Some("report".into()),
                ..query()
            },
        ),
        (
            "direction",
            ActivityQuery {
                direction: Some(Direction::Inbound),
                ..query()
            },
        ),
    ];
    for (name, base) in cases {
        let page = store.query_activity(window(base)).await.unwrap();
        assert_eq!(subjects(&page), vec!["report h09"], "{name}");
    }
    let open_ended = store
        .query_activity(ActivityQuery {
            since: Some(ts("2025-06-01T09:00:00Z")),
            ..query()
        })
        .await
        .unwrap();
    assert_eq!(subjects(&open_ended), vec!["report h10", "report h09"]);
}
