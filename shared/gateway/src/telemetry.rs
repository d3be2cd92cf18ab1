//! Labelled measures in the Prometheus text format (`GET /metrics/prometheus`):
//! outcomes by namespace, tenant and provider, dispatch latency, chain step
//! durations, the local worker's queue lag, and every counter of
//! [`crate::metrics::Metrics`].
//!
//! Label sets are bounded, so a client cannot grow the process's memory or
//! a scrape's size by inventing tenants: at most [`MAX_SERIES`]
//! (namespace, tenant, provider) combinations get series of their own; the
//! rest are counted under `_other` (and `switchyard_series_folded_total`
//! says how many were). Latency is labelled by outcome only (14 values),
//! chain steps by chain name (from the configuration).

use std::collections::HashSet;
use std::hash::Hash;
use std::sync::RwLock;

use hashbrown::{Equivalent, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::metrics::MetricsSnapshot;

/// The most (namespace, tenant, provider) combinations with series of their own.
pub const MAX_SERIES: usize = 1_000;
/// What a combination past [`MAX_SERIES`] is counted as.
pub const FOLDED: &str = "_other";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    namespace: String,
    tenant: String,
    provider: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChainLabels {
    chain: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// A combination with series of its own, as the hot-path cache keys it.
#[derive(Debug, Hash, PartialEq, Eq)]
struct SeriesKey {
    namespace: String,
    tenant: String,
    provider: String,
    outcome: &'static str,
}

/// The same key borrowed from a dispatch, so a lookup allocates nothing.
/// Its derived `Hash` feeds the same values in the same order as
/// [`SeriesKey`]'s, which `Equivalent` requires.
#[derive(Hash)]
struct SeriesRef<'a> {
    namespace: &'a str,
    tenant: &'a str,
    provider: &'a str,
    outcome: &'a str,
}

impl Equivalent<SeriesKey> for SeriesRef<'_> {
    fn equivalent(&self, key: &SeriesKey) -> bool {
        self.namespace == key.namespace
            && self.tenant == key.tenant
            && self.provider == key.provider
            && self.outcome == key.outcome
    }
}

/// Handles on a combination's counter and its outcome's histogram: both
/// share their values with the families the scrape encodes.
#[derive(Debug)]
struct SeriesHandles {
    count: Counter,
    latency: Histogram,
}

/// 0.5 ms to about 16 s, doubling.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

#[derive(Debug)]
pub struct Telemetry {
    actions: Family<ActionLabels, Counter>,
    latency: Histograms<OutcomeLabels>,
    chain_steps: Histograms<ChainLabels>,
    series: RwLock<HashSet<(String, String, String)>>,
    /// Every combination with series of its own, so that a dispatch after
    /// the first finds its measures under a read lock without allocating.
    handles: RwLock<HashMap<SeriesKey, SeriesHandles>>,
    folded: Counter,
    /// How late the local worker's last batch was taken, in milliseconds.
    queue_lag_ms: AtomicI64,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self {
            actions: Family::default(),
            latency: Family::new_with_constructor(latency_buckets),
            chain_steps: Family::new_with_constructor(latency_buckets),
            series: RwLock::default(),
            handles: RwLock::default(),
            folded: Counter::default(),
            queue_lag_ms: AtomicI64::new(0),
        }
    }
}

/// A breaker's state as a number: 0 closed, 1 half-open, 2 open.
pub fn breaker_level(state: &str) -> i64 {
    match state {
        "open" => 2,
        "half_open" => 1,
        _ => 0,
    }
}

impl Telemetry {
    /// The labels a combination is counted under while there is room; none
    /// (counted as folded) after.
    fn scope(
        &self,
        namespace: &str,
        tenant: &str,
        provider: &str,
    ) -> Option<(String, String, String)> {
        let key = (
            namespace.to_string(),
            tenant.to_string(),
            provider.to_string(),
        );
        let known = self
            .series
            .read()
            .map(|s| s.contains(&key))
            .unwrap_or(false);
        if known {
            return Some(key);
        }
        let Ok(mut series) = self.series.write() else {
            self.folded.inc();
            return None;
        };
        if series.contains(&key) || series.len() < MAX_SERIES {
            series.insert(key.clone());
            return Some(key);
        }
        self.folded.inc();
        None
    }

    /// One dispatch's outcome and how long the pipeline took.
    pub fn observe_dispatch(
        &self,
        namespace: &str,
        tenant: &str,
        provider: &str,
        outcome: &'static str,
        took: Duration,
    ) {
        let seconds = took.as_secs_f64();
        let key = SeriesRef {
            namespace,
            tenant,
            provider,
            outcome,
        };
        if let Ok(handles) = self.handles.read()
            && let Some(found) = handles.get(&key)
        {
            found.count.inc();
            found.latency.observe(seconds);
            return;
        }
        let scoped = self.scope(namespace, tenant, provider);
        let folded = scoped.is_none();
        let (scoped_namespace, scoped_tenant, scoped_provider) =
            scoped.unwrap_or_else(|| (FOLDED.into(), FOLDED.into(), FOLDED.into()));
        let found = SeriesHandles {
            count: self
                .actions
                .get_or_create(&ActionLabels {
                    namespace: scoped_namespace,
                    tenant: scoped_tenant,
                    provider: scoped_provider,
                    outcome: outcome.to_string(),
                })
                .clone(),
            latency: self
                .latency
                .get_or_create(&OutcomeLabels {
                    outcome: outcome.to_string(),
                })
                .clone(),
        };
        found.count.inc();
        found.latency.observe(seconds);
        // A folded combination is not cached: the cache stays as bounded as
        // the label sets, and each of its dispatches is counted as folded.
        if !folded
            && let Ok(mut handles) = self.handles.write()
            && !handles.contains_key(&key)
        {
            let owned = SeriesKey {
                namespace: namespace.to_string(),
                tenant: tenant.to_string(),
                provider: provider.to_string(),
                outcome,
            };
            handles.insert(owned, found);
        }
    }

    /// One chain step: its provider call and audit record.
    pub fn observe_chain_step(&self, chain: &str, took: Duration) {
        self.chain_steps
            .get_or_create(&ChainLabels {
                chain: chain.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// How long after its due time the local worker took its last batch.
    pub fn observe_queue_lag(&self, lag: Duration) {
        let ms = i64::try_from(lag.as_millis()).unwrap_or(i64::MAX);
        self.queue_lag_ms.store(ms, Ordering::Relaxed);
    }

    /// Everything in the Prometheus text format: the labelled measures,
    /// every counter, and the breaker states given (`provider`, state).
    pub fn encode(&self, counters: &MetricsSnapshot, breakers: &[(String, String)]) -> String {
        let mut registry = Registry::with_prefix("switchyard");
        registry.register(
            "actions",
            "Dispatched actions by namespace, tenant, provider and outcome",
            self.actions.clone(),
        );
        registry.register(
            "dispatch_duration_seconds",
            "Time from the start of the pipeline to its outcome, by outcome",
            self.latency.clone(),
        );
        registry.register(
            "chain_step_duration_seconds",
            "Time of one chain step, by chain",
            self.chain_steps.clone(),
        );
        registry.register(
            "series_folded",
            "Dispatches counted under _other because the label sets were full",
            self.folded.clone(),
        );
        registry.register(
            "worker_queue_lag_seconds",
            "How late the local worker took its last batch of delayed messages",
            ConstGauge::new(self.queue_lag_ms.load(Ordering::Relaxed) as f64 / 1000.0),
        );
        let states: Family<ProviderLabels, prometheus_client::metrics::gauge::Gauge> =
            Family::default();
        for (provider, state) in breakers {
            states
                .get_or_create(&ProviderLabels {
                    provider: provider.clone(),
                })
                .set(breaker_level(state));
        }
        registry.register(
            "circuit_breaker_state",
            "Circuit breaker per provider: 0 closed, 1 half-open, 2 open",
            states,
        );
        let values = serde_json::to_value(counters).unwrap_or_default();
        if let serde_json::Value::Object(map) = values {
            for (name, value) in map {
                let value = value.as_u64().unwrap_or(0);
                registry.register(
                    name.clone(),
                    format!("The `{name}` counter of GET /metrics"),
                    ConstCounter::new(value),
                );
            }
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_sets_are_bounded() {
        let telemetry = Telemetry::default();
        for i in 0..MAX_SERIES + 5 {
            telemetry.observe_dispatch("ns", &format!("t{i}"), "p", "executed", Duration::ZERO);
        }
        // A combination seen before keeps its series when the table is full.
        telemetry.observe_dispatch("ns", "t0", "p", "executed", Duration::ZERO);
        let text = telemetry.encode(&MetricsSnapshot::default(), &[]);
        let own = text
            .lines()
            .filter(|l| l.starts_with("switchyard_actions_total{") && !l.contains(FOLDED))
            .count();
        assert_eq!(own, MAX_SERIES);
        assert!(
            text.contains("switchyard_actions_total{namespace=\"_other\",tenant=\"_other\",provider=\"_other\",outcome=\"executed\"} 5"),
            "{text}"
        );
        assert!(text.contains("switchyard_series_folded_total 5"));
        assert!(text.contains(
            "switchyard_actions_total{namespace=\"ns\",tenant=\"t0\",provider=\"p\",outcome=\"executed\"} 2"
        ));
    }

    #[test]
    fn the_text_carries_every_measure() {
        let telemetry = Telemetry::default();
        telemetry.observe_dispatch(
            "shop",
            "acme",
            "email",
            "executed",
            Duration::from_millis(3),
        );
        telemetry.observe_chain_step("fulfil", Duration::from_millis(40));
        telemetry.observe_queue_lag(Duration::from_millis(250));
        let counters = MetricsSnapshot {
            dispatched: 7,
            ..MetricsSnapshot::default()
        };
        let text = telemetry.encode(
            &counters,
            &[
                ("email".into(), "open".into()),
                ("sms".into(), "closed".into()),
            ],
        );
        for line in [
            "switchyard_dispatch_duration_seconds_bucket{le=\"0.004\",outcome=\"executed\"} 1",
            "switchyard_chain_step_duration_seconds_count{chain=\"fulfil\"} 1",
            "switchyard_worker_queue_lag_seconds 0.25",
            "switchyard_circuit_breaker_state{provider=\"email\"} 2",
            "switchyard_circuit_breaker_state{provider=\"sms\"} 0",
            "switchyard_dispatched_total 7",
            "# EOF",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
