//! The loops `mailroom serve` runs beside the HTTP server. Each loop is
//! trivial: the decisions live in the services' `run_once`. A stop ends a
//! loop between cycles; a cycle under way is left to finish (the sync's own
//! stop flag ends it at its next batch boundary).

use std::future::Future;
use std::time::Duration;

use mailroom_domain::capture::SyncError;
use mailroom_domain::trust::StepOutcome;
use mailroom_domain::trust::audit::ScheduledAudit;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior, interval_at};

use crate::http::error::DisplayChain;
use crate::shutdown::stopped;
use crate::state::AppState;

/// When a scheduler runs its first cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum First {
    /// As soon as the service starts.
    AtOnce,
    /// One period after the start: work that can wait leaves the start to
    /// the syncs (an audit holds the mailbox's lease while it runs).
    AfterOnePeriod,
}

/// Runs `cycle` every `every` (a late tick waits rather than bunching up)
/// until `stop`, then logs that the `name` scheduler stopped.
async fn each_tick<F, Fut>(
    name: &str,
    every: Duration,
    first: First,
    stop: watch::Receiver<bool>,
    mut cycle: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let start = match first {
        First::AtOnce => Instant::now(),
        First::AfterOnePeriod => Instant::now() + every,
    };
    let mut tick = interval_at(start, every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stopped(stop.clone()) => break,
        }
        cycle().await;
    }
    tracing::info!("the {name} scheduler stopped");
}

/// The digest scheduler (R-DIG-4): one cycle every 60 s until `stop`.
pub async fn digest_loop(state: AppState, stop: watch::Receiver<bool>) {
    each_tick(
        "digest",
        Duration::from_secs(60),
        First::AtOnce,
        stop,
        || async {
            match state.digest.run_once().await {
                Ok(outcome) => tracing::debug!(?outcome, "digest cycle"),
                Err(e) => tracing::error!(error = %DisplayChain(&e), "digest cycle failed"),
            }
        },
    )
    .await;
}

/// The capture scheduler (R-CAP-2): every mailbox every `every` until
/// `stop`; idle when Gmail is not configured.
pub async fn sync_loop(state: AppState, every: Duration, stop: watch::Receiver<bool>) {
    let Some(sync) = state.sync.clone() else {
        tracing::info!("the sync scheduler is off: Gmail is not configured");
        stopped(stop).await;
        return;
    };
    each_tick("sync", every, First::AtOnce, stop, || async {
        for (account, result) in sync.run_once().await {
            match result {
                Ok(report) => tracing::info!(account = account.0, ?report, "mailbox synced"),
                Err(SyncError::Busy) => {
                    tracing::debug!(account = account.0, "mailbox skipped: a sync is running")
                }
                Err(SyncError::Stopped) => {}
                Err(e) => {
                    tracing::warn!(account = account.0, error = %DisplayChain(&e), "mailbox sync failed")
                }
            }
        }
    })
    .await;
}

/// How often the audit scheduler looks for a mailbox due for its audit.
const AUDIT_CHECK_EVERY: Duration = Duration::from_secs(60);

/// The scheduled completeness audit: every minute, from a minute after the
/// start (so the start's syncs go first), audits (without repair) each
/// mailbox whose last audit is older than the configured interval; idle when
/// Gmail is not configured.
pub async fn audit_loop(state: AppState, stop: watch::Receiver<bool>) {
    let Some(audit) = state.audit.clone() else {
        tracing::info!("the audit scheduler is off: Gmail is not configured");
        stopped(stop).await;
        return;
    };
    each_tick("audit", AUDIT_CHECK_EVERY, First::AfterOnePeriod, stop, || async {
        let results = match audit.run_due(&state.audit_schedule).await {
            Ok(results) => results,
            Err(e) => {
                tracing::warn!(error = %DisplayChain(&e), "could not list mailboxes to audit");
                return;
            }
        };
        for (account, result) in results {
            match result {
                Ok(ScheduledAudit::Audited(figure)) => {
                    tracing::info!(account = account.0, ?figure, "scheduled audit recorded")
                }
                Ok(ScheduledAudit::NotDue | ScheduledAudit::Busy) => {}
                Err(e) => {
                    tracing::warn!(account = account.0, error = %DisplayChain(&e), "scheduled audit failed")
                }
            }
        }
    })
    .await;
}

/// Steps per tick of the re-match scheduler before it looks at `stop` again.
const REMATCH_STEPS_PER_TICK: usize = 50;

/// The re-match scheduler: every `every`, steps a requested re-match until
/// it is done, another replica holds it, or a step fails (the job keeps its
/// cursor and the next tick resumes). Without Gmail the steps link only
/// mail whose content is stored.
pub async fn rematch_loop(state: AppState, every: Duration, stop: watch::Receiver<bool>) {
    let Some(rematch) = state.rematch.clone() else {
        tracing::info!("the re-match scheduler is off");
        stopped(stop).await;
        return;
    };
    let halt = stop.clone();
    each_tick("re-match", every, First::AtOnce, stop, || async {
        for _ in 0..REMATCH_STEPS_PER_TICK {
            if *halt.borrow() {
                break;
            }
            match rematch.run_once().await {
                Ok(StepOutcome::Progressed(p)) => tracing::debug!(?p, "re-match step"),
                Ok(StepOutcome::Idle | StepOutcome::Finished(_)) => break,
                Err(e) => {
                    tracing::warn!(error = %DisplayChain(&e), "re-match step failed");
                    break;
                }
            }
        }
    })
    .await;
}
