//! Trust in what was captured: re-matching stored mail when the directory
//! widens (or a never-log entry is removed), and the completeness audit of
//! a mailbox.

pub mod audit;
pub mod never_log;
pub mod rematch;

pub use never_log::{NeverLogError, add_never_log, mailbox_refusal, never_log_refusal};
pub use rematch::{
    RematchConfig, RematchError, RematchPlan, RematchService, StepOutcome, directory_widened,
    plan_rematch, remove_never_log, update_directory,
};
