//! The proposal state machine (R-CAP-7) and the service that applies decisions.
//!
//! Nothing lands on an investor or contact record until a human approves a
//! proposal (R-HARD-3); approving twice creates one activity.

use std::sync::Arc;

use mailroom_ports::reads::{Page, PageRequest, ProposalQuery};
use mailroom_ports::records::{Decision, Proposal, ProposalStatus, Role, User};
use mailroom_ports::{Clock, ProposalId, Store, StoreError};
use tracing::instrument;

/// What a decision does to a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Move the pending proposal to this status.
    Apply(ProposalStatus),
    /// The proposal already carries this decision: answer as if it was just made.
    AlreadyDone,
}

/// A decision that contradicts the one already made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the proposal is already {}; it cannot be {}", .current.as_str(), decided(*.decision))]
pub struct ProposalConflict {
    pub current: ProposalStatus,
    pub decision: Decision,
}

/// The state machine: pending → approved | rejected, both final.
///
/// # Errors
/// [`ProposalConflict`] when approving a rejected proposal or rejecting an
/// approved one.
pub fn transition(
    current: ProposalStatus,
    decision: Decision,
) -> Result<Transition, ProposalConflict> {
    match (current, decision) {
        (ProposalStatus::Pending, Decision::Approve) => {
            Ok(Transition::Apply(ProposalStatus::Approved))
        }
        (ProposalStatus::Pending, Decision::Reject) => {
            Ok(Transition::Apply(ProposalStatus::Rejected))
        }
        (ProposalStatus::Approved, Decision::Approve)
        | (ProposalStatus::Rejected, Decision::Reject) => Ok(Transition::AlreadyDone),
        (ProposalStatus::Approved, Decision::Reject)
        | (ProposalStatus::Rejected, Decision::Approve) => {
            Err(ProposalConflict { current, decision })
        }
    }
}

/// An active admin, or an active user owning a mailbox that holds the email.
pub fn may_decide(actor: &User, p: &Proposal) -> bool {
    actor.is_active && (actor.role == Role::Admin || p.owner_user_ids.contains(&actor.id))
}

#[derive(Debug, thiserror::Error)]
pub enum ProposalError {
    #[error("no such proposal")]
    NotFound,
    #[error("not allowed to see or decide this proposal")]
    Forbidden,
    #[error("{0}")]
    Conflict(String),
    #[error("store call failed")]
    Store(#[source] StoreError),
}

impl From<StoreError> for ProposalError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => ProposalError::NotFound,
            other => ProposalError::Store(other),
        }
    }
}

/// Lists proposals and applies humans' decisions to them.
pub struct ProposalService<S: ?Sized, C: ?Sized> {
    store: Arc<S>,
    clock: Arc<C>,
}

impl<S, C> ProposalService<S, C>
where
    S: Store + ?Sized,
    C: Clock + ?Sized,
{
    pub fn new(store: Arc<S>, clock: Arc<C>) -> Self {
        Self { store, clock }
    }

    /// Admins see every proposal; members those of email in their mailboxes.
    ///
    /// # Errors
    /// `Forbidden` for an inactive user; `Store` when the store fails.
    pub async fn list(
        &self,
        actor: &User,
        status: Option<ProposalStatus>,
    ) -> Result<Vec<Proposal>, ProposalError> {
        if !actor.is_active {
            return Err(ProposalError::Forbidden);
        }
        let visible_to = (actor.role != Role::Admin).then_some(actor.id);
        Ok(self.store.list_proposals(status, visible_to).await?)
    }

    /// One page of [`ProposalService::list`], with the same visibility.
    ///
    /// # Errors
    /// As [`ProposalService::list`].
    pub async fn page(
        &self,
        actor: &User,
        status: Option<ProposalStatus>,
        page: PageRequest,
    ) -> Result<Page<Proposal>, ProposalError> {
        if !actor.is_active {
            return Err(ProposalError::Forbidden);
        }
        let visible_to = (actor.role != Role::Admin).then_some(actor.id);
        Ok(self
            .store
            .proposal_page(ProposalQuery {
                status,
                visible_to,
                page,
            })
            .await?)
    }

    /// Applies `decision` and returns the proposal as stored afterwards.
    /// Repeating a decision is a no-op that answers the same; two concurrent
    /// approvals create one activity and both succeed.
    ///
    /// # Errors
    /// `NotFound`, `Forbidden` (see [`may_decide`]), `Conflict` when the
    /// opposite decision was already made, `Store` when the store fails.
    #[instrument(skip_all, fields(proposal_id = %id, actor = %actor.id, ?decision))]
    pub async fn decide(
        &self,
        actor: &User,
        id: ProposalId,
        decision: Decision,
    ) -> Result<Proposal, ProposalError> {
        let proposal = self.store.get_proposal(id).await?;
        if !may_decide(actor, &proposal) {
            return Err(ProposalError::Forbidden);
        }
        if transition(proposal.status, decision).map_err(conflict)? == Transition::AlreadyDone {
            return Ok(proposal);
        }
        match self
            .store
            .apply_decision(id, decision, actor.id, self.clock.now())
            .await
        {
            // The re-read carries the activity id and the decision's audit fields.
            Ok(_) => Ok(self.store.get_proposal(id).await?),
            // Someone decided between our read and our write: judge our
            // decision against theirs.
            Err(StoreError::Conflict(_)) => {
                let stored = self.store.get_proposal(id).await?;
                match transition(stored.status, decision).map_err(conflict)? {
                    Transition::AlreadyDone => Ok(stored),
                    Transition::Apply(_) => Err(ProposalError::Conflict(
                        "the proposal changed while it was being decided; try again".to_string(),
                    )),
                }
            }
            Err(other) => Err(other.into()),
        }
    }
}

fn conflict(e: ProposalConflict) -> ProposalError {
    ProposalError::Conflict(e.to_string())
}

fn decided(d: Decision) -> &'static str {
    match d {
        Decision::Approve => "approved",
        Decision::Reject => "rejected",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use futures::executor::block_on;
    use jiff::Timestamp;
    use mailroom_ports::records::Direction;
    use mailroom_ports::{
        ActivityId, EmailAddress, EmailId, InvestorId, MockClock, MockStore, UserId,
    };
    use mockall::predicate::eq;

    use super::*;

    fn check(current: ProposalStatus, decision: Decision, expected: Result<Transition, ()>) {
        assert_eq!(
            transition(current, decision).map_err(|_| ()),
            expected,
            "{current:?} + {decision:?}"
        );
    }

    #[test]
    fn pending_proposals_move_once_and_decisions_are_final() {
        use Decision::*;
        use ProposalStatus::*;
        check(Pending, Approve, Ok(Transition::Apply(Approved)));
        check(Pending, Reject, Ok(Transition::Apply(Rejected)));
        check(Approved, Approve, Ok(Transition::AlreadyDone));
        check(Rejected, Reject, Ok(Transition::AlreadyDone));
        check(Approved, Reject, Err(()));
        check(Rejected, Approve, Err(()));
    }

    #[test]
    fn a_conflict_says_what_was_decided() {
        let e = transition(ProposalStatus::Rejected, Decision::Approve).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the proposal is already rejected; it cannot be approved"
        );
    }

    fn user(id: i64, role: Role, is_active: bool) -> User {
        User {
            id: UserId(id),
            email: EmailAddress::parse(&format!("u{id}@fund.com")).unwrap(),
            display_name: format!("U{id}"),
            role,
            is_active,
        }
    }

    fn proposal(status: ProposalStatus, owners: &[i64]) -> Proposal {
        Proposal {
            id: ProposalId(7),
            email_id: EmailId(70),
            investor_id: InvestorId(1),
            investor_name: Some("Acme".into()),
            contact_id: None,
            subject: Some("Fund III".into()),
            from_email: None,
            sent_at: Timestamp::UNIX_EPOCH,
            direction: Direction::Inbound,
            status,
            decided_by: None,
            decided_by_email: None,
            decided_at: None,
            activity_id: None,
            owner_user_ids: owners.iter().map(|&o| UserId(o)).collect(),
        }
    }

    fn check_may(actor: User, owners: &[i64], expected: bool) {
        assert_eq!(
            may_decide(&actor, &proposal(ProposalStatus::Pending, owners)),
            expected,
            "{actor:?} {owners:?}"
        );
    }

    #[test]
    fn active_admins_and_mailbox_owners_may_decide() {
        check_may(user(1, Role::Admin, true), &[], true);
        check_may(user(1, Role::Admin, false), &[], false);
        check_may(user(2, Role::Member, true), &[2, 3], true);
        check_may(user(2, Role::Member, true), &[3], false);
        check_may(user(2, Role::Member, false), &[2], false);
    }

    fn clock() -> Arc<MockClock> {
        let mut c = MockClock::new();
        c.expect_now().return_const(Timestamp::UNIX_EPOCH);
        Arc::new(c)
    }

    fn approved(p: Proposal, by: i64) -> Proposal {
        Proposal {
            status: ProposalStatus::Approved,
            decided_by: Some(UserId(by)),
            activity_id: Some(ActivityId(500)),
            ..p
        }
    }

    #[test]
    fn approving_a_pending_proposal_applies_it_and_returns_the_stored_row() {
        let mut store = MockStore::new();
        let reads = Mutex::new(vec![
            approved(proposal(ProposalStatus::Pending, &[2]), 2),
            proposal(ProposalStatus::Pending, &[2]),
        ]);
        store
            .expect_get_proposal()
            .times(2)
            .returning(move |_| Ok(reads.lock().unwrap().pop().unwrap()));
        store
            .expect_apply_decision()
            .with(
                eq(ProposalId(7)),
                eq(Decision::Approve),
                eq(UserId(2)),
                eq(Timestamp::UNIX_EPOCH),
            )
            .times(1)
            .returning(|_, _, _, _| Ok(Some(ActivityId(500))));
        let service = ProposalService::new(Arc::new(store), clock());

        let p = block_on(service.decide(
            &user(2, Role::Member, true),
            ProposalId(7),
            Decision::Approve,
        ))
        .unwrap();

        assert_eq!(p.status, ProposalStatus::Approved);
        assert_eq!(p.activity_id, Some(ActivityId(500)));
    }

    #[test]
    fn repeating_an_approval_changes_nothing_and_answers_the_same() {
        let mut store = MockStore::new();
        store
            .expect_get_proposal()
            .times(1)
            .returning(|_| Ok(approved(proposal(ProposalStatus::Pending, &[]), 1)));
        store.expect_apply_decision().never();
        let service = ProposalService::new(Arc::new(store), clock());

        let p = block_on(service.decide(
            &user(1, Role::Admin, true),
            ProposalId(7),
            Decision::Approve,
        ))
        .unwrap();

        assert_eq!(p.activity_id, Some(ActivityId(500)));
    }

    #[test]
    fn a_concurrent_identical_approval_is_reread_and_succeeds() {
        let mut store = MockStore::new();
        // First read: pending; after the lost race: approved by someone else.
        let reads = Mutex::new(vec![
            approved(proposal(ProposalStatus::Pending, &[]), 9),
            proposal(ProposalStatus::Pending, &[]),
        ]);
        store
            .expect_get_proposal()
            .times(2)
            .returning(move |_| Ok(reads.lock().unwrap().pop().unwrap()));
        store
            .expect_apply_decision()
            .times(1)
            .returning(|_, _, _, _| Err(StoreError::Conflict("no longer pending".into())));
        let service = ProposalService::new(Arc::new(store), clock());

        let p = block_on(service.decide(
            &user(1, Role::Admin, true),
            ProposalId(7),
            Decision::Approve,
        ))
        .unwrap();

        assert_eq!(p.decided_by, Some(UserId(9)));
        assert_eq!(p.activity_id, Some(ActivityId(500)));
    }

    #[test]
    fn a_concurrent_opposite_decision_is_a_conflict() {
        let mut store = MockStore::new();
        let rejected = Proposal {
            status: ProposalStatus::Rejected,
            ..proposal(ProposalStatus::Pending, &[])
        };
        let reads = Mutex::new(vec![rejected, proposal(ProposalStatus::Pending, &[])]);
        store
            .expect_get_proposal()
            .times(2)
            .returning(move |_| Ok(reads.lock().unwrap().pop().unwrap()));
        store
            .expect_apply_decision()
            .times(1)
            .returning(|_, _, _, _| Err(StoreError::Conflict("no longer pending".into())));
        let service = ProposalService::new(Arc::new(store), clock());

        let err = block_on(service.decide(
            &user(1, Role::Admin, true),
            ProposalId(7),
            Decision::Approve,
        ))
        .unwrap_err();

        assert!(matches!(err, ProposalError::Conflict(_)), "{err:?}");
    }

    #[test]
    fn approving_a_rejected_proposal_is_a_conflict_and_writes_nothing() {
        let mut store = MockStore::new();
        store.expect_get_proposal().returning(|_| {
            Ok(Proposal {
                status: ProposalStatus::Rejected,
                ..proposal(ProposalStatus::Pending, &[])
            })
        });
        store.expect_apply_decision().never();
        let service = ProposalService::new(Arc::new(store), clock());

        let err = block_on(service.decide(
            &user(1, Role::Admin, true),
            ProposalId(7),
            Decision::Approve,
        ))
        .unwrap_err();

        assert!(matches!(err, ProposalError::Conflict(_)), "{err:?}");
    }

    #[test]
    fn a_member_who_does_not_own_the_mailbox_is_forbidden() {
        let mut store = MockStore::new();
        store
            .expect_get_proposal()
            .returning(|_| Ok(proposal(ProposalStatus::Pending, &[3])));
        store.expect_apply_decision().never();
        let service = ProposalService::new(Arc::new(store), clock());

        let err = block_on(service.decide(
            &user(2, Role::Member, true),
            ProposalId(7),
            Decision::Reject,
        ))
        .unwrap_err();

        assert!(matches!(err, ProposalError::Forbidden), "{err:?}");
    }

    #[test]
    fn deciding_a_missing_proposal_is_not_found() {
        let mut store = MockStore::new();
        store
            .expect_get_proposal()
            .returning(|_| Err(StoreError::NotFound("proposal 7".into())));
        let service = ProposalService::new(Arc::new(store), clock());

        let err =
            block_on(service.decide(&user(1, Role::Admin, true), ProposalId(7), Decision::Reject))
                .unwrap_err();

        assert!(matches!(err, ProposalError::NotFound), "{err:?}");
    }

    #[test]
    fn admins_list_all_proposals_and_members_only_their_own() {
        let mut store = MockStore::new();
        store
            .expect_list_proposals()
            .with(eq(Some(ProposalStatus::Pending)), eq(None))
            .times(1)
            .returning(|_, _| Ok(vec![]));
        store
            .expect_list_proposals()
            .with(eq(None), eq(Some(UserId(2))))
            .times(1)
            .returning(|_, _| Ok(vec![]));
        let service = ProposalService::new(Arc::new(store), clock());

        block_on(service.list(&user(1, Role::Admin, true), Some(ProposalStatus::Pending))).unwrap();
        block_on(service.list(&user(2, Role::Member, true), None)).unwrap();
        let err = block_on(service.list(&user(3, Role::Member, false), None)).unwrap_err();
        assert!(matches!(err, ProposalError::Forbidden), "{err:?}");
    }

    #[test]
    fn a_page_of_proposals_has_the_same_visibility_as_the_list() {
        let mut store = MockStore::new();
        let page = PageRequest::first(10);
        store
            .expect_proposal_page()
            .with(eq(ProposalQuery {
                status: Some(ProposalStatus::Pending),
                visible_to: None,
                page,
            }))
            .times(1)
            .returning(|_| {
                Ok(Page {
                    items: vec![],
                    next: None,
                })
            });
        store
            .expect_proposal_page()
            .with(eq(ProposalQuery {
                status: None,
                visible_to: Some(UserId(2)),
                page,
            }))
            .times(1)
            .returning(|_| {
                Ok(Page {
                    items: vec![],
                    next: None,
                })
            });
        let service = ProposalService::new(Arc::new(store), clock());

        block_on(service.page(
            &user(1, Role::Admin, true),
            Some(ProposalStatus::Pending),
            page,
        ))
        .unwrap();
        block_on(service.page(&user(2, Role::Member, true), None, page)).unwrap();
        let err = block_on(service.page(&user(3, Role::Member, false), None, page)).unwrap_err();
        assert!(matches!(err, ProposalError::Forbidden), "{err:?}");
    }
}
