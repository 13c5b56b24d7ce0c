//! The only place that reads the time.

use jiff::Timestamp;

/// The current instant. Services take it as a port so tests drive time.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}
