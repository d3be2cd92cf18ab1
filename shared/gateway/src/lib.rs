//! The gateway: everything that happens to an action between the HTTP layer
//! and the providers. It knows no AWS or HTTP type; it talks to the storage,
//! delay-queue, provider and clock ports.
//!
//! Layout: `pipeline/` is what happens to an action (verdict, gate,
//! provider call behind its breaker, audit), `deferred/` every kind of
//! delayed work and its delivery, `upkeep/` periodic maintenance. The
//! dependency rule: `gateway.rs` (the `Gateway` struct and its ports)
//! imports only leaf modules (errors, metrics, `ttl_cache`, `keys`,
//! `records`, the executor, `breaker/model`), and each feature module adds
//! its own `impl Gateway` on top, so no two files import each other in a
//! loop (`tests/layout.rs` checks it with `tests/import_loops.py`).

mod deferred;
mod error;
mod gateway;
pub mod keys;
mod metrics;
mod pipeline;
mod records;
mod registry;
mod scrape;
pub mod telemetry;
mod ttl_cache;
mod upkeep;

// The layout groups modules by what happens to an action; these keep each
// module's short path (`crate::dispatch`, `switchyard_gateway::chains`).
pub(crate) use deferred::{approval_signer, approvals, dead_letter, schedule};
pub use deferred::{chains, delivery, groups, recurring, state_machines};
pub(crate) use pipeline::{audit, audit_retry, decision, dispatch, executor, merge, redact};
pub use pipeline::{breaker, explain, provider_stats, quotas, rule_trace, template};
pub(crate) use upkeep::reaper;
pub use upkeep::retention;

pub use approvals::{
    ApprovalDecision, ApprovalError, ApprovalLink, ApprovalSigner, Decider, LinkPurpose,
};
pub use audit::{ADMIN_NAMESPACE, ADMIN_TENANT};
pub use dead_letter::{DEAD_LETTER_PROVIDER, DeadLetter, MAX_DEAD_LETTER_PAGE};
pub use deferred::{Handled, MAX_DELIVERIES, RETRY_DELAY};
pub use delivery::{Incoming, Settled};
pub use dispatch::DispatchOptions;
pub use error::GatewayError;
pub use gateway::{Gateway, GatewayPorts, ReloadError};
pub use metrics::MetricsSnapshot;
pub use reaper::ReapReport;
pub use redact::Redactor;
