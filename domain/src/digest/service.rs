//! The digest use cases: policy, preview, send now, test email, and one scheduler cycle.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use mailroom_ports::records::{DigestSendLog, DigestTrigger};
use mailroom_ports::store::keys;
use mailroom_ports::{
    AdminRecipients, Clock, EmailAddress, LlmError, LlmNarrator, MailTransport, NotAnAdmin,
    OutgoingMail, RecipientsError, SendError, Store, StoreError, TransportKind, UserId,
};
use tracing::instrument;

use crate::digest::compose::{Digest, DigestInput, UserActivity, compose, team_activity};
use crate::digest::policy::{
    DigestPolicy, EnvPolicy, PolicyPatch, PolicySource, SendHour, resolve_policy,
};
use crate::digest::schedule::{ScheduleDecision, WaitReason, decide, retry_backoff};
use crate::direction::OwnMailboxes;
use crate::gating::LiveRows;

/// The window of "send now": the last 24 hours (R-DIG-5).
pub const SEND_NOW_WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// A digest reports what was captured in its window (ours): mail captured a
/// few minutes after the digest that covered its send time rolls into the
/// next one. Mail sent more than this long before the window, such as a new
/// mailbox's 30-day backfill, is history rather than news and is left out.
pub const LATE_CAPTURE_GRACE: SignedDuration = SignedDuration::from_hours(48);

/// The subject of the test email (R-DIG-6).
pub const TEST_SUBJECT: &str = "mailroom test email";
/// The body of the test email: fixed, so it can never carry data.
pub const TEST_BODY: &str = "This is a test message from mailroom.\n\n\
    The daily digest will reach this address. No reply is needed.\n";

/// How the digest is run on this replica.
#[derive(Debug, Clone)]
pub struct DigestConfig {
    /// The fund's zone: the send hour, the digest's day and its times are local to it.
    pub timezone: TimeZone,
    /// `CRM_DIGEST_ENABLED` / `CRM_DIGEST_SEND_HOUR`.
    pub env_policy: EnvPolicy,
    /// The overall deadline for all narrator calls of one digest.
    pub narrative_budget: Duration,
    /// This replica's id for the day's claim.
    pub holder: String,
    /// How long a claim keeps other replicas off a day while this one sends.
    pub claim_lease: Duration,
}

/// The effective policy and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyView {
    pub policy: DigestPolicy,
    pub source: PolicySource,
}

/// What a manual send (send now, test email) delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReport {
    pub transport: TransportKind,
    pub recipients: Vec<EmailAddress>,
    /// The digest sent; `None` for the test email.
    pub digest: Option<Digest>,
}

/// What one scheduler cycle did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleOutcome {
    Disabled,
    NotYet,
    AlreadySent,
    /// Another replica holds today's claim.
    ClaimedElsewhere,
    Sent {
        day: Date,
        since: Timestamp,
        until: Timestamp,
        transport: TransportKind,
    },
    /// The send failed; no replica retries the day before `retry_at`.
    Failed {
        day: Date,
        retry_at: Timestamp,
        /// A fixed error name (`SendError::kind()` or `no_admins`), never upstream text.
        kind: &'static str,
    },
}

/// What a digest use case can fail with. The `Display` of each variant is
/// safe to log; `SendFailed`'s source may carry upstream detail and is for
/// logs only (R-HARD-4).
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error("invalid digest policy: {0}")]
    InvalidPolicy(String),
    #[error("invalid digest window: {0}")]
    InvalidWindow(String),
    #[error(transparent)]
    NotAnAdmin(#[from] NotAnAdmin),
    #[error("there is no active admin to send the digest to")]
    NoAdmins,
    #[error("the digest could not be sent")]
    SendFailed(#[source] SendError),
    #[error("the store failed")]
    Store(#[from] StoreError),
}

impl From<RecipientsError> for DigestError {
    fn from(error: RecipientsError) -> Self {
        match error {
            RecipientsError::NoAdmins => DigestError::NoAdmins,
            RecipientsError::Store(e) => DigestError::Store(e),
        }
    }
}

/// The digest's use cases over the ports.
pub struct DigestService<S: ?Sized, L: ?Sized, T: ?Sized, C: ?Sized> {
    store: Arc<S>,
    narrator: Arc<L>,
    transport: Arc<T>,
    clock: Arc<C>,
    config: DigestConfig,
    /// A scheduled digest that went out but whose day could not be marked
    /// sent: (day, cursor). The next cycle records it before anything else,
    /// so a database hiccup after a send never sends the same day twice.
    unrecorded: Arc<Mutex<Option<(Date, Timestamp)>>>,
}

// Derived `Clone` would require the port types themselves to be `Clone`.
impl<S: ?Sized, L: ?Sized, T: ?Sized, C: ?Sized> Clone for DigestService<S, L, T, C> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            narrator: Arc::clone(&self.narrator),
            transport: Arc::clone(&self.transport),
            clock: Arc::clone(&self.clock),
            config: self.config.clone(),
            unrecorded: Arc::clone(&self.unrecorded),
        }
    }
}

impl<S, L, T, C> DigestService<S, L, T, C>
where
    S: Store + ?Sized,
    L: LlmNarrator + ?Sized,
    T: MailTransport + ?Sized,
    C: Clock + ?Sized,
{
    pub fn new(
        store: Arc<S>,
        narrator: Arc<L>,
        transport: Arc<T>,
        clock: Arc<C>,
        config: DigestConfig,
    ) -> Self {
        Self {
            store,
            narrator,
            transport,
            clock,
            config,
            unrecorded: Arc::default(),
        }
    }

    pub fn config(&self) -> &DigestConfig {
        &self.config
    }

    /// The effective policy: the DB row, else the env, else the default.
    ///
    /// # Errors
    /// `Store` when the setting cannot be read.
    #[instrument(skip_all)]
    pub async fn policy(&self) -> Result<PolicyView, DigestError> {
        let stored = self.store.get_setting(keys::DIGEST_POLICY).await?;
        let (policy, source) = resolve_policy(stored.as_ref(), &self.config.env_policy);
        Ok(PolicyView { policy, source })
    }

    /// Applies `patch` to the effective policy and stores the result, which
    /// then wins over the env. An empty patch changes and stores nothing.
    ///
    /// # Errors
    /// `InvalidPolicy` for a send hour outside 0..=23 (checked before anything
    /// is read or written); `Store` when the setting cannot be read or written.
    #[instrument(skip_all)]
    pub async fn update_policy(&self, patch: PolicyPatch) -> Result<PolicyView, DigestError> {
        if let Some(hour) = patch.send_hour {
            SendHour::new(hour).map_err(|e| DigestError::InvalidPolicy(e.to_string()))?;
        }
        let current = self.policy().await?;
        if patch.is_empty() {
            return Ok(current);
        }
        let policy = current
            .policy
            .apply(&patch)
            .map_err(|e| DigestError::InvalidPolicy(e.to_string()))?;
        self.store
            .put_setting(keys::DIGEST_POLICY, policy.to_json())
            .await?;
        tracing::info!(
            enabled = policy.enabled,
            send_hour = policy.send_hour.get(),
            "digest policy updated"
        );
        Ok(PolicyView {
            policy,
            source: PolicySource::Db,
        })
    }

    /// Builds the digest of `(since, until]` without sending it.
    ///
    /// # Errors
    /// `InvalidWindow` unless `since < until`; `Store` when reading fails.
    /// Narrator failures never fail a build.
    #[instrument(skip_all)]
    pub async fn build(&self, since: Timestamp, until: Timestamp) -> Result<Digest, DigestError> {
        if since >= until {
            return Err(DigestError::InvalidWindow(format!(
                "since ({since}) must be before until ({until})"
            )));
        }
        self.build_window(since, until).await
    }

    /// Builds the last 24 hours' digest and sends it to the active admins,
    /// whatever the policy, leaving the scheduler's cursor and claims alone.
    ///
    /// # Errors
    /// `NoAdmins`, `SendFailed`, `Store`.
    #[instrument(skip_all)]
    pub async fn send_now(&self) -> Result<SendReport, DigestError> {
        let until = self.clock.now();
        let since = until.checked_sub(SEND_NOW_WINDOW).unwrap_or(Timestamp::MIN);
        let digest = self.build_window(since, until).await?;
        let recipients = AdminRecipients::load(&*self.store).await?;
        let transport = self
            .deliver(
                DigestTrigger::SendNow,
                since,
                until,
                &recipients,
                &digest_mail(&digest),
            )
            .await
            .map_err(DigestError::SendFailed)?;
        Ok(SendReport {
            transport,
            recipients: recipients.addresses().to_vec(),
            digest: Some(digest),
        })
    }

    /// Sends a short fixed message to `to`, which must all be active admins.
    ///
    /// # Errors
    /// `NotAnAdmin` when any address in `to` is not an active admin, or `to`
    /// is empty (nothing is sent then); `NoAdmins`, `SendFailed`, `Store`.
    #[instrument(skip_all, fields(recipients = to.len()))]
    pub async fn send_test(&self, to: &[EmailAddress]) -> Result<SendReport, DigestError> {
        let recipients = AdminRecipients::load(&*self.store).await?.restrict_to(to)?;
        let now = self.clock.now();
        let mail = OutgoingMail {
            subject: TEST_SUBJECT.to_string(),
            text: TEST_BODY.to_string(),
            html: None,
        };
        let transport = self
            .deliver(DigestTrigger::TestEmail, now, now, &recipients, &mail)
            .await
            .map_err(DigestError::SendFailed)?;
        Ok(SendReport {
            transport,
            recipients: recipients.addresses().to_vec(),
            digest: None,
        })
    }

    /// Marks a day sent whose digest went out in an earlier cycle while the
    /// store failed; until that works, nothing else is sent.
    async fn record_unrecorded_send(&self) -> Result<(), DigestError> {
        let pending = *self
            .unrecorded
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some((day, cursor)) = pending else {
            return Ok(());
        };
        match self
            .store
            .complete_digest_day(day, &self.config.holder, cursor)
            .await
        {
            // Conflict: the claim is no longer ours (it expired and another
            // replica took the day over); there is nothing left to record.
            Ok(()) | Err(StoreError::Conflict(_)) => {
                *self
                    .unrecorded
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = None;
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// One scheduler cycle at `clock.now()`: re-reads the policy, and when the
    /// day's digest is due and this replica wins the day's claim, sends it and
    /// moves the cursor; a failed send leaves the cursor and backs off.
    ///
    /// # Errors
    /// `Store` when the store fails (a claim then lapses at its lease's end).
    #[instrument(skip_all)]
    pub async fn run_once(&self) -> Result<ScheduleOutcome, DigestError> {
        self.record_unrecorded_send().await?;
        let now = self.clock.now();
        let policy = self.policy().await?.policy;
        let state = self.store.digest_state().await?;
        let (day, since, until) = match decide(now, &self.config.timezone, &policy, &state) {
            ScheduleDecision::Wait(WaitReason::Disabled) => return Ok(ScheduleOutcome::Disabled),
            ScheduleDecision::Wait(WaitReason::BeforeSendHour) => {
                return Ok(ScheduleOutcome::NotYet);
            }
            ScheduleDecision::Wait(WaitReason::AlreadySent) => {
                return Ok(ScheduleOutcome::AlreadySent);
            }
            ScheduleDecision::Due { day, since, until } => (day, since, until),
        };
        let holder = self.config.holder.as_str();
        let lease_until = now
            .checked_add(self.config.claim_lease)
            .unwrap_or(Timestamp::MAX);
        let Some(claim) = self
            .store
            .claim_digest_day(day, holder, now, lease_until)
            .await?
        else {
            tracing::debug!(%day, "digest day claimed elsewhere");
            return Ok(ScheduleOutcome::ClaimedElsewhere);
        };
        let retry_at = now
            .checked_add(retry_backoff(claim.attempts))
            .unwrap_or(Timestamp::MAX);

        let digest = match self.build_window(since, until).await {
            Ok(digest) => digest,
            Err(error) => {
                self.release_after_failure(day, retry_at).await;
                return Err(error);
            }
        };
        let recipients = match AdminRecipients::load(&*self.store).await {
            Ok(recipients) => recipients,
            Err(RecipientsError::NoAdmins) => {
                tracing::warn!(%day, "scheduled digest not sent: there is no active admin");
                self.log_send(
                    DigestTrigger::Scheduled,
                    since,
                    until,
                    None,
                    0,
                    Some("no_admins"),
                )
                .await;
                self.release_after_failure(day, retry_at).await;
                return Ok(ScheduleOutcome::Failed {
                    day,
                    retry_at,
                    kind: "no_admins",
                });
            }
            Err(RecipientsError::Store(error)) => {
                self.release_after_failure(day, retry_at).await;
                return Err(error.into());
            }
        };

        match self
            .deliver(
                DigestTrigger::Scheduled,
                since,
                until,
                &recipients,
                &digest_mail(&digest),
            )
            .await
        {
            Ok(transport) => {
                if let Err(error) = self.store.complete_digest_day(day, holder, until).await {
                    *self
                        .unrecorded
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) = Some((day, until));
                    tracing::error!(%day, "digest sent but its day could not be recorded; retrying next cycle");
                    return Err(error.into());
                }
                tracing::info!(%day, transport = transport.as_str(), "scheduled digest sent");
                Ok(ScheduleOutcome::Sent {
                    day,
                    since,
                    until,
                    transport,
                })
            }
            Err(error) => {
                self.release_after_failure(day, retry_at).await;
                Ok(ScheduleOutcome::Failed {
                    day,
                    retry_at,
                    kind: error.kind(),
                })
            }
        }
    }

    /// Builds a window that the caller has checked (it may be empty).
    async fn build_window(
        &self,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Digest, DigestError> {
        let sent_after = since
            .saturating_sub(LATE_CAPTURE_GRACE)
            .unwrap_or(Timestamp::MIN);
        let rows = LiveRows::new(self.store.digest_rows(since, until, sent_after).await?);
        let team = self.store.digest_team().await?;
        let own = OwnMailboxes::new(self.store.own_addresses().await?);
        let activity = team_activity(&team, &rows);
        let narratives = self.narrate(&activity, since, until).await;
        let digest = compose(
            &DigestInput {
                since,
                until,
                timezone: &self.config.timezone,
                team: &team,
                rows: &rows,
                own: &own,
            },
            &narratives,
        );
        tracing::debug!(
            emails = digest.email_count,
            investors = digest.investor_count,
            users = digest.user_count,
            narrated = narratives.len(),
            "digest built"
        );
        Ok(digest)
    }

    /// Asks the narrator for one paragraph per user with activity, all under
    /// one deadline, so a slow LLM delays a digest by the budget at most; a
    /// user it does not answer for keeps the count-only line.
    async fn narrate(
        &self,
        activity: &[UserActivity],
        since: Timestamp,
        until: Timestamp,
    ) -> BTreeMap<UserId, String> {
        let mut narratives = BTreeMap::new();
        let deadline = self
            .clock
            .now()
            .checked_add(self.config.narrative_budget)
            .unwrap_or(Timestamp::MAX);
        for user in activity.iter().filter(|u| u.has_activity()) {
            if self.clock.now() >= deadline {
                tracing::warn!(user_id = %user.user_id, "narrative budget spent; using the count-only paragraph");
                continue;
            }
            match self
                .narrator
                .narrate(&user.narrative_request(since, until), deadline)
                .await
            {
                Ok(paragraph) if !paragraph.trim().is_empty() => {
                    narratives.insert(user.user_id, paragraph);
                }
                Ok(_) => {
                    tracing::warn!(user_id = %user.user_id, "narrator answered nothing; using the count-only paragraph");
                }
                // The error's text can quote the LLM's answer, which names
                // investors, so only its kind is logged.
                Err(error) => {
                    tracing::warn!(
                        user_id = %user.user_id,
                        error = llm_error_kind(&error),
                        "narrator failed; using the count-only paragraph"
                    );
                }
            }
        }
        narratives
    }

    /// Sends `mail` and records the attempt, whatever its result.
    async fn deliver(
        &self,
        trigger: DigestTrigger,
        since: Timestamp,
        until: Timestamp,
        recipients: &AdminRecipients,
        mail: &OutgoingMail,
    ) -> Result<TransportKind, SendError> {
        let result = self.transport.send(recipients, mail).await;
        let count = u32::try_from(recipients.len()).unwrap_or(u32::MAX);
        match &result {
            Ok(transport) => {
                self.log_send(trigger, since, until, Some(*transport), count, None)
                    .await;
            }
            Err(error) => {
                tracing::error!(?trigger, error_kind = error.kind(), error = %error, "digest send failed");
                self.log_send(trigger, since, until, None, count, Some(error.kind()))
                    .await;
            }
        }
        result
    }

    /// Writes a `digest_sends` row. The mail has already gone out (or not),
    /// so a failure to record it is logged rather than returned.
    async fn log_send(
        &self,
        trigger: DigestTrigger,
        since: Timestamp,
        until: Timestamp,
        transport: Option<TransportKind>,
        recipients: u32,
        error_kind: Option<&str>,
    ) {
        let log = DigestSendLog {
            trigger,
            window_since: since,
            window_until: until,
            transport,
            recipients,
            error_kind: error_kind.map(str::to_string),
            at: self.clock.now(),
        };
        if let Err(error) = self.store.record_digest_send(log).await {
            tracing::warn!(%error, "could not record the digest send");
        }
    }

    /// Counts the failed attempt and keeps the day off-limits until `retry_at`.
    /// If even that fails the claim's lease still lapses, so it is only logged.
    async fn release_after_failure(&self, day: Date, retry_at: Timestamp) {
        if let Err(error) = self
            .store
            .fail_digest_day(day, &self.config.holder, retry_at)
            .await
        {
            tracing::warn!(%day, %error, "could not record the failed digest attempt");
        } else {
            tracing::warn!(%day, %retry_at, "scheduled digest failed; will retry");
        }
    }
}

fn digest_mail(digest: &Digest) -> OutgoingMail {
    OutgoingMail {
        subject: digest.subject.clone(),
        text: digest.body.clone(),
        html: Some(digest.html.clone()),
    }
}

fn llm_error_kind(error: &LlmError) -> &'static str {
    match error {
        LlmError::NotConfigured => "not_configured",
        LlmError::Timeout => "timeout",
        LlmError::Unavailable(_) => "unavailable",
        LlmError::Invalid(_) => "invalid",
    }
}
