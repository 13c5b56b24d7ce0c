//! The loops `mailroom serve` runs beside the HTTP server. Each loop is
//! trivial: the decisions live in the services' `run_once`.

use std::time::Duration;

use tokio::time::{MissedTickBehavior, interval};

use crate::http::error::DisplayChain;
use crate::state::AppState;

/// The digest scheduler (R-DIG-4): one cycle every 60 s, forever.
pub async fn digest_loop(state: AppState) {
    let mut tick = interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state.digest.run_once().await {
            Ok(outcome) => tracing::debug!(?outcome, "digest cycle"),
            Err(e) => tracing::error!(error = %DisplayChain(&e), "digest cycle failed"),
        }
    }
}

/// The capture scheduler (R-CAP-2): every mailbox every `every`; returns at
/// once when Gmail is not configured.
pub async fn sync_loop(state: AppState, every: Duration) {
    let Some(sync) = state.sync.clone() else {
        tracing::info!("the sync scheduler is off: Gmail is not configured");
        std::future::pending::<()>().await;
        return;
    };
    let mut tick = interval(every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for (account, result) in sync.run_once().await {
            match result {
                Ok(report) => tracing::info!(account = account.0, ?report, "mailbox synced"),
                Err(e) => {
                    tracing::warn!(account = account.0, error = %DisplayChain(&e), "mailbox sync failed")
                }
            }
        }
    }
}
