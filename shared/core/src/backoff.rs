//! Exponential backoff with full jitter, shared by every retry loop (provider
//! calls, store contention, compare-and-swap loops) so that each states its
//! bound the same way.

use std::time::Duration;

/// Ceilings that double from `first` and stop at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    pub const fn new(first: Duration, max: Duration) -> Self {
        Self { first, max }
    }

    /// The longest wait before retry number `retry` (0-based): `first * 2^retry`, at most `max`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }

    /// Full jitter: `fraction` (0.0–1.0, from a random source) of the
    /// ceiling, so writers that collided once do not collide again in step.
    pub fn jittered(&self, retry: u32, fraction: f64) -> Duration {
        self.ceiling(retry).mul_f64(fraction.clamp(0.0, 1.0))
    }

    /// The longest total wait of `retries` retries.
    pub fn worst_case(&self, retries: u32) -> Duration {
        (0..retries).map(|r| self.ceiling(r)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_then_hold() {
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(8));
        let secs: Vec<u64> = (0..6).map(|r| b.ceiling(r).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 8, 8]);
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(8));
        assert_eq!(b.worst_case(4), Duration::from_secs(15));
    }

    #[test]
    fn jitter_scales_the_ceiling_and_never_exceeds_it() {
        let b = Backoff::new(Duration::from_millis(10), Duration::from_millis(320));
        assert_eq!(b.jittered(2, 0.5), Duration::from_millis(20));
        assert_eq!(b.jittered(2, 7.0), Duration::from_millis(40));
        assert_eq!(b.jittered(2, -1.0), Duration::ZERO);
    }
}
