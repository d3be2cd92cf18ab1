//! What happens to an action on its way through: validation and the rules'
//! verdict (`decision`), the one atomic gate and the outcome (`dispatch`,
//! `quotas`), the provider call behind its breaker with retries
//! (`breaker`, `executor`), and the redacted audit record (`audit`,
//! `audit_retry`, `redact`).

pub(crate) mod audit;
pub(crate) mod audit_retry;
pub mod breaker;
pub(crate) mod decision;
pub(crate) mod dispatch;
pub(crate) mod executor;
pub mod explain;
pub(crate) mod merge;
pub mod provider_stats;
pub mod quotas;
pub(crate) mod redact;
pub mod rule_trace;
pub mod template;
