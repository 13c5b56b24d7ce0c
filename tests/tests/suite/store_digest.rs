//! The digest's reads and bookkeeping in the store: window rows (R-DIG-1),
//! settings, and the once-per-day claim shared by replicas (R-DIG-4), on
//! SQLite and PostgreSQL.

use jiff::ToSpan;
use jiff::civil::date;

use mailroom_ports::records::{
    DigestClaim, DigestSendLog, DigestState, DigestTrigger, DirectoryUpdate,
};
use mailroom_ports::store::keys;
use mailroom_ports::{Store, StoreError, TransportKind};
use mailroom_tests::db::TestDb;
use mailroom_tests::db::seed::{self, ACME, BETA, LEE, Msg, addr, ts};
use mailroom_tests::on_both_databases;

on_both_databases!(
    digest_rows_cover_live_sightings_of_active_users_in_the_window,
    digest_rows_drop_names_of_soft_deleted_investors_and_contacts_but_keep_the_address,
    concurrent_claims_of_one_day_let_exactly_one_holder_win,
    a_day_is_claimed_by_one_holder_until_sent,
    a_failed_day_waits_for_its_retry_time,
    an_expired_claim_can_be_taken_over,
    settings_round_trip_as_json,
    digest_sends_are_logged,
    late_captured_mail_rolls_into_the_next_window_and_old_backfill_stays_out,
);

async fn late_captured_mail_rolls_into_the_next_window_and_old_backfill_stays_out(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let capture = |key: &str, sent: &str, captured: &str| {
        Msg::new(key, "lee@acme.com", &["ann@fund.com"], sent)
            .captured(captured)
            .link(ACME, Some(LEE), "lee@acme.com")
    };
    // Sent just before the 18:00 digest, captured just after it.
    let late = capture(
        "late@acme.com",
        "2025-06-01T17:58:00Z",
        "2025-06-01T18:03:00Z",
    );
    // A new mailbox's backfill: sent weeks ago, captured today.
    let old = capture(
        "old@acme.com",
        "2025-05-10T09:00:00Z",
        "2025-06-01T20:00:00Z",
    );
    for (msg, gmail_id) in [(&late, "g-late"), (&old, "g-old")] {
        store
            .capture(msg.seen_by(team.ann_box, gmail_id, false))
            .await
            .unwrap();
    }
    let keys = |rows: Vec<mailroom_ports::records::DigestRow>| {
        rows.iter()
            .map(|r| r.subject.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    };

    let first = store
        .digest_rows(
            ts("2025-05-31T18:00:00Z"),
            ts("2025-06-01T18:00:00Z"),
            ts("2025-05-29T18:00:00Z"),
        )
        .await
        .unwrap();
    let next = store
        .digest_rows(
            ts("2025-06-01T18:00:00Z"),
            ts("2025-06-02T18:00:00Z"),
            ts("2025-05-30T18:00:00Z"),
        )
        .await
        .unwrap();

    assert!(
        keys(first).is_empty(),
        "not yet captured at the first digest"
    );
    assert_eq!(
        keys(next),
        vec!["About late@acme.com"],
        "late mail rolls in; old backfill stays out"
    );
}

async fn digest_rows_cover_live_sightings_of_active_users_in_the_window(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let inside = Msg::new(
        "in@acme.com",
        "lee@acme.com",
        &["ann@fund.com", "bob@fund.com", "cat@fund.com"],
        "2025-06-01T12:00:00Z",
    )
    .subject("Inside")
    .link(ACME, Some(LEE), "lee@acme.com")
    .link(BETA, None, "lee@acme.com");
    store
        .capture(inside.seen_by(team.ann_box, "a1", false))
        .await
        .unwrap();
    store
        .capture(inside.seen_by(team.bob_box, "b1", false))
        .await
        .unwrap();
    // Cat is inactive: her sighting never counts.
    store
        .capture(inside.seen_by(team.cat_box, "c1", false))
        .await
        .unwrap();
    // Bob deleted his copy.
    store
        .soft_delete_sighting(team.bob_box, "b1", ts("2025-06-01T13:00:00Z"))
        .await
        .unwrap();
    // Unmatched mail never counts.
    let cold = Msg::new(
        "cold@x.com",
        "stranger@x.com",
        &["ann@fund.com"],
        "2025-06-01T12:30:00Z",
    );
    store
        .capture(cold.seen_by(team.ann_box, "a2", false))
        .await
        .unwrap();
    // At the window's bounds: `since` is excluded, `until` included.
    for (key, at) in [
        ("since@acme.com", "2025-06-01T00:00:00Z"),
        ("until@acme.com", "2025-06-02T00:00:00Z"),
    ] {
        let msg = Msg::new(key, "lee@acme.com", &["ann@fund.com"], at)
            .subject(key)
            .link(ACME, Some(LEE), "lee@acme.com");
        store
            .capture(msg.seen_by(team.ann_box, key, false))
            .await
            .unwrap();
    }

    let rows = store
        .digest_rows(
            ts("2025-06-01T00:00:00Z"),
            ts("2025-06-02T00:00:00Z"),
            ts("2025-05-30T00:00:00Z"),
        )
        .await
        .unwrap();

    let got: Vec<(String, String, i64)> = rows
        .iter()
        .map(|r| {
            (
                r.subject.clone().unwrap(),
                r.account_email.to_string(),
                r.investor_id.0,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("Inside".to_string(), "ann@fund.com".to_string(), ACME.0),
            ("Inside".to_string(), "ann@fund.com".to_string(), BETA.0),
            (
                "until@acme.com".to_string(),
                "ann@fund.com".to_string(),
                ACME.0
            ),
        ]
    );
    let first = &rows[0];
    assert_eq!(
        (first.user_id, first.user_name.as_str()),
        (team.ann.id, "Ann")
    );
    assert!(first.sighting_live && first.user_active && !first.is_sent);
    assert_eq!(first.investor_name.as_deref(), Some("Acme Capital"));
    assert_eq!(first.contact_name.as_deref(), Some("Lee Park"));
    assert_eq!(rows[1].contact_name, None);
    assert_eq!(first.matched_address, addr("lee@acme.com"));
    assert_eq!(first.from_email, Some(addr("lee@acme.com")));
    assert_eq!(first.sent_at, ts("2025-06-01T12:00:00Z"));
}

async fn digest_rows_drop_names_of_soft_deleted_investors_and_contacts_but_keep_the_address(
    db: &TestDb,
) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let msg = Msg::new(
        "m1@acme.com",
        "lee@acme.com",
        &["ann@fund.com"],
        "2025-06-01T12:00:00Z",
    )
    .link(ACME, Some(LEE), "lee@acme.com");
    store
        .capture(msg.seen_by(team.ann_box, "a1", false))
        .await
        .unwrap();
    let deletion: DirectoryUpdate = serde_json::from_value(serde_json::json!({
        "investors": [{"id": 1, "name": "Acme Capital", "deleted": true, "domains": ["acme.com"]}],
        "contacts": [{"id": 10, "investor_id": 1, "name": "Lee Park", "emails": ["lee@acme.com"], "deleted": true}],
    }))
    .unwrap();
    store.upsert_directory(deletion).await.unwrap();

    let rows = store
        .digest_rows(
            ts("2025-06-01T00:00:00Z"),
            ts("2025-06-02T00:00:00Z"),
            ts("2025-05-30T00:00:00Z"),
        )
        .await
        .unwrap();

    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].investor_id, ACME);
    assert_eq!(rows[0].investor_name, None);
    assert_eq!(rows[0].contact_name, None);
    assert_eq!(rows[0].matched_address, addr("lee@acme.com"));
}

async fn concurrent_claims_of_one_day_let_exactly_one_holder_win(db: &TestDb) {
    let (one, two) = (db.store().await, db.store().await);
    let now = ts("2025-06-01T18:00:00Z");
    let lease = now + 10.minutes();
    for offset in 0..8 {
        let day = date(2025, 6, 1) + offset.days();
        let (a, b) = tokio::join!(
            one.claim_digest_day(day, "replica-1", now, lease),
            two.claim_digest_day(day, "replica-2", now, lease),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            [a, b].iter().filter(|c| c.is_some()).count(),
            1,
            "day {day} on {}: {a:?} {b:?}",
            db.backend()
        );
    }
}

async fn a_day_is_claimed_by_one_holder_until_sent(db: &TestDb) {
    let store = db.store().await;
    let day = date(2025, 6, 1);
    let now = ts("2025-06-01T18:00:00Z");
    let lease = now + 10.minutes();
    let cursor = ts("2025-06-01T18:00:05Z");

    assert_eq!(
        store.claim_digest_day(day, "a", now, lease).await.unwrap(),
        Some(DigestClaim { attempts: 0 })
    );
    assert_eq!(
        store
            .claim_digest_day(day, "b", now + 1.minute(), lease)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .claim_digest_day(day, "a", now + 1.minute(), lease)
            .await
            .unwrap(),
        Some(DigestClaim { attempts: 0 })
    );
    let stolen = store.complete_digest_day(day, "b", cursor).await;
    assert!(matches!(stolen, Err(StoreError::Conflict(_))), "{stolen:?}");
    assert_eq!(store.digest_state().await.unwrap(), DigestState::default());

    store.complete_digest_day(day, "a", cursor).await.unwrap();

    assert_eq!(
        store.digest_state().await.unwrap(),
        DigestState {
            last_sent_at: Some(cursor),
            last_sent_date: Some(day)
        }
    );
    // Sent: nobody claims the day again, even after the lease.
    assert_eq!(
        store
            .claim_digest_day(day, "a", lease + 1.hour(), lease + 2.hours())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .claim_digest_day(day, "b", lease + 1.hour(), lease + 2.hours())
            .await
            .unwrap(),
        None
    );
    let twice = store.complete_digest_day(day, "a", cursor).await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
    // The next day is free.
    assert!(
        store
            .claim_digest_day(day + 1.day(), "b", now + 24.hours(), lease + 24.hours())
            .await
            .unwrap()
            .is_some()
    );
}

async fn a_failed_day_waits_for_its_retry_time(db: &TestDb) {
    let store = db.store().await;
    let day = date(2025, 6, 1);
    let now = ts("2025-06-01T18:00:00Z");
    let retry_at = now + 15.minutes();
    store
        .claim_digest_day(day, "a", now, now + 10.minutes())
        .await
        .unwrap()
        .unwrap();

    store.fail_digest_day(day, "a", retry_at).await.unwrap();

    assert_eq!(
        store
            .claim_digest_day(day, "a", now + 1.minute(), now + 11.minutes())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .claim_digest_day(day, "b", now + 14.minutes(), now + 24.minutes())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .claim_digest_day(day, "b", retry_at, retry_at + 10.minutes())
            .await
            .unwrap(),
        Some(DigestClaim { attempts: 1 })
    );
    // A failed holder that lost the claim cannot fail or complete it.
    let late = store.fail_digest_day(day, "a", retry_at).await;
    assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
    store
        .fail_digest_day(day, "b", retry_at + 30.minutes())
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_digest_day(day, "a", retry_at + 30.minutes(), retry_at + 40.minutes())
            .await
            .unwrap(),
        Some(DigestClaim { attempts: 2 })
    );
    assert_eq!(store.digest_state().await.unwrap(), DigestState::default());
}

async fn an_expired_claim_can_be_taken_over(db: &TestDb) {
    let store = db.store().await;
    let day = date(2025, 6, 1);
    let now = ts("2025-06-01T18:00:00Z");
    let lease = now + 10.minutes();
    store
        .claim_digest_day(day, "a", now, lease)
        .await
        .unwrap()
        .unwrap();

    let taken = store
        .claim_digest_day(day, "b", lease, lease + 10.minutes())
        .await
        .unwrap();

    assert_eq!(taken, Some(DigestClaim { attempts: 0 }));
    let late = store.complete_digest_day(day, "a", lease).await;
    assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
    store.complete_digest_day(day, "b", lease).await.unwrap();
}

async fn settings_round_trip_as_json(db: &TestDb) {
    let store = db.store().await;
    let policy = serde_json::json!({"enabled": true, "send_hour": 7});

    assert_eq!(store.get_setting(keys::DIGEST_POLICY).await.unwrap(), None);
    store
        .put_setting(keys::DIGEST_POLICY, policy.clone())
        .await
        .unwrap();
    assert_eq!(
        store.get_setting(keys::DIGEST_POLICY).await.unwrap(),
        Some(policy)
    );
    store
        .put_setting(
            keys::DIGEST_POLICY,
            serde_json::json!({"enabled": false, "send_hour": 18}),
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_setting(keys::DIGEST_POLICY).await.unwrap(),
        Some(serde_json::json!({"send_hour": 18, "enabled": false}))
    );
    // The cursor settings written by hand read back through digest_state.
    store
        .put_setting(
            keys::DIGEST_LAST_SENT_AT,
            serde_json::json!("2025-06-01T18:00:00Z"),
        )
        .await
        .unwrap();
    store
        .put_setting(keys::DIGEST_LAST_SENT_DATE, serde_json::json!("2025-06-01"))
        .await
        .unwrap();
    assert_eq!(
        store.digest_state().await.unwrap(),
        DigestState {
            last_sent_at: Some(ts("2025-06-01T18:00:00Z")),
            last_sent_date: Some(date(2025, 6, 1))
        }
    );
    store
        .put_setting(keys::DIGEST_LAST_SENT_AT, serde_json::json!(42))
        .await
        .unwrap();
    assert!(matches!(
        store.digest_state().await,
        Err(StoreError::Unexpected(_))
    ));
}

async fn digest_sends_are_logged(db: &TestDb) {
    let store = db.store().await;
    let log = |transport, error_kind: Option<&str>| DigestSendLog {
        trigger: DigestTrigger::Scheduled,
        window_since: ts("2025-06-01T00:00:00Z"),
        window_until: ts("2025-06-02T00:00:00Z"),
        transport,
        recipients: 2,
        error_kind: error_kind.map(str::to_string),
        at: ts("2025-06-02T00:00:01Z"),
    };

    store
        .record_digest_send(log(Some(TransportKind::Smtp), None))
        .await
        .unwrap();
    store
        .record_digest_send(log(None, Some("send_failed")))
        .await
        .unwrap();

    use sea_orm::{ConnectionTrait, Statement};
    let conn = store.connection();
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT trigger_kind, transport, error_kind FROM digest_sends ORDER BY id",
        ))
        .await
        .unwrap();
    let got: Vec<(String, Option<String>, Option<String>)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("", "trigger_kind").unwrap(),
                r.try_get("", "transport").unwrap(),
                r.try_get("", "error_kind").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("scheduled".to_string(), Some("smtp".to_string()), None),
            (
                "scheduled".to_string(),
                None,
                Some("send_failed".to_string())
            ),
        ]
    );
}
