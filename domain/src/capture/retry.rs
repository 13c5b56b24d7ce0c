//! When a message that failed to parse is downloaded again: a bounded number
//! of attempts with a doubling delay, so a permanently broken message does
//! not cost a download on every full sync.

use jiff::{SignedDuration, Timestamp};
use mailroom_ports::records::CaptureAttempts;

/// How failed messages are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Downloads in all (the first included); after that the message is
    /// left to the audit, which reports it with its error.
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles after each further one.
    pub first_delay: SignedDuration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            first_delay: SignedDuration::from_hours(1),
        }
    }
}

impl RetryPolicy {
    /// When the message may be downloaded again; `None` once its attempts
    /// are used up.
    pub fn next_attempt_at(&self, attempts: &CaptureAttempts) -> Option<Timestamp> {
        if attempts.failures >= self.max_attempts {
            return None;
        }
        let doublings = attempts.failures.saturating_sub(1).min(30);
        let delay = self
            .first_delay
            .checked_mul(1_i32 << doublings)
            .unwrap_or(SignedDuration::MAX);
        Some(
            attempts
                .last_at
                .saturating_add(delay)
                .unwrap_or(Timestamp::MAX),
        )
    }

    /// Whether sync may download the message at `now`.
    pub fn due(&self, attempts: &CaptureAttempts, now: Timestamp) -> bool {
        self.next_attempt_at(attempts).is_some_and(|at| at <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(failures: u32, hours_since: i64, expected: bool) {
        let last_at: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let attempts = CaptureAttempts {
            gmail_message_id: "g".into(),
            failures,
            last_at,
        };
        let now = last_at
            .checked_add(SignedDuration::from_hours(hours_since))
            .unwrap();
        assert_eq!(
            RetryPolicy::default().due(&attempts, now),
            expected,
            "{failures} failures, {hours_since} h later"
        );
    }

    #[test]
    fn the_delay_doubles_from_an_hour_and_stops_after_five_attempts() {
        check(1, 0, false);
        check(1, 1, true);
        check(2, 1, false);
        check(2, 2, true);
        check(3, 3, false);
        check(3, 4, true);
        check(4, 8, true);
        check(4, 7, false);
        check(5, 10_000, false);
        check(9, 10_000, false);
    }
}
