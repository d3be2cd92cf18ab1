//! The circuit breaker as a state machine, apart from any I/O: which call a
//! breaker admits, what a call's result moves it to, when the reaper may
//! recover it, and the error-rate sample. `super` loads and saves the state
//! (compare-and-swap) around these functions.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchyard_config::BreakerMode;

use crate::ttl_cache::TtlCache;

/// How long a half-open probe may take before another request may probe.
pub(crate) const PROBE_SLOT: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerPhase {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerPhase {
    /// The snake_case name (as serialized).
    pub fn name(self) -> &'static str {
        match self {
            BreakerPhase::Closed => "closed",
            BreakerPhase::Open => "open",
            BreakerPhase::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakerState {
    pub phase: BreakerPhase,
    pub consecutive_failures: u32,
    pub consecutive_successes: u32,
    pub opened_at: Option<DateTime<Utc>>,
    pub probe_until: Option<DateTime<Utc>>,
    /// Probes in flight while half-open (at most `half_open_max_probes`).
    #[serde(default)]
    pub probes: u32,
    pub last_error: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for BreakerState {
    fn default() -> Self {
        Self {
            phase: BreakerPhase::Closed,
            consecutive_failures: 0,
            consecutive_successes: 0,
            opened_at: None,
            probe_until: None,
            probes: 0,
            last_error: None,
            updated_at: None,
        }
    }
}

/// Effective settings of one provider's breaker.
#[derive(Debug, Clone)]
pub struct BreakerSettings {
    pub failure_threshold: u32,
    pub success_threshold: u32,
    pub recovery_timeout: chrono::Duration,
    pub fallback: Option<String>,
    pub mode: BreakerMode,
    pub error_rate_threshold_percent: u32,
    pub window: chrono::Duration,
    pub window_size: usize,
    pub minimum_requests: usize,
    pub half_open_max_probes: u32,
}

impl BreakerSettings {
    /// Settings for a provider reached only as a fallback, without a breaker of its own.
    pub(crate) fn never_opens() -> Self {
        Self {
            failure_threshold: u32::MAX,
            success_threshold: 1,
            recovery_timeout: chrono::Duration::zero(),
            fallback: None,
            mode: BreakerMode::Consecutive,
            error_rate_threshold_percent: 100,
            window: chrono::Duration::zero(),
            window_size: 1,
            minimum_requests: usize::MAX,
            half_open_max_probes: 1,
        }
    }
}

/// What a breaker lets a call do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Admission {
    Call,
    Refused,
    /// The call may probe once the breaker is saved as this state.
    Probe(BreakerState),
}

/// Admit a call at `now`.
pub(crate) fn admit(
    state: &BreakerState,
    settings: &BreakerSettings,
    now: DateTime<Utc>,
) -> Admission {
    let probe_until = Some(now + chrono::Duration::seconds(PROBE_SLOT));
    match state.phase {
        BreakerPhase::Closed => Admission::Call,
        BreakerPhase::Open => {
            let reopen_at = state.opened_at.unwrap_or(now) + settings.recovery_timeout;
            if now < reopen_at {
                return Admission::Refused;
            }
            Admission::Probe(BreakerState {
                phase: BreakerPhase::HalfOpen,
                consecutive_successes: 0,
                probes: 1,
                probe_until,
                ..state.clone()
            })
        }
        BreakerPhase::HalfOpen => {
            // Probes whose slot ran out (their caller crashed) no longer count.
            let in_flight = if state.probe_until.is_some_and(|until| until > now) {
                state.probes
            } else {
                0
            };
            if in_flight >= settings.half_open_max_probes {
                return Admission::Refused;
            }
            Admission::Probe(BreakerState {
                probes: in_flight + 1,
                probe_until,
                ..state.clone()
            })
        }
    }
}

/// A call's result as the breaker counts it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CallResult {
    pub success: bool,
    /// A failure of the error-rate sample that crosses its threshold now.
    pub trips: bool,
    pub error: Option<String>,
}

/// The state after a call; `None` when there is nothing to write.
pub(crate) fn after_call(
    state: &BreakerState,
    settings: &BreakerSettings,
    now: DateTime<Utc>,
    call: &CallResult,
) -> Option<BreakerState> {
    let open = |failures: u32| BreakerState {
        phase: BreakerPhase::Open,
        consecutive_failures: failures,
        consecutive_successes: 0,
        opened_at: Some(now),
        probe_until: None,
        probes: 0,
        last_error: call.error.clone(),
        updated_at: state.updated_at,
    };
    let failures = state.consecutive_failures.saturating_add(1);
    Some(match (state.phase, call.success) {
        (BreakerPhase::Closed, _) if call.trips => {
            open(state.consecutive_failures + u32::from(!call.success))
        }
        (BreakerPhase::Closed, true) => BreakerState {
            consecutive_failures: 0,
            ..state.clone()
        },
        (BreakerPhase::Closed, false) => {
            if settings.mode == BreakerMode::Consecutive && failures >= settings.failure_threshold {
                open(failures)
            } else {
                BreakerState {
                    consecutive_failures: failures,
                    last_error: call.error.clone(),
                    ..state.clone()
                }
            }
        }
        (BreakerPhase::HalfOpen, true) => {
            let successes = state.consecutive_successes.saturating_add(1);
            if successes >= settings.success_threshold {
                BreakerState::default()
            } else {
                BreakerState {
                    consecutive_successes: successes,
                    probes: state.probes.saturating_sub(1),
                    ..state.clone()
                }
            }
        }
        (BreakerPhase::HalfOpen | BreakerPhase::Open, false) => open(failures),
        (BreakerPhase::Open, true) => return None,
    })
}

/// The reaper's move at `now`: an open breaker past its recovery timeout
/// becomes half-open; probe slots whose callers died are released.
pub(crate) fn recovered(
    state: &BreakerState,
    settings: &BreakerSettings,
    now: DateTime<Utc>,
) -> Option<BreakerState> {
    match state.phase {
        BreakerPhase::Open if state.opened_at.unwrap_or(now) + settings.recovery_timeout <= now => {
            Some(BreakerState {
                phase: BreakerPhase::HalfOpen,
                consecutive_successes: 0,
                probes: 0,
                probe_until: None,
                ..state.clone()
            })
        }
        BreakerPhase::HalfOpen
            if state.probes > 0 && state.probe_until.is_none_or(|until| until <= now) =>
        {
            Some(BreakerState {
                probes: 0,
                probe_until: None,
                ..state.clone()
            })
        }
        _ => None,
    }
}

/// One instance's recent results for a provider (error-rate mode): at most
/// `window_size` of them, none older than `window`.
#[derive(Debug, Default)]
pub(crate) struct ErrorRateSample(VecDeque<(DateTime<Utc>, bool)>);

impl ErrorRateSample {
    /// Add a result; true when the sample now crosses the threshold.
    pub(crate) fn add(
        &mut self,
        settings: &BreakerSettings,
        now: DateTime<Utc>,
        success: bool,
    ) -> bool {
        let window = &mut self.0;
        window.push_back((now, success));
        while window.len() > settings.window_size
            || window
                .front()
                .is_some_and(|(at, _)| *at + settings.window <= now)
        {
            window.pop_front();
        }
        let failures = window.iter().filter(|(_, ok)| !ok).count();
        window.len() >= settings.minimum_requests
            && failures * 100 >= settings.error_rate_threshold_percent as usize * window.len()
    }
}

/// How long a process trusts a breaker state it read.
const CACHE: std::time::Duration = std::time::Duration::from_secs(1);

/// Recent call results per provider, for the error-rate mode: this instance's
/// own sample of the provider's health (the resulting state is shared).
type Samples = HashMap<String, ErrorRateSample>;

/// Per process: breaker states as last read (provider → state, version) and
/// the error-rate samples.
pub(crate) struct BreakerCache {
    pub(crate) states: TtlCache<String, (BreakerState, u64)>,
    pub(crate) samples: Mutex<Samples>,
}

impl Default for BreakerCache {
    fn default() -> Self {
        Self {
            states: TtlCache::new(CACHE),
            samples: Mutex::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
    }

    fn settings() -> BreakerSettings {
        BreakerSettings {
            failure_threshold: 3,
            success_threshold: 2,
            recovery_timeout: chrono::Duration::seconds(60),
            fallback: None,
            mode: BreakerMode::Consecutive,
            error_rate_threshold_percent: 50,
            window: chrono::Duration::seconds(60),
            window_size: 10,
            minimum_requests: 4,
            half_open_max_probes: 1,
        }
    }

    fn failed() -> CallResult {
        CallResult {
            success: false,
            trips: false,
            error: Some("503".into()),
        }
    }

    fn succeeded() -> CallResult {
        CallResult {
            success: true,
            trips: false,
            error: None,
        }
    }

    #[test]
    fn consecutive_failures_open_it_and_a_success_resets_the_count() {
        let s = settings();
        let mut state = BreakerState::default();
        for _ in 0..2 {
            state = after_call(&state, &s, t(0), &failed()).expect("write");
            assert_eq!(state.phase, BreakerPhase::Closed);
        }
        let reset = after_call(&state, &s, t(0), &succeeded()).expect("write");
        assert_eq!(reset.consecutive_failures, 0);
        state = after_call(&state, &s, t(5), &failed()).expect("write");
        assert_eq!(state.phase, BreakerPhase::Open);
        assert_eq!(state.opened_at, Some(t(5)));
        assert_eq!(state.last_error.as_deref(), Some("503"));
        assert_eq!(
            after_call(&state, &s, t(6), &succeeded()),
            None,
            "a late success changes nothing"
        );
    }

    #[test]
    fn an_open_breaker_refuses_until_its_timeout_then_admits_one_probe() {
        let s = settings();
        let open = BreakerState {
            phase: BreakerPhase::Open,
            opened_at: Some(t(0)),
            consecutive_failures: 3,
            ..BreakerState::default()
        };
        assert_eq!(admit(&open, &s, t(59)), Admission::Refused);
        let Admission::Probe(probing) = admit(&open, &s, t(60)) else {
            panic!("a probe at the timeout");
        };
        assert_eq!((probing.phase, probing.probes), (BreakerPhase::HalfOpen, 1));
        assert_eq!(
            admit(&probing, &s, t(61)),
            Admission::Refused,
            "one probe at a time"
        );
        assert!(
            matches!(admit(&probing, &s, t(60 + PROBE_SLOT)), Admission::Probe(_)),
            "a probe whose slot ran out no longer counts"
        );
    }

    #[test]
    fn probes_close_it_after_enough_successes_and_reopen_it_on_a_failure() {
        let s = settings();
        let half = BreakerState {
            phase: BreakerPhase::HalfOpen,
            probes: 1,
            consecutive_failures: 3,
            ..BreakerState::default()
        };
        let one = after_call(&half, &s, t(0), &succeeded()).expect("write");
        assert_eq!(
            (one.phase, one.consecutive_successes, one.probes),
            (BreakerPhase::HalfOpen, 1, 0)
        );
        let closed = after_call(&one, &s, t(1), &succeeded()).expect("write");
        assert_eq!(closed, BreakerState::default());
        let reopened = after_call(&half, &s, t(2), &failed()).expect("write");
        assert_eq!(
            (reopened.phase, reopened.opened_at),
            (BreakerPhase::Open, Some(t(2)))
        );
    }

    #[test]
    fn the_reaper_recovers_open_breakers_and_frees_dead_probe_slots() {
        let s = settings();
        let open = BreakerState {
            phase: BreakerPhase::Open,
            opened_at: Some(t(0)),
            ..BreakerState::default()
        };
        assert_eq!(recovered(&open, &s, t(59)), None);
        assert_eq!(
            recovered(&open, &s, t(60)).map(|b| b.phase),
            Some(BreakerPhase::HalfOpen)
        );
        let stuck = BreakerState {
            phase: BreakerPhase::HalfOpen,
            probes: 1,
            probe_until: Some(t(30)),
            ..BreakerState::default()
        };
        assert_eq!(
            recovered(&stuck, &s, t(29)),
            None,
            "its probe may still answer"
        );
        assert_eq!(recovered(&stuck, &s, t(30)).map(|b| b.probes), Some(0));
        assert_eq!(recovered(&BreakerState::default(), &s, t(0)), None);
    }

    #[test]
    fn the_error_rate_sample_needs_its_minimum_and_forgets_old_results() {
        let s = BreakerSettings {
            mode: BreakerMode::ErrorRate,
            ..settings()
        };
        let mut sample = ErrorRateSample::default();
        assert!(!sample.add(&s, t(0), false));
        assert!(!sample.add(&s, t(1), false));
        assert!(
            !sample.add(&s, t(2), true),
            "3 results: under the minimum of 4"
        );
        assert!(sample.add(&s, t(3), true), "2 of 4 failed: 50%");
        let mut later = ErrorRateSample::default();
        later.add(&s, t(0), false);
        later.add(&s, t(1), false);
        assert!(
            !later.add(&s, t(61), true) && !later.add(&s, t(62), true),
            "the failures left the 60 s window"
        );
        let trip = after_call(
            &BreakerState::default(),
            &s,
            t(3),
            &CallResult {
                trips: true,
                ..failed()
            },
        )
        .expect("write");
        assert_eq!(trip.phase, BreakerPhase::Open, "a crossing sample opens it");
    }
}
