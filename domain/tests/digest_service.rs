//! The digest service's use cases against mocked ports (R-DIG-1, R-DIG-3 … R-DIG-6, R-HARD-1).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::executor::block_on;
use jiff::Timestamp;
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use mailroom_domain::digest::policy::{EnvPolicy, PolicyPatch, PolicySource, SendHour};
use mailroom_domain::digest::schedule::retry_backoff;
use mailroom_domain::digest::service::{
    DigestConfig, DigestError, DigestService, ScheduleOutcome, TEST_BODY, TEST_SUBJECT,
};
use mailroom_ports::records::{DigestClaim, DigestRow, DigestState, DigestTrigger, Role, User};
use mailroom_ports::store::keys;
use mailroom_ports::{
    AccountId, Clock, EmailAddress, EmailId, InvestorId, LlmError, LlmNarrator, MailTransport,
    MockClock, MockLlmNarrator, MockMailTransport, MockStore, SendError, Store, TransportKind,
    UserId,
};
use serde_json::json;

/// 18:30 in New York on Tuesday 24 November 2026.
const NOW: &str = "2026-11-24T23:30:00Z";
const HOLDER: &str = "replica-a";
const BUDGET: Duration = Duration::from_secs(30);
const LEASE: Duration = Duration::from_secs(600);

fn ts(s: &str) -> Timestamp {
    s.parse().expect("test timestamp")
}

fn now() -> Timestamp {
    ts(NOW)
}

fn today() -> Date {
    date(2026, 11, 24)
}

fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).expect("test address")
}

fn user(id: i64, name: &str, role: Role, is_active: bool) -> User {
    User {
        id: UserId(id),
        email: addr(&format!("u{id}@fund.com")),
        display_name: name.to_string(),
        role,
        is_active,
    }
}

fn ann() -> User {
    user(1, "Ann Lee", Role::Admin, true)
}

fn bob() -> User {
    user(2, "Bob Stone", Role::Member, true)
}

/// `email` from Jane at Acme (investor 10), seen in `user`'s mailbox.
fn row(email: i64, user: &User) -> DigestRow {
    DigestRow {
        email_id: EmailId(email),
        user_id: user.id,
        user_name: user.display_name.clone(),
        account_id: AccountId(user.id.0),
        account_email: user.email.clone(),
        is_sent: false,
        sighting_live: true,
        user_active: true,
        from_email: Some(addr("jane@acme.com")),
        from_name: Some("Jane Roe".into()),
        to: vec![user.email.clone()],
        subject: Some("Fund III close".into()),
        snippet: Some("When is the final close?".into()),
        sent_at: ts("2026-11-24T14:15:00Z"),
        investor_id: InvestorId(10),
        investor_name: Some("Acme Capital".into()),
        contact_name: Some("Jane Roe".into()),
        matched_address: addr("jane@acme.com"),
    }
}

fn config(env_policy: EnvPolicy) -> DigestConfig {
    DigestConfig {
        timezone: TimeZone::get("America/New_York").expect("tzdb has America/New_York"),
        env_policy,
        narrative_budget: BUDGET,
        holder: HOLDER.to_string(),
        claim_lease: LEASE,
    }
}

type Service = DigestService<MockStore, MockLlmNarrator, MockMailTransport, MockClock>;

struct Mocks {
    store: MockStore,
    narrator: MockLlmNarrator,
    transport: MockMailTransport,
    clock: MockClock,
    env: EnvPolicy,
}

impl Mocks {
    fn new() -> Self {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(now());
        Self {
            store: MockStore::new(),
            narrator: MockLlmNarrator::new(),
            transport: MockMailTransport::new(),
            clock,
            env: EnvPolicy::default(),
        }
    }

    fn service(self) -> Service {
        DigestService::new(
            Arc::new(self.store),
            Arc::new(self.narrator),
            Arc::new(self.transport),
            Arc::new(self.clock),
            config(self.env),
        )
    }

    /// The window's data: these rows, this team, and the team's addresses as ours.
    fn window(&mut self, rows: Vec<DigestRow>, team: Vec<User>) {
        let own: Vec<EmailAddress> = team.iter().map(|u| u.email.clone()).collect();
        self.store
            .expect_digest_rows()
            .times(1)
            .returning(move |_, _, _| Ok(rows.clone()));
        self.store
            .expect_digest_team()
            .times(1)
            .returning(move || Ok(team.clone()));
        self.store
            .expect_own_addresses()
            .times(1)
            .returning(move || Ok(own.clone()));
    }

    fn admins(&mut self, users: Vec<User>) {
        self.store
            .expect_active_admins()
            .times(1)
            .returning(move || Ok(users.clone()));
    }

    fn stored_policy(&mut self, value: Option<serde_json::Value>) {
        self.store
            .expect_get_setting()
            .withf(|key| key == keys::DIGEST_POLICY)
            .returning(move |_| Ok(value.clone()));
    }

    fn state(&mut self, state: DigestState) {
        self.store
            .expect_digest_state()
            .times(1)
            .returning(move || Ok(state));
    }

    fn send_log(&mut self, trigger: DigestTrigger, error_kind: Option<&'static str>) {
        self.store
            .expect_record_digest_send()
            .withf(move |log| log.trigger == trigger && log.error_kind.as_deref() == error_kind)
            .times(1)
            .returning(|_| Ok(()));
    }

    fn no_scheduler_bookkeeping(&mut self) {
        self.store.expect_claim_digest_day().never();
        self.store.expect_complete_digest_day().never();
        self.store.expect_fail_digest_day().never();
    }
}

fn enabled_at_18() -> Option<serde_json::Value> {
    Some(json!({"enabled": true, "send_hour": 18}))
}

fn sent_before(days_ago: i64) -> DigestState {
    DigestState {
        last_sent_at: Some(
            now()
                .checked_sub(jiff::SignedDuration::from_hours(24 * days_ago))
                .expect("in range"),
        ),
        last_sent_date: Some(
            today()
                .checked_sub(jiff::Span::new().days(days_ago))
                .expect("in range"),
        ),
    }
}

// ------------------------------------------------------------------ narration

#[test]
fn a_failing_narrator_gives_the_count_only_paragraph_and_the_digest_is_still_sent() {
    let mut m = Mocks::new();
    m.window(vec![row(1, &ann())], vec![ann()]);
    m.admins(vec![ann()]);
    m.narrator
        .expect_narrate()
        .times(1)
        .returning(|_, _| Err(LlmError::Unavailable("connection refused".into())));
    m.transport
        .expect_send()
        .withf(|_, mail| {
            mail.text
                .contains("Ann Lee: 1 email (1 received, 0 sent) with 1 investor.\n")
                && !mail.text.contains("connection refused")
        })
        .times(1)
        .returning(|_, _| Ok(TransportKind::Smtp));
    m.send_log(DigestTrigger::SendNow, None);
    m.no_scheduler_bookkeeping();

    let report = block_on(m.service().send_now()).expect("sent");

    assert_eq!(report.transport, TransportKind::Smtp);
    assert!(report.digest.expect("a digest").has_activity);
}

#[test]
fn a_narrator_timeout_gives_the_count_only_paragraph() {
    let mut m = Mocks::new();
    m.window(vec![row(1, &ann())], vec![ann()]);
    m.narrator
        .expect_narrate()
        .times(1)
        .returning(|_, _| Err(LlmError::Timeout));

    let digest = block_on(m.service().build(ts("2026-11-23T23:30:00Z"), now())).expect("built");

    let team_section = digest
        .body
        .split("BY TEAM MEMBER\n\n")
        .nth(1)
        .and_then(|rest| rest.split("\nBY INVESTOR").next())
        .expect("team section");
    assert_eq!(
        team_section,
        "Ann Lee: 1 email (1 received, 0 sent) with 1 investor.\n"
    );
}

#[test]
fn the_narrators_paragraph_is_used_and_all_calls_share_one_deadline() {
    let mut m = Mocks::new();
    let mut bobs = row(2, &bob());
    bobs.is_sent = true;
    m.window(vec![row(1, &ann()), bobs], vec![ann(), bob()]);
    let deadline = now().checked_add(BUDGET).expect("in range");
    m.narrator
        .expect_narrate()
        .withf(move |request, at| {
            *at == deadline
                && request.items.len() == 1
                && request.items[0].investor == "Acme Capital"
        })
        .times(2)
        .returning(|request, _| Ok(format!("{} talked to Acme.", request.user_name)));

    let digest = block_on(m.service().build(ts("2026-11-23T23:30:00Z"), now())).expect("built");

    assert!(digest.body.contains(
        "Ann Lee: 1 email (1 received, 0 sent) with 1 investor.\nAnn Lee talked to Acme.\n"
    ));
    assert!(digest.body.contains(
        "Bob Stone: 1 email (0 received, 1 sent) with 1 investor.\nBob Stone talked to Acme.\n"
    ));
}

#[test]
fn users_without_activity_cost_no_narrator_call() {
    let mut m = Mocks::new();
    m.window(vec![row(1, &ann())], vec![ann(), bob()]);
    m.narrator
        .expect_narrate()
        .withf(|request, _| request.user_name == "Ann Lee")
        .times(1)
        .returning(|_, _| Ok("Ann heard from Acme.".into()));

    let digest = block_on(m.service().build(ts("2026-11-23T23:30:00Z"), now())).expect("built");

    assert!(digest.body.contains("Bob Stone: no investor email.\n"));
    assert_eq!(digest.user_count, 1);
}

#[test]
fn once_the_narrative_budget_is_spent_no_further_narrator_call_is_made() {
    let mut m = Mocks::new();
    // The first reading sets the deadline; every later one is past it.
    let readings = Arc::new(AtomicUsize::new(0));
    let mut clock = MockClock::new();
    clock.expect_now().returning(move || {
        if readings.fetch_add(1, Ordering::SeqCst) == 0 {
            now()
        } else {
            now().checked_add(BUDGET).expect("in range")
        }
    });
    m.clock = clock;
    m.window(vec![row(1, &ann()), row(2, &bob())], vec![ann(), bob()]);
    m.narrator.expect_narrate().never();

    let digest = block_on(m.service().build(ts("2026-11-23T23:30:00Z"), now())).expect("built");

    assert!(
        digest
            .body
            .contains("Ann Lee: 1 email (1 received, 0 sent) with 1 investor.\n\nBob Stone")
    );
}

// ------------------------------------------------------------------ recipients

#[test]
fn the_digest_goes_to_active_admins_only() {
    let mut m = Mocks::new();
    m.window(vec![], vec![ann()]);
    // An adapter that wrongly returns a member and an inactive admin.
    m.admins(vec![ann(), bob(), user(3, "Cy Old", Role::Admin, false)]);
    m.transport
        .expect_send()
        .withf(|to, _| to.addresses() == [addr("u1@fund.com")])
        .times(1)
        .returning(|_, _| Ok(TransportKind::Gmail));
    m.store
        .expect_record_digest_send()
        .withf(|log| log.recipients == 1 && log.transport == Some(TransportKind::Gmail))
        .times(1)
        .returning(|_| Ok(()));

    let report = block_on(m.service().send_now()).expect("sent");

    assert_eq!(report.recipients, vec![addr("u1@fund.com")]);
}

#[test]
fn a_test_email_to_someone_outside_the_active_admins_is_refused_and_nothing_is_sent() {
    let mut m = Mocks::new();
    m.admins(vec![ann(), bob()]);
    m.transport.expect_send().never();
    m.store.expect_record_digest_send().never();

    let result = block_on(m.service().send_test(&[
        addr("u1@fund.com"),
        addr("lp@investor.com"),
        addr("u2@fund.com"),
    ]));

    match result {
        Err(DigestError::NotAnAdmin(refused)) => {
            assert_eq!(
                refused.0,
                vec![addr("lp@investor.com"), addr("u2@fund.com")]
            );
        }
        other => panic!("expected NotAnAdmin, got {other:?}"),
    }
}

#[test]
fn a_test_email_with_no_recipient_is_refused() {
    let mut m = Mocks::new();
    m.admins(vec![ann()]);
    m.transport.expect_send().never();

    let result = block_on(m.service().send_test(&[]));

    assert!(
        matches!(result, Err(DigestError::NotAnAdmin(_))),
        "{result:?}"
    );
}

#[test]
fn a_test_email_to_an_admin_sends_the_fixed_message_and_records_it() {
    let mut m = Mocks::new();
    m.admins(vec![ann(), user(4, "Di Ray", Role::Admin, true)]);
    m.transport
        .expect_send()
        .withf(|to, mail| {
            to.addresses() == [addr("u4@fund.com")]
                && mail.subject == TEST_SUBJECT
                && mail.text == TEST_BODY
        })
        .times(1)
        .returning(|_, _| Ok(TransportKind::Outbox));
    m.send_log(DigestTrigger::TestEmail, None);
    m.store.expect_digest_rows().never();
    m.no_scheduler_bookkeeping();

    let report = block_on(m.service().send_test(&[addr("U4@Fund.com")])).expect("sent");

    assert_eq!(report.transport, TransportKind::Outbox);
    assert_eq!(report.recipients, vec![addr("u4@fund.com")]);
    assert_eq!(report.digest, None);
}

#[test]
fn a_failed_test_email_is_recorded_by_kind_and_reported_without_upstream_text() {
    let mut m = Mocks::new();
    m.admins(vec![ann()]);
    m.transport.expect_send().times(1).returning(|_, _| {
        Err(SendError::Rejected(
            "535 bad credentials for token ya29.secret".into(),
        ))
    });
    m.send_log(DigestTrigger::TestEmail, Some("rejected"));

    let error = block_on(m.service().send_test(&[addr("u1@fund.com")])).expect_err("failed");

    assert!(matches!(
        error,
        DigestError::SendFailed(SendError::Rejected(_))
    ));
    assert!(!error.to_string().contains("ya29"), "{error}");
}

#[test]
fn send_now_with_no_active_admin_fails_without_sending() {
    let mut m = Mocks::new();
    m.window(vec![], vec![]);
    m.admins(vec![bob()]);
    m.transport.expect_send().never();

    let result = block_on(m.service().send_now());

    assert!(matches!(result, Err(DigestError::NoAdmins)), "{result:?}");
}

// ------------------------------------------------------------------ send now

#[test]
fn send_now_sends_the_last_24_hours_and_never_touches_the_scheduler() {
    let mut m = Mocks::new();
    m.store
        .expect_digest_rows()
        .withf(|since, until, sent_after| {
            *since == ts("2026-11-23T23:30:00Z")
                && *until == now()
                && *sent_after == ts("2026-11-21T23:30:00Z")
        })
        .times(1)
        .returning(|_, _, _| Ok(vec![]));
    m.store
        .expect_digest_team()
        .times(1)
        .returning(|| Ok(vec![]));
    m.store
        .expect_own_addresses()
        .times(1)
        .returning(|| Ok(vec![]));
    m.admins(vec![ann()]);
    m.transport
        .expect_send()
        .withf(|_, mail| {
            mail.text
                .contains("No investor email activity in this window.")
        })
        .times(1)
        .returning(|_, _| Ok(TransportKind::Gmail));
    m.store
        .expect_record_digest_send()
        .withf(|log| {
            log.trigger == DigestTrigger::SendNow
                && log.window_since == ts("2026-11-23T23:30:00Z")
                && log.window_until == now()
        })
        .times(1)
        .returning(|_| Ok(()));
    m.store.expect_digest_state().never();
    m.store.expect_get_setting().never();
    m.store.expect_put_setting().never();
    m.no_scheduler_bookkeeping();

    let report = block_on(m.service().send_now()).expect("sent");

    let digest = report.digest.expect("a digest");
    assert!(!digest.has_activity);
    assert_eq!(
        digest.subject,
        "mailroom digest for Tue 24 Nov 2026: no investor email"
    );
}

#[test]
fn a_failed_send_now_is_recorded_and_reported() {
    let mut m = Mocks::new();
    m.window(vec![], vec![]);
    m.admins(vec![ann()]);
    m.transport
        .expect_send()
        .times(1)
        .returning(|_, _| Err(SendError::Unavailable("smtp down".into())));
    m.send_log(DigestTrigger::SendNow, Some("unavailable"));
    m.no_scheduler_bookkeeping();

    let result = block_on(m.service().send_now());

    assert!(
        matches!(
            result,
            Err(DigestError::SendFailed(SendError::Unavailable(_)))
        ),
        "{result:?}"
    );
}

// ------------------------------------------------------------------ build

#[test]
fn a_window_that_does_not_move_forward_is_refused_before_reading_anything() {
    for (since, until) in [(now(), now()), (now(), ts("2026-11-23T23:30:00Z"))] {
        let mut m = Mocks::new();
        m.store.expect_digest_rows().never();
        let result = block_on(m.service().build(since, until));
        assert!(
            matches!(result, Err(DigestError::InvalidWindow(_))),
            "{result:?}"
        );
    }
}

// ------------------------------------------------------------------ scheduler

#[test]
fn a_due_digest_is_claimed_built_sent_and_its_day_completed() {
    let mut m = Mocks::new();
    m.stored_policy(enabled_at_18());
    m.state(sent_before(1));
    m.store
        .expect_claim_digest_day()
        .withf(|day, holder, at, lease_until| {
            *day == today()
                && holder == HOLDER
                && *at == now()
                && *lease_until == now().checked_add(LEASE).expect("in range")
        })
        .times(1)
        .returning(|_, _, _, _| Ok(Some(DigestClaim { attempts: 0 })));
    m.window(vec![row(1, &ann())], vec![ann()]);
    m.narrator
        .expect_narrate()
        .times(1)
        .returning(|_, _| Ok("Ann heard from Acme.".into()));
    m.admins(vec![ann()]);
    m.transport
        .expect_send()
        .withf(|_, mail| mail.subject == "mailroom digest for Tue 24 Nov 2026: 1 email, 1 investor")
        .times(1)
        .returning(|_, _| Ok(TransportKind::Gmail));
    m.store
        .expect_complete_digest_day()
        .withf(|day, holder, cursor| *day == today() && holder == HOLDER && *cursor == now())
        .times(1)
        .returning(|_, _, _| Ok(()));
    m.store.expect_fail_digest_day().never();
    m.send_log(DigestTrigger::Scheduled, None);

    let outcome = block_on(m.service().run_once()).expect("ran");

    assert_eq!(
        outcome,
        ScheduleOutcome::Sent {
            day: today(),
            since: ts("2026-11-23T23:30:00Z"),
            until: now(),
            transport: TransportKind::Gmail,
        }
    );
}

#[test]
fn a_failed_scheduled_send_keeps_the_cursor_and_backs_off() {
    let mut m = Mocks::new();
    m.stored_policy(enabled_at_18());
    m.state(sent_before(1));
    m.store
        .expect_claim_digest_day()
        .times(1)
        .returning(|_, _, _, _| Ok(Some(DigestClaim { attempts: 2 })));
    m.window(vec![], vec![ann()]);
    m.admins(vec![ann()]);
    m.transport
        .expect_send()
        .times(1)
        .returning(|_, _| Err(SendError::Unavailable("gmail 503".into())));
    m.store.expect_complete_digest_day().never();
    let retry_at = now().checked_add(retry_backoff(2)).expect("in range");
    m.store
        .expect_fail_digest_day()
        .withf(move |day, holder, at| *day == today() && holder == HOLDER && *at == retry_at)
        .times(1)
        .returning(|_, _, _| Ok(()));
    m.send_log(DigestTrigger::Scheduled, Some("unavailable"));

    let outcome = block_on(m.service().run_once()).expect("ran");

    assert_eq!(
        outcome,
        ScheduleOutcome::Failed {
            day: today(),
            retry_at,
            kind: "unavailable",
        }
    );
}

#[test]
fn a_scheduled_digest_with_no_active_admin_is_not_sent_and_retried_later() {
    let mut m = Mocks::new();
    m.stored_policy(enabled_at_18());
    m.state(sent_before(1));
    m.store
        .expect_claim_digest_day()
        .times(1)
        .returning(|_, _, _, _| Ok(Some(DigestClaim { attempts: 0 })));
    m.window(vec![], vec![]);
    m.admins(vec![]);
    m.transport.expect_send().never();
    m.store.expect_complete_digest_day().never();
    m.store
        .expect_fail_digest_day()
        .times(1)
        .returning(|_, _, _| Ok(()));
    m.send_log(DigestTrigger::Scheduled, Some("no_admins"));

    let outcome = block_on(m.service().run_once()).expect("ran");

    assert!(
        matches!(
            outcome,
            ScheduleOutcome::Failed {
                kind: "no_admins",
                ..
            }
        ),
        "{outcome:?}"
    );
}

#[test]
fn a_store_failure_while_building_releases_the_claim_and_is_reported() {
    let mut m = Mocks::new();
    m.stored_policy(enabled_at_18());
    m.state(sent_before(1));
    m.store
        .expect_claim_digest_day()
        .times(1)
        .returning(|_, _, _, _| Ok(Some(DigestClaim { attempts: 0 })));
    m.store
        .expect_digest_rows()
        .times(1)
        .returning(|_, _, _| Err(mailroom_ports::StoreError::Unavailable("db down".into())));
    m.transport.expect_send().never();
    m.store.expect_complete_digest_day().never();
    m.store
        .expect_fail_digest_day()
        .times(1)
        .returning(|_, _, _| Ok(()));

    let result = block_on(m.service().run_once());

    assert!(matches!(result, Err(DigestError::Store(_))), "{result:?}");
}

#[test]
fn two_missed_days_roll_into_one_digest_starting_at_the_old_cursor() {
    let mut m = Mocks::new();
    let cursor = ts("2026-11-21T23:30:00Z");
    m.stored_policy(enabled_at_18());
    m.state(sent_before(3));
    m.store
        .expect_claim_digest_day()
        .withf(|day, _, _, _| *day == today())
        .times(1)
        .returning(|_, _, _, _| Ok(Some(DigestClaim { attempts: 0 })));
    m.store
        .expect_digest_rows()
        .withf(move |since, until, _| *since == cursor && *until == now())
        .times(1)
        .returning(|_, _, _| Ok(vec![]));
    m.store
        .expect_digest_team()
        .times(1)
        .returning(|| Ok(vec![]));
    m.store
        .expect_own_addresses()
        .times(1)
        .returning(|| Ok(vec![]));
    m.admins(vec![ann()]);
    m.transport
        .expect_send()
        .times(1)
        .returning(|_, _| Ok(TransportKind::Smtp));
    m.store
        .expect_complete_digest_day()
        .withf(|day, _, moved_to| *day == today() && *moved_to == now())
        .times(1)
        .returning(|_, _, _| Ok(()));
    m.send_log(DigestTrigger::Scheduled, None);

    let outcome = block_on(m.service().run_once()).expect("ran");

    assert!(
        matches!(outcome, ScheduleOutcome::Sent { since, .. } if since == cursor),
        "{outcome:?}"
    );
}

/// A scheduler cycle that must stop before claiming anything.
fn check_no_claim(
    policy: Option<serde_json::Value>,
    env: EnvPolicy,
    state: DigestState,
    expected: ScheduleOutcome,
) {
    let mut m = Mocks::new();
    m.env = env;
    m.stored_policy(policy);
    m.store.expect_digest_state().returning(move || Ok(state));
    m.no_scheduler_bookkeeping();
    m.store.expect_digest_rows().never();
    m.store.expect_record_digest_send().never();
    m.transport.expect_send().never();
    m.narrator.expect_narrate().never();

    let outcome = block_on(m.service().run_once()).expect("ran");

    assert_eq!(outcome, expected);
}

#[test]
fn a_disabled_digest_claims_nothing() {
    check_no_claim(
        Some(json!({"enabled": false, "send_hour": 0})),
        EnvPolicy::default(),
        DigestState::default(),
        ScheduleOutcome::Disabled,
    );
    // The default policy is off.
    check_no_claim(
        None,
        EnvPolicy::default(),
        DigestState::default(),
        ScheduleOutcome::Disabled,
    );
    // The DB row wins over an env that turns it on.
    check_no_claim(
        Some(json!({"enabled": false, "send_hour": 18})),
        EnvPolicy {
            enabled: Some(true),
            send_hour: None,
        },
        DigestState::default(),
        ScheduleOutcome::Disabled,
    );
}

#[test]
fn before_the_send_hour_nothing_happens() {
    check_no_claim(
        Some(json!({"enabled": true, "send_hour": 19})),
        EnvPolicy::default(),
        DigestState::default(),
        ScheduleOutcome::NotYet,
    );
}

#[test]
fn a_digest_already_sent_today_is_not_sent_again() {
    let state = DigestState {
        last_sent_at: Some(ts("2026-11-24T23:00:00Z")),
        last_sent_date: Some(today()),
    };
    check_no_claim(
        enabled_at_18(),
        EnvPolicy::default(),
        state,
        ScheduleOutcome::AlreadySent,
    );
}

#[test]
fn a_day_claimed_by_another_replica_is_not_sent_here() {
    let mut m = Mocks::new();
    m.stored_policy(enabled_at_18());
    m.state(sent_before(1));
    m.store
        .expect_claim_digest_day()
        .times(1)
        .returning(|_, _, _, _| Ok(None));
    m.store.expect_digest_rows().never();
    m.store.expect_active_admins().never();
    m.transport.expect_send().never();
    m.store.expect_complete_digest_day().never();
    m.store.expect_fail_digest_day().never();
    m.store.expect_record_digest_send().never();

    let outcome = block_on(m.service().run_once()).expect("ran");

    assert_eq!(outcome, ScheduleOutcome::ClaimedElsewhere);
}

#[test]
fn the_env_policy_turns_the_schedule_on_when_the_db_has_none() {
    let mut m = Mocks::new();
    m.env = EnvPolicy {
        enabled: Some(true),
        send_hour: Some(SendHour::new(18).expect("hour")),
    };
    m.stored_policy(None);
    m.state(sent_before(1));
    m.store
        .expect_claim_digest_day()
        .times(1)
        .returning(|_, _, _, _| Ok(None));

    let outcome = block_on(m.service().run_once()).expect("ran");

    assert_eq!(outcome, ScheduleOutcome::ClaimedElsewhere);
}

// ------------------------------------------------------------------ policy

#[test]
fn the_policy_reports_where_it_came_from() {
    let check =
        |stored: Option<serde_json::Value>, env: EnvPolicy, expected: (bool, u8, PolicySource)| {
            let mut m = Mocks::new();
            m.env = env;
            m.stored_policy(stored.clone());
            let view = block_on(m.service().policy()).expect("read");
            assert_eq!(
                (
                    view.policy.enabled,
                    view.policy.send_hour.get(),
                    view.source
                ),
                expected,
                "stored {stored:?}, env {env:?}"
            );
        };
    let env = EnvPolicy {
        enabled: Some(true),
        send_hour: Some(SendHour::new(9).expect("hour")),
    };
    check(
        None,
        EnvPolicy::default(),
        (false, 18, PolicySource::Default),
    );
    check(None, env, (true, 9, PolicySource::Env));
    check(
        Some(json!({"enabled": false, "send_hour": 7})),
        env,
        (false, 7, PolicySource::Db),
    );
    check(
        Some(json!({"enabled": 1})),
        env,
        (true, 9, PolicySource::Env),
    );
}

#[test]
fn a_policy_update_with_send_hour_24_is_refused_and_nothing_is_written() {
    for hour in [24, -1, 1000] {
        let mut m = Mocks::new();
        m.store.expect_get_setting().never();
        m.store.expect_put_setting().never();
        let result = block_on(m.service().update_policy(PolicyPatch {
            enabled: Some(true),
            send_hour: Some(hour),
        }));
        assert!(
            matches!(result, Err(DigestError::InvalidPolicy(_))),
            "hour {hour}: {result:?}"
        );
    }
}

#[test]
fn a_policy_update_merges_into_the_effective_policy_and_is_stored() {
    let mut m = Mocks::new();
    m.env = EnvPolicy {
        enabled: Some(true),
        send_hour: Some(SendHour::new(9).expect("hour")),
    };
    m.stored_policy(None);
    m.store
        .expect_put_setting()
        .withf(|key, value| {
            key == keys::DIGEST_POLICY && *value == json!({"enabled": true, "send_hour": 7})
        })
        .times(1)
        .returning(|_, _| Ok(()));

    let view = block_on(m.service().update_policy(PolicyPatch {
        enabled: None,
        send_hour: Some(7),
    }))
    .expect("updated");

    assert!(view.policy.enabled);
    assert_eq!(view.policy.send_hour.get(), 7);
    assert_eq!(view.source, PolicySource::Db);
}

#[test]
fn an_empty_policy_update_writes_nothing() {
    let mut m = Mocks::new();
    m.stored_policy(Some(json!({"enabled": true, "send_hour": 6})));
    m.store.expect_put_setting().never();

    let view = block_on(m.service().update_policy(PolicyPatch::default())).expect("read");

    assert_eq!(
        (
            view.policy.enabled,
            view.policy.send_hour.get(),
            view.source
        ),
        (true, 6, PolicySource::Db)
    );
}

// ------------------------------------------------------------------ wiring

#[test]
fn the_service_works_over_trait_objects_and_its_futures_are_send() {
    fn assert_send<F: std::future::Future + Send>(future: F) -> F {
        future
    }
    let mut m = Mocks::new();
    m.stored_policy(Some(json!({"enabled": false, "send_hour": 18})));
    m.store
        .expect_digest_state()
        .returning(|| Ok(DigestState::default()));
    let store: Arc<dyn Store> = Arc::new(m.store);
    let narrator: Arc<dyn LlmNarrator> = Arc::new(m.narrator);
    let transport: Arc<dyn MailTransport> = Arc::new(m.transport);
    let clock: Arc<dyn Clock> = Arc::new(m.clock);
    let service = DigestService::new(
        store,
        narrator,
        transport,
        clock,
        config(EnvPolicy::default()),
    );

    let outcome = block_on(assert_send(service.run_once())).expect("ran");
    drop(assert_send(service.send_now()));
    drop(assert_send(service.send_test(&[])));
    drop(assert_send(service.update_policy(PolicyPatch::default())));

    assert_eq!(outcome, ScheduleOutcome::Disabled);
}

#[test]
fn a_sent_digest_whose_day_could_not_be_recorded_is_recorded_next_cycle_not_sent_again() {
    let mut m = Mocks::new();
    m.stored_policy(enabled_at_18());
    // Once the day is recorded, the store says it was sent today.
    let states = std::sync::Mutex::new(vec![sent_before(0), sent_before(1)]);
    m.store
        .expect_digest_state()
        .times(2)
        .returning(move || Ok(states.lock().unwrap().pop().unwrap()));
    m.store
        .expect_claim_digest_day()
        .times(1)
        .returning(|_, _, _, _| Ok(Some(DigestClaim { attempts: 0 })));
    m.window(vec![row(1, &ann())], vec![ann()]);
    m.narrator
        .expect_narrate()
        .returning(|_, _| Ok("Ann heard from Acme.".into()));
    m.admins(vec![ann()]);
    m.transport
        .expect_send()
        .times(1)
        .returning(|_, _| Ok(TransportKind::Smtp));
    // The first completion fails (the database blinked); the retry works.
    let answers = std::sync::Mutex::new(vec![
        Ok(()),
        Err(mailroom_ports::StoreError::Unavailable("busy".into())),
    ]);
    m.store
        .expect_complete_digest_day()
        .withf(|day, holder, cursor| *day == today() && holder == HOLDER && *cursor == now())
        .times(2)
        .returning(move |_, _, _| answers.lock().unwrap().pop().unwrap());
    m.store.expect_fail_digest_day().never();
    m.send_log(DigestTrigger::Scheduled, None);
    let service = m.service();

    assert!(
        block_on(service.run_once()).is_err(),
        "the store error is reported"
    );
    // The next cycle records the day before deciding anything, and then
    // finds it sent: no second claim, no second send (both are `.times(1)`).
    assert_eq!(
        block_on(service.run_once()).unwrap(),
        ScheduleOutcome::AlreadySent
    );
}
