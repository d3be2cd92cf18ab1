//! Process-local counters (`GET /metrics`), named as Acteon names them.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use switchyard_core::ActionOutcome;

macro_rules! counters {
    ($($name:ident),* $(,)?) => {
        #[derive(Debug, Default)]
        pub struct Metrics { $(pub(crate) $name: AtomicU64,)* }

        /// A point-in-time copy of every counter.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
        pub struct MetricsSnapshot { $(pub $name: u64,)* }

        impl Metrics {
            pub fn snapshot(&self) -> MetricsSnapshot {
                MetricsSnapshot { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }
    };
}

counters!(
    dispatched,
    executed,
    deduplicated,
    suppressed,
    rerouted,
    throttled,
    failed,
    grouped,
    state_changed,
    pending_approval,
    chains_started,
    // Every chain created, whatever started it (a `chain` rule, an
    // `on_executed` trigger, a parent's sub-chain step).
    chains_created,
    chains_completed,
    chains_failed,
    chains_cancelled,
    circuit_open,
    circuit_transitions,
    circuit_fallbacks,
    scheduled,
    scheduled_released,
    approvals_approved,
    approvals_rejected,
    approvals_expired,
    groups_flushed,
    quota_exceeded,
    quota_warned,
    quota_degraded,
    quota_notified,
    recurring_dispatched,
    retention_deleted_state,
    dry_runs,
    rejected_requests,
    store_unavailable,
    audit_errors,
    follow_up_errors,
    // Background work: handlers that panicked, messages given up on.
    handler_panics,
    dead_lettered,
    background_errors,
    // Read from the audit store (records dropped to stay within its bound).
    audit_evicted,
    // Read from the audit retry queue: written on a later try, given up on, waiting.
    audit_retried,
    audit_dropped,
    audit_pending,
);

impl Metrics {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn record(&self, outcome: &ActionOutcome) {
        let counter = match outcome {
            ActionOutcome::Executed(_) => &self.executed,
            ActionOutcome::Deduplicated => &self.deduplicated,
            ActionOutcome::Suppressed { .. } => &self.suppressed,
            ActionOutcome::Rerouted { .. } => &self.rerouted,
            ActionOutcome::Throttled { .. } => &self.throttled,
            ActionOutcome::Failed { .. } => &self.failed,
            ActionOutcome::Grouped { .. } => &self.grouped,
            ActionOutcome::StateChanged { .. } => &self.state_changed,
            ActionOutcome::PendingApproval { .. } => &self.pending_approval,
            ActionOutcome::ChainStarted { .. } => &self.chains_started,
            ActionOutcome::DryRun { .. } => &self.dry_runs,
            ActionOutcome::CircuitOpen { .. } => &self.circuit_open,
            ActionOutcome::Scheduled { .. } => &self.scheduled,
            ActionOutcome::QuotaExceeded { .. } => &self.quota_exceeded,
        };
        Self::bump(counter);
    }
}
