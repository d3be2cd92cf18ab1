//! Per-provider call figures for `GET /v1/providers/health`: counts since
//! start and latency percentiles over the most recent calls, in this process.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

/// Latencies kept per provider for the percentiles (a sliding window, so
/// memory stays bounded however long the process runs).
const WINDOW: usize = 1024;

#[derive(Debug, Default)]
struct Calls {
    successes: u64,
    failures: u64,
    recent_latencies_us: VecDeque<u64>,
    last_request_at_ms: Option<i64>,
    last_error: Option<String>,
}

/// The figures of one provider, in the fields Acteon's clients read.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProviderFigures {
    pub total_requests: u64,
    pub successes: u64,
    pub failures: u64,
    /// Percent, 0–100 (100 before the first call).
    pub success_rate: f64,
    pub avg_latency_ms: f64,
    pub p50_latency_ms: f64,
    pub p95_latency_ms: f64,
    pub p99_latency_ms: f64,
    /// Milliseconds since the Unix epoch.
    pub last_request_at: Option<i64>,
    pub last_error: Option<String>,
}

#[derive(Debug, Default)]
pub struct ProviderStats {
    calls: Mutex<HashMap<String, Calls>>,
}

impl ProviderStats {
    pub fn record(&self, provider: &str, took: Duration, at_ms: i64, error: Option<&str>) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        let entry = calls.entry(provider.to_string()).or_default();
        match error {
            None => entry.successes += 1,
            Some(message) => {
                entry.failures += 1;
                entry.last_error = Some(message.to_string());
            }
        }
        if entry.recent_latencies_us.len() == WINDOW {
            entry.recent_latencies_us.pop_front();
        }
        entry
            .recent_latencies_us
            .push_back(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
        entry.last_request_at_ms = Some(at_ms);
    }

    pub fn figures(&self, provider: &str) -> ProviderFigures {
        let calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        let Some(entry) = calls.get(provider) else {
            return ProviderFigures {
                success_rate: 100.0,
                ..ProviderFigures::default()
            };
        };
        let total = entry.successes + entry.failures;
        let mut sorted: Vec<u64> = entry.recent_latencies_us.iter().copied().collect();
        sorted.sort_unstable();
        let ms = |us: u64| us as f64 / 1000.0;
        // Nearest-rank percentile over the window.
        let percentile = |p: f64| {
            if sorted.is_empty() {
                return 0.0;
            }
            let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
            ms(sorted[rank.clamp(1, sorted.len()) - 1])
        };
        let avg = if sorted.is_empty() {
            0.0
        } else {
            ms(sorted.iter().sum::<u64>()) / sorted.len() as f64
        };
        ProviderFigures {
            total_requests: total,
            successes: entry.successes,
            failures: entry.failures,
            success_rate: if total == 0 {
                100.0
            } else {
                entry.successes as f64 * 100.0 / total as f64
            },
            avg_latency_ms: avg,
            p50_latency_ms: percentile(50.0),
            p95_latency_ms: percentile(95.0),
            p99_latency_ms: percentile(99.0),
            last_request_at: entry.last_request_at_ms,
            last_error: entry.last_error.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rates_and_percentiles() {
        let stats = ProviderStats::default();
        assert_eq!(stats.figures("p").success_rate, 100.0);
        for ms in 1..=100u64 {
            let error = (ms % 10 == 0).then_some("boom");
            stats.record("p", Duration::from_millis(ms), ms as i64, error);
        }
        let f = stats.figures("p");
        assert_eq!((f.total_requests, f.successes, f.failures), (100, 90, 10));
        assert_eq!(f.success_rate, 90.0);
        assert_eq!(
            (f.p50_latency_ms, f.p95_latency_ms, f.p99_latency_ms),
            (50.0, 95.0, 99.0)
        );
        assert_eq!(f.avg_latency_ms, 50.5);
        assert_eq!(f.last_request_at, Some(100));
        assert_eq!(f.last_error.as_deref(), Some("boom"));
    }

    #[test]
    fn the_latency_window_is_bounded() {
        let stats = ProviderStats::default();
        for _ in 0..WINDOW {
            stats.record("p", Duration::from_secs(10), 0, None);
        }
        for _ in 0..WINDOW {
            stats.record("p", Duration::from_millis(1), 0, None);
        }
        let f = stats.figures("p");
        assert_eq!(f.total_requests, 2 * WINDOW as u64);
        assert_eq!(f.p99_latency_ms, 1.0, "old calls left the window");
    }
}
