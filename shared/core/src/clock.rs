//! The clock port. Everything that depends on "now" (time conditions, windows,
//! expiry, schedules) reads it from a [`Clock`] so tests can move time by hand.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// Wall-clock time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to (tests, simulations, dry runs at a given time).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.lock() = to;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now += by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A poisoned lock only means another thread panicked while holding a
        // plain timestamp; the value is still valid.
        self.now.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

/// `at` plus `seconds`, saturating at the largest representable instant
/// instead of panicking: durations come from clients and rule files, and
/// although every entry point bounds them, time arithmetic must never be
/// the thing that crashes a worker.
pub fn after_seconds(at: DateTime<Utc>, seconds: u64) -> DateTime<Utc> {
    i64::try_from(seconds)
        .ok()
        .and_then(Duration::try_seconds)
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `at` plus a std duration, saturating like [`after_seconds`].
pub fn after(at: DateTime<Utc>, by: std::time::Duration) -> DateTime<Utc> {
    Duration::from_std(by)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod saturating_tests {
    use super::*;

    #[test]
    fn huge_durations_saturate_instead_of_panicking() {
        let now = Utc::now();
        assert_eq!(after_seconds(now, u64::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(after_seconds(now, 10u64.pow(17)), DateTime::<Utc>::MAX_UTC);
        assert_eq!(after_seconds(now, 60), now + Duration::seconds(60));
        assert_eq!(
            after(now, std::time::Duration::MAX),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(
            after(now, std::time::Duration::from_millis(1500)),
            now + Duration::milliseconds(1500)
        );
    }
}
