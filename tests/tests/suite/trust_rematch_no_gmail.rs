//! The re-match in an import-only setup (Gmail not configured), on SQLite
//! and PostgreSQL: it still links mail whose content is stored from the
//! stored headers, with one pending proposal per new (email, investor);
//! metadata-only mail stays as it is, and `GET /api/admin/jobs` says why.

use mailroom_ports::records::Role;
use mailroom_ports::trust::{JobKind, JobState};
use mailroom_ports::{Store, TrustStore};
use mailroom_tests::app::{Backend, spawn_app_with};
use mailroom_tests::db::seed::{self, ACME, LEE, Msg, addr, ts};
use reqwest::StatusCode;
use serde_json::{Value, json};

const GAMMA: i64 = 4;

async fn without_gmail_the_rematch_links_stored_mail_and_says_what_it_left(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    assert!(
        app.state
            .rematch
            .as_ref()
            .is_some_and(|r| !r.fetches_content()),
        "no Gmail: a re-match that cannot fetch"
    );
    let store = app.db.store().await;
    let team = seed::team(&store).await;

    // Lee's mail with Kim (unknown yet) in Cc: matched, content stored.
    let mut with_kim = Msg::new(
        "lee-kim@acme.com",
        "lee@acme.com",
        &["ann@fund.com"],
        "2026-11-01T09:00:00Z",
    )
    .subject("Quarterly with Gamma")
    .link(ACME, Some(LEE), "lee@acme.com")
    .seen_by(team.ann_box, "g1", false);
    with_kim.header.cc = vec![addr("kim@gamma.io")];
    store.capture(with_kim).await.unwrap();
    // Kim's own mail: unmatched, so metadata only.
    store
        .capture(
            Msg::new(
                "kim-1@gamma.io",
                "kim@gamma.io",
                &["ann@fund.com"],
                "2026-11-02T09:00:00Z",
            )
            .seen_by(team.ann_box, "g2", false),
        )
        .await
        .unwrap();

    // Gamma becomes an investor with Kim's domain.
    let mut directory = seed::directory();
    directory.investors.push(
        serde_json::from_value(json!({"id": GAMMA, "name": "Gamma", "domains": ["gamma.io"]}))
            .unwrap(),
    );
    store.upsert_directory(directory).await.unwrap();
    store
        .request_job(JobKind::Rematch, ts("2026-11-24T12:00:00Z"))
        .await
        .unwrap();

    let rematch = app.state.rematch.clone().unwrap();
    let progress = rematch.run_to_end(10).await.unwrap();
    assert_eq!(
        (
            progress.scanned,
            progress.matched,
            progress.fetched,
            progress.proposals
        ),
        (2, 1, 0, 1),
        "{}",
        app.db.backend()
    );
    let job = store
        .list_jobs()
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.kind == JobKind::Rematch)
        .unwrap();
    assert_eq!(job.state, JobState::Done, "not left pending");

    let proposals = store.list_proposals(None, None).await.unwrap();
    let gamma: Vec<_> = proposals
        .iter()
        .filter(|p| p.investor_id.0 == GAMMA)
        .collect();
    assert_eq!(gamma.len(), 1, "{proposals:?}");
    assert_eq!(gamma[0].subject.as_deref(), Some("Quarterly with Gamma"));

    // A second run finds nothing new.
    store
        .request_job(JobKind::Rematch, ts("2026-11-24T13:00:00Z"))
        .await
        .unwrap();
    let again = rematch.run_to_end(10).await.unwrap();
    assert_eq!((again.matched, again.proposals), (0, 0));

    app.add_users(&[("admin@fund.com", Role::Admin, true)])
        .await;
    let resp = app
        .http
        .get(app.url("/api/admin/jobs"))
        .bearer_auth(app.token("admin@fund.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let jobs = resp.json::<Value>().await.unwrap()["items"].clone();
    assert_eq!(jobs[0]["state"], "done", "{jobs}");
    assert!(
        jobs[0]["limitation"]
            .as_str()
            .is_some_and(|l| l.contains("Gmail is not configured")),
        "{jobs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_gmail_the_rematch_links_stored_mail_and_says_what_it_left_sqlite() {
    without_gmail_the_rematch_links_stored_mail_and_says_what_it_left(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_gmail_the_rematch_links_stored_mail_and_says_what_it_left_postgres() {
    without_gmail_the_rematch_links_stored_mail_and_says_what_it_left(Backend::Postgres).await;
}
