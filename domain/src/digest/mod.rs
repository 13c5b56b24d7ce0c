//! The daily digest (R-DIG-1 … R-DIG-6): composition, policy, schedule, service.

pub mod compose;
pub mod policy;
pub mod schedule;
pub mod service;

pub use compose::{Digest, DigestInput, UserActivity, UserEmail, compose, team_activity};
pub use policy::{
    DigestPolicy, EnvPolicy, PolicyError, PolicyPatch, PolicySource, SendHour, resolve_policy,
};
pub use schedule::{ScheduleDecision, WaitReason, decide, retry_backoff};
pub use service::{
    DigestConfig, DigestError, DigestService, PolicyView, ScheduleOutcome, SendReport,
};
