//! The scheduler's once-a-day decision (R-DIG-4) and its retry backoff.

use std::time::Duration;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use mailroom_ports::records::DigestState;

use crate::digest::policy::DigestPolicy;

/// The window of a digest sent for the first time ever.
pub const FIRST_WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// The first retry waits this long; each failure doubles it.
const RETRY_BASE: Duration = Duration::from_secs(5 * 60);
/// However many failures, a retry is at most this far away.
const RETRY_CAP: Duration = Duration::from_secs(2 * 60 * 60);

/// Why nothing is due now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitReason {
    Disabled,
    BeforeSendHour,
    AlreadySent,
}

/// What the scheduler should do at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleDecision {
    Wait(WaitReason),
    /// Send the window `(since, until]` as the digest of the local `day`.
    Due {
        day: Date,
        since: Timestamp,
        until: Timestamp,
    },
}

/// Decides whether the digest is due at `now`.
///
/// The hour is compared in local wall-clock time, so a `send_hour` that does
/// not exist on a spring-forward day (02:00 in New York) is reached at the
/// first later local time, and one that happens twice on a fall-back day is
/// sent at its first occurrence only, because the day is then marked sent.
///
/// The window starts at the last send, so missed days roll into the next
/// digest; it covers the last 24 hours when nothing was ever sent. A
/// `last_sent_date` after today (the zone was changed, or the clock went
/// back) counts as sent, to rule out a second digest the same day; a cursor
/// after `now` gives an empty window for the same reason.
pub fn decide(
    now: Timestamp,
    tz: &TimeZone,
    policy: &DigestPolicy,
    state: &DigestState,
) -> ScheduleDecision {
    if !policy.enabled {
        return ScheduleDecision::Wait(WaitReason::Disabled);
    }
    let local = tz.to_datetime(now);
    if local.hour() < i8::try_from(policy.send_hour.get()).unwrap_or(i8::MAX) {
        return ScheduleDecision::Wait(WaitReason::BeforeSendHour);
    }
    let today = local.date();
    if state.last_sent_date.is_some_and(|sent| sent >= today) {
        return ScheduleDecision::Wait(WaitReason::AlreadySent);
    }
    let since = match state.last_sent_at {
        Some(cursor) => cursor.min(now),
        None => now.checked_sub(FIRST_WINDOW).unwrap_or(Timestamp::MIN),
    };
    ScheduleDecision::Due {
        day: today,
        since,
        until: now,
    }
}

/// How long to wait before retrying a day whose send failed `attempts` times
/// before: 5 minutes, doubling, at most 2 hours.
pub fn retry_backoff(attempts: u32) -> Duration {
    let factor = 1u32.checked_shl(attempts).unwrap_or(u32::MAX);
    RETRY_BASE.saturating_mul(factor).min(RETRY_CAP)
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;
    use crate::digest::policy::SendHour;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("test timestamp")
    }

    fn new_york() -> TimeZone {
        TimeZone::get("America/New_York").expect("tzdb has America/New_York")
    }

    fn on_at(hour: i64) -> DigestPolicy {
        DigestPolicy {
            enabled: true,
            send_hour: SendHour::new(hour).expect("test hour"),
        }
    }

    fn never_sent() -> DigestState {
        DigestState::default()
    }

    fn sent_on(day: Date, at: &str) -> DigestState {
        DigestState {
            last_sent_at: Some(ts(at)),
            last_sent_date: Some(day),
        }
    }

    /// `Some(day)` when due for that local day, `None` when waiting.
    fn check(now: &str, send_hour: i64, state: DigestState, expected: Option<Date>) {
        let got = match decide(ts(now), &new_york(), &on_at(send_hour), &state) {
            ScheduleDecision::Due { day, until, .. } => {
                assert_eq!(until, ts(now));
                Some(day)
            }
            ScheduleDecision::Wait(_) => None,
        };
        assert_eq!(
            got, expected,
            "now {now}, send_hour {send_hour}, state {state:?}"
        );
    }

    #[test]
    fn the_send_hour_is_local_wall_clock_time_across_dst_changes() {
        let mar7 = date(2026, 3, 7);
        let mar8 = date(2026, 3, 8);
        let nov1 = date(2026, 11, 1);

        // Spring forward, 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z).
        check("2026-03-08T06:59:00Z", 2, never_sent(), None); // 01:59 EST
        check("2026-03-08T07:00:00Z", 2, never_sent(), Some(mar8)); // 03:00 EDT
        check("2026-03-08T07:00:00Z", 3, never_sent(), Some(mar8));
        check("2026-03-08T21:59:00Z", 18, never_sent(), None); // 17:59 EDT
        check("2026-03-08T22:00:00Z", 18, never_sent(), Some(mar8)); // 18:00 EDT
        // The day before, the same UTC instant is still 17:00 EST.
        check("2026-03-07T22:00:00Z", 18, never_sent(), None);
        check("2026-03-07T23:00:00Z", 18, never_sent(), Some(mar7));

        // Fall back, 2026-11-01: 02:00 EDT falls back to 01:00 EST (06:00Z).
        check("2026-11-01T04:59:00Z", 1, never_sent(), None); // 00:59 EDT
        check("2026-11-01T05:00:00Z", 1, never_sent(), Some(nov1)); // 01:00 EDT
        // The repeated 01:00 (EST) does not send a second time.
        check(
            "2026-11-01T06:00:00Z",
            1,
            sent_on(nov1, "2026-11-01T05:00:00Z"),
            None,
        );
        check("2026-11-01T22:59:00Z", 18, never_sent(), None); // 17:59 EST
        check("2026-11-01T23:00:00Z", 18, never_sent(), Some(nov1)); // 18:00 EST
    }

    #[test]
    fn today_is_the_local_date_not_the_utc_date() {
        let nov24 = date(2026, 11, 24);
        // 22:00 EST on the 24th is already the 25th in UTC.
        check(
            "2026-11-25T03:00:00Z",
            18,
            sent_on(nov24, "2026-11-24T23:00:00Z"),
            None,
        );
        check(
            "2026-11-25T03:00:00Z",
            18,
            sent_on(date(2026, 11, 23), "2026-11-23T23:00:00Z"),
            Some(nov24),
        );
        // Local midnight starts a new day.
        check(
            "2026-11-25T05:00:00Z",
            0,
            sent_on(nov24, "2026-11-24T23:00:00Z"),
            Some(date(2026, 11, 25)),
        );
    }

    /// Steps a scheduler through one local day minute by minute, marking the
    /// day sent whenever it is due, and returns the instants it sent at.
    fn sends_during(day: Date, send_hour: i64) -> Vec<Timestamp> {
        let tz = new_york();
        let start = day
            .to_zoned_datetime(tz.clone())
            .expect("start of day")
            .timestamp();
        let end = day
            .tomorrow()
            .expect("next day")
            .to_zoned_datetime(tz.clone())
            .expect("start of next day")
            .timestamp();
        let mut state = sent_on(
            day.yesterday().expect("previous day"),
            "2000-01-01T00:00:00Z",
        );
        let mut sent = Vec::new();
        let mut now = start;
        while now < end {
            if let ScheduleDecision::Due {
                day: due, until, ..
            } = decide(now, &tz, &on_at(send_hour), &state)
            {
                assert_eq!(due, day);
                state = sent_on(due, &until.to_string());
                sent.push(now);
            }
            now = now
                .checked_add(SignedDuration::from_mins(1))
                .expect("in range");
        }
        sent
    }

    #[test]
    fn every_send_hour_sends_exactly_once_on_dst_days_at_the_first_local_time_at_or_after_it() {
        let tz = new_york();
        for day in [date(2026, 3, 8), date(2026, 11, 1), date(2026, 6, 15)] {
            for hour in 0..=23 {
                let sent = sends_during(day, hour);
                // `compatible` resolves a gap to the later time and a fold to
                // the earlier one: exactly the instant the digest must go out.
                let expected = day
                    .at(i8::try_from(hour).expect("hour fits"), 0, 0, 0)
                    .to_zoned_datetime(tz.clone())
                    .expect("resolvable")
                    .timestamp();
                assert_eq!(sent, vec![expected], "day {day}, send_hour {hour}");
            }
        }
        // The spring-forward 02:00 that does not exist goes out at 03:00 EDT.
        assert_eq!(
            sends_during(date(2026, 3, 8), 2),
            vec![ts("2026-03-08T07:00:00Z")]
        );
        // The fall-back 01:00 that happens twice goes out at the first one.
        assert_eq!(
            sends_during(date(2026, 11, 1), 1),
            vec![ts("2026-11-01T05:00:00Z")]
        );
    }

    #[test]
    fn a_disabled_policy_never_sends() {
        let policy = DigestPolicy {
            enabled: false,
            send_hour: SendHour::new(0).expect("test hour"),
        };
        assert_eq!(
            decide(
                ts("2026-11-24T23:30:00Z"),
                &new_york(),
                &policy,
                &never_sent()
            ),
            ScheduleDecision::Wait(WaitReason::Disabled)
        );
    }

    #[test]
    fn wait_reasons_say_why() {
        let tz = new_york();
        let nov24 = date(2026, 11, 24);
        assert_eq!(
            decide(ts("2026-11-24T22:00:00Z"), &tz, &on_at(18), &never_sent()),
            ScheduleDecision::Wait(WaitReason::BeforeSendHour)
        );
        assert_eq!(
            decide(
                ts("2026-11-24T23:30:00Z"),
                &tz,
                &on_at(18),
                &sent_on(nov24, "2026-11-24T23:00:00Z")
            ),
            ScheduleDecision::Wait(WaitReason::AlreadySent)
        );
        // A sent date after today (the zone changed) also counts as sent.
        assert_eq!(
            decide(
                ts("2026-11-24T23:30:00Z"),
                &tz,
                &on_at(18),
                &sent_on(date(2026, 11, 25), "2026-11-24T20:00:00Z")
            ),
            ScheduleDecision::Wait(WaitReason::AlreadySent)
        );
    }

    #[test]
    fn the_window_starts_at_the_cursor_so_missed_days_roll_into_the_next_digest() {
        let now = ts("2026-11-24T23:05:00Z");
        let state = sent_on(date(2026, 11, 21), "2026-11-21T23:00:00Z");
        assert_eq!(
            decide(now, &new_york(), &on_at(18), &state),
            ScheduleDecision::Due {
                day: date(2026, 11, 24),
                since: ts("2026-11-21T23:00:00Z"),
                until: now,
            }
        );
    }

    #[test]
    fn a_first_digest_covers_the_last_24_hours() {
        let now = ts("2026-11-24T23:05:00Z");
        assert_eq!(
            decide(now, &new_york(), &on_at(18), &never_sent()),
            ScheduleDecision::Due {
                day: date(2026, 11, 24),
                since: ts("2026-11-23T23:05:00Z"),
                until: now,
            }
        );
    }

    #[test]
    fn a_cursor_in_the_future_gives_an_empty_window_not_a_repeat() {
        let now = ts("2026-11-24T23:05:00Z");
        let state = sent_on(date(2026, 11, 23), "2026-11-25T01:00:00Z");
        assert_eq!(
            decide(now, &new_york(), &on_at(18), &state),
            ScheduleDecision::Due {
                day: date(2026, 11, 24),
                since: now,
                until: now,
            }
        );
    }

    #[test]
    fn retries_back_off_from_five_minutes_doubling_up_to_two_hours() {
        let check = |attempts: u32, minutes: u64| {
            assert_eq!(
                retry_backoff(attempts),
                Duration::from_secs(minutes * 60),
                "attempts {attempts}"
            );
        };
        check(0, 5);
        check(1, 10);
        check(2, 20);
        check(3, 40);
        check(4, 80);
        check(5, 120);
        check(6, 120);
        check(31, 120);
        check(32, 120);
        check(u32::MAX, 120);
    }
}
