//! The store's directory, mailbox and migration behaviour, on SQLite and
//! PostgreSQL.

use jiff::ToSpan;

use mailroom_migrations::{Migrator, MigratorTrait};
use mailroom_ports::records::{DirectoryCounts, DirectoryUpdate, Role, SyncRecord, SyncState};
use mailroom_ports::{AccountId, InvestorId, Store, StoreError};
use mailroom_tests::db::TestDb;
use mailroom_tests::db::seed::{self, ACME, BETA, LEE, OLD, addr, ts};
use mailroom_tests::on_both_databases;

on_both_databases!(
    migrations_run_twice_without_error,
    directory_upsert_is_idempotent,
    soft_deleted_contacts_and_investors_stop_matching,
    contact_naming_an_unknown_investor_is_invalid_and_changes_nothing,
    contact_may_name_an_investor_already_in_the_database,
    domains_and_emails_are_replaced_by_each_upsert,
    admins_team_and_users_follow_role_and_activity,
    graveyard_and_deleted_investors_are_hidden_from_the_dropdown,
    mailbox_creation_checks_user_and_address,
    mailbox_lease_is_exclusive_until_it_expires,
    concurrent_leases_let_exactly_one_replica_win,
    sync_record_keeps_the_cursor_unless_given_one,
);

async fn migrations_run_twice_without_error(db: &TestDb) {
    let store = db.store().await;
    store.migrate().await.expect("second migration run");
    let again = db.store().await;
    again.migrate().await.expect("third migration run");
    assert!(store.list_accounts().await.unwrap().is_empty());
    // Every step can be undone and redone.
    Migrator::down(store.connection(), None)
        .await
        .expect("migrate down");
    Migrator::up(store.connection(), None)
        .await
        .expect("migrate up again");
    seed::team(&store).await;
}

async fn directory_upsert_is_idempotent(db: &TestDb) {
    let store = db.store().await;
    let first = store.upsert_directory(seed::directory()).await.unwrap();
    let before = store.match_directory().await.unwrap();
    let second = store.upsert_directory(seed::directory()).await.unwrap();
    let after = store.match_directory().await.unwrap();

    assert_eq!(
        first,
        DirectoryCounts {
            users: 3,
            investors: 3,
            contacts: 3
        }
    );
    assert_eq!(first, second);
    assert_eq!(before, after);
    assert_eq!(after.contact_emails.len(), 3);
    assert_eq!(after.investor_domains.len(), 3);
    let ann = store
        .user_by_email(&addr("ANN@fund.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ann.display_name, "Ann");
}

async fn soft_deleted_contacts_and_investors_stop_matching(db: &TestDb) {
    let store = db.store().await;
    store.upsert_directory(seed::directory()).await.unwrap();
    let update: DirectoryUpdate = serde_json::from_value(serde_json::json!({
        "investors": [{"id": 3, "name": "Beta Ventures", "deleted": true, "domains": ["beta.vc"]}],
        "contacts": [{"id": 10, "investor_id": 1, "name": "Lee Park", "emails": ["lee@acme.com"], "deleted": true}],
    }))
    .unwrap();
    store.upsert_directory(update.clone()).await.unwrap();
    store.upsert_directory(update).await.unwrap();

    let dir = store.match_directory().await.unwrap();
    assert!(dir.contact_emails.iter().all(|c| c.contact_id != LEE));
    assert!(
        dir.contact_emails
            .iter()
            .any(|c| c.email == addr("max@acme.com"))
    );
    assert!(dir.investor_domains.iter().all(|d| d.investor_id != BETA));

    // Undeleting brings them back.
    let revive: DirectoryUpdate = serde_json::from_value(serde_json::json!({
        "contacts": [{"id": 10, "investor_id": 1, "name": "Lee Park", "emails": ["lee@acme.com"]}],
    }))
    .unwrap();
    store.upsert_directory(revive).await.unwrap();
    let dir = store.match_directory().await.unwrap();
    assert!(dir.contact_emails.iter().any(|c| c.contact_id == LEE));
}

async fn contact_naming_an_unknown_investor_is_invalid_and_changes_nothing(db: &TestDb) {
    let store = db.store().await;
    let update: DirectoryUpdate = serde_json::from_value(serde_json::json!({
        "users": [{"email": "zed@fund.com", "display_name": "Zed", "role": "admin", "is_active": true}],
        "investors": [{"id": 1, "name": "Acme Capital", "domains": ["acme.com"]}],
        "contacts": [
            {"id": 10, "investor_id": 1, "name": "Lee Park", "emails": ["lee@acme.com"]},
            {"id": 99, "investor_id": 404, "name": "Nobody", "emails": ["no@where.com"]},
        ],
    }))
    .unwrap();

    let err = store.upsert_directory(update).await.unwrap_err();

    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert!(
        store
            .user_by_email(&addr("zed@fund.com"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.match_directory().await.unwrap(), Default::default());
}

async fn contact_may_name_an_investor_already_in_the_database(db: &TestDb) {
    let store = db.store().await;
    store.upsert_directory(seed::directory()).await.unwrap();
    let update: DirectoryUpdate = serde_json::from_value(serde_json::json!({
        "contacts": [{"id": 12, "investor_id": 3, "name": "Bea", "emails": ["bea@beta.vc"]}],
    }))
    .unwrap();

    let counts = store.upsert_directory(update).await.unwrap();

    assert_eq!(counts.contacts, 1);
    let dir = store.match_directory().await.unwrap();
    assert!(
        dir.contact_emails
            .iter()
            .any(|c| c.email == addr("bea@beta.vc") && c.investor_id == BETA)
    );
}

async fn domains_and_emails_are_replaced_by_each_upsert(db: &TestDb) {
    let store = db.store().await;
    store.upsert_directory(seed::directory()).await.unwrap();
    let update: DirectoryUpdate = serde_json::from_value(serde_json::json!({
        "investors": [{"id": 1, "name": "Acme Capital", "domains": ["acme.io", "acme.com"]}],
        "contacts": [{"id": 10, "investor_id": 1, "name": "Lee Park", "emails": ["lee@acme.io"]}],
    }))
    .unwrap();
    store.upsert_directory(update).await.unwrap();

    let dir = store.match_directory().await.unwrap();
    let acme_domains: Vec<&str> = dir
        .investor_domains
        .iter()
        .filter(|d| d.investor_id == ACME)
        .map(|d| d.domain.as_str())
        .collect();
    assert_eq!(acme_domains, vec!["acme.com", "acme.io"]);
    let lee: Vec<&str> = dir
        .contact_emails
        .iter()
        .filter(|c| c.contact_id == LEE)
        .map(|c| c.email.as_str())
        .collect();
    assert_eq!(lee, vec!["lee@acme.io"]);
}

async fn admins_team_and_users_follow_role_and_activity(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    // Dan is an active admin without a mailbox; Cat is inactive.
    let update: DirectoryUpdate = serde_json::from_value(serde_json::json!({
        "users": [{"email": "dan@fund.com", "display_name": "Dan", "role": "admin", "is_active": true}],
    }))
    .unwrap();
    store.upsert_directory(update).await.unwrap();

    let admins: Vec<String> = store
        .active_admins()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email.to_string())
        .collect();
    assert_eq!(admins, vec!["ann@fund.com", "dan@fund.com"]);
    let digest_team: Vec<String> = store
        .digest_team()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.display_name)
        .collect();
    assert_eq!(digest_team, vec!["Ann", "Bob"]);
    let cat = store
        .user_by_email(&addr("cat@fund.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cat, team.cat);
    assert!(!cat.is_active);
    assert_eq!(team.ann.role, Role::Admin);

    // Demoting Ann takes effect at once.
    let demote: DirectoryUpdate = serde_json::from_value(serde_json::json!({
        "users": [{"email": "ann@fund.com", "display_name": "Ann", "role": "member", "is_active": true}],
    }))
    .unwrap();
    store.upsert_directory(demote).await.unwrap();
    let admins: Vec<String> = store
        .active_admins()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email.to_string())
        .collect();
    assert_eq!(admins, vec!["dan@fund.com"]);
}

async fn graveyard_and_deleted_investors_are_hidden_from_the_dropdown(db: &TestDb) {
    let store = db.store().await;
    store.upsert_directory(seed::directory()).await.unwrap();
    let gone: DirectoryUpdate = serde_json::from_value(serde_json::json!({
        "investors": [{"id": 4, "name": "Aardvark Gone", "deleted": true}],
    }))
    .unwrap();
    store.upsert_directory(gone).await.unwrap();

    let names: Vec<(InvestorId, String)> = store
        .dropdown_investors()
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.id, i.name))
        .collect();

    assert_eq!(
        names,
        vec![
            (ACME, "Acme Capital".to_string()),
            (BETA, "Beta Ventures".to_string())
        ]
    );
    assert!(names.iter().all(|(id, _)| *id != OLD));
}

async fn mailbox_creation_checks_user_and_address(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;

    let unknown = store
        .create_account(&addr("nobody@fund.com"), &addr("nobody@fund.com"))
        .await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound(_))),
        "{unknown:?}"
    );
    let duplicate = store
        .create_account(&addr("bob@fund.com"), &addr("ann@fund.com"))
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );
    let missing = store.get_account(AccountId(9999)).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    let missing = store.set_account_enabled(AccountId(9999), false).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );

    let disabled = store
        .set_account_enabled(team.bob_box, false)
        .await
        .unwrap();
    assert!(!disabled.enabled);
    assert_eq!(disabled.user_id, team.bob.id);
    assert_eq!(disabled.user_email, addr("bob@fund.com"));
    assert_eq!(disabled.sync_state, SyncState::New);
    assert_eq!(disabled.message_count, 0);
    // Disabled mailboxes are still our own addresses.
    let own: Vec<String> = store
        .own_addresses()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(own, vec!["ann@fund.com", "bob@fund.com", "cat@fund.com"]);
    assert_eq!(store.list_accounts().await.unwrap().len(), 3);
}

async fn mailbox_lease_is_exclusive_until_it_expires(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let now = ts("2025-06-01T10:00:00Z");
    let until = now + 5.minutes();

    assert!(
        store
            .try_lease_account(team.ann_box, "a", now, until)
            .await
            .unwrap()
    );
    assert!(
        !store
            .try_lease_account(team.ann_box, "b", now + 1.minute(), until)
            .await
            .unwrap()
    );
    assert!(
        store
            .try_lease_account(team.ann_box, "a", now + 1.minute(), until + 1.minute())
            .await
            .unwrap()
    );
    // Releasing someone else's lease does nothing.
    store.release_account(team.ann_box, "b").await.unwrap();
    assert!(
        !store
            .try_lease_account(team.ann_box, "b", now + 2.minutes(), until)
            .await
            .unwrap()
    );
    // Expired: anyone may take it.
    assert!(
        store
            .try_lease_account(team.ann_box, "b", until + 1.minute(), until + 10.minutes())
            .await
            .unwrap()
    );
    store.release_account(team.ann_box, "b").await.unwrap();
    assert!(
        store
            .try_lease_account(team.ann_box, "c", now, until)
            .await
            .unwrap()
    );
    let missing = store
        .try_lease_account(AccountId(9999), "a", now, until)
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

async fn concurrent_leases_let_exactly_one_replica_win(db: &TestDb) {
    let seeded = db.store().await;
    let team = seed::team(&seeded).await;
    let (one, two) = (db.store().await, db.store().await);
    let now = ts("2025-06-01T10:00:00Z");
    for round in 0..5 {
        let at = now + (round * 10).minutes();
        let until = at + 5.minutes();
        let (a, b) = tokio::join!(
            one.try_lease_account(team.bob_box, "replica-1", at, until),
            two.try_lease_account(team.bob_box, "replica-2", at, until),
        );
        let winners = [a.unwrap(), b.unwrap()].iter().filter(|w| **w).count();
        assert_eq!(winners, 1, "round {round} on {}", db.backend());
    }
}

async fn sync_record_keeps_the_cursor_unless_given_one(db: &TestDb) {
    let store = db.store().await;
    let team = seed::team(&store).await;
    let at = ts("2025-06-01T10:00:00Z");
    let record = |history_id: Option<&str>, state, at| SyncRecord {
        history_id: history_id.map(str::to_string),
        state,
        last_error: None,
        at,
    };

    store
        .record_sync(team.ann_box, record(Some("100"), SyncState::Idle, at))
        .await
        .unwrap();
    store
        .record_sync(
            team.ann_box,
            record(None, SyncState::Syncing, at + 1.hour()),
        )
        .await
        .unwrap();
    let syncing = store.get_account(team.ann_box).await.unwrap();
    assert_eq!(syncing.history_id.as_deref(), Some("100"));
    assert_eq!(syncing.sync_state, SyncState::Syncing);
    assert_eq!(syncing.last_synced_at, Some(at));

    let failed = SyncRecord {
        last_error: Some("gmail unavailable".into()),
        ..record(None, SyncState::Error, at)
    };
    store.record_sync(team.ann_box, failed).await.unwrap();
    let errored = store.get_account(team.ann_box).await.unwrap();
    assert_eq!(errored.last_error.as_deref(), Some("gmail unavailable"));
    assert_eq!(errored.history_id.as_deref(), Some("100"));

    let missing = store
        .record_sync(AccountId(9999), record(None, SyncState::Idle, at))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

#[tokio::test]
async fn a_missing_sqlite_file_is_created_on_connect() {
    let db = TestDb::sqlite().await;
    // The plain form, without `?mode=rwc`, still creates the file.
    let plain = db.url.trim_end_matches("?mode=rwc").to_string();

    let store = mailroom_adapters::store::SeaStore::connect(&plain)
        .await
        .unwrap();
    store.migrate().await.unwrap();

    assert!(store.list_accounts().await.unwrap().is_empty());
    assert!(std::path::Path::new(plain.trim_start_matches("sqlite://")).exists());
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_without_echoing_the_url() {
    let url = "postgres://mailroom:hunter2@127.0.0.1:1/mailroom";

    let err = mailroom_adapters::store::SeaStore::connect(url)
        .await
        .unwrap_err();

    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("hunter2"));
}
