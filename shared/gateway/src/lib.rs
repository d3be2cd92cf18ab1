//! The gateway: everything that happens to an action between the HTTP layer
//! and the providers. It knows no AWS or HTTP type; it talks to the storage,
//! delay-queue, provider and clock ports.

mod approval_signer;
mod approvals;
mod audit;
mod audit_retry;
pub mod breaker;
pub mod chains;
mod dead_letter;
mod decision;
pub mod delivery;
mod dispatch;
mod error;
pub mod events;
mod executor;
pub mod explain;
mod gateway;
pub mod groups;
mod handlers;
mod merge;
mod metrics;
pub mod quotas;
mod reaper;
pub mod recurring;
mod redact;
mod registry;
pub mod retention;
mod schedule;
pub mod template;

pub use approvals::{
    ApprovalDecision, ApprovalError, ApprovalLink, ApprovalSigner, Decider, LinkPurpose,
};
pub use audit::{ADMIN_NAMESPACE, ADMIN_TENANT};
pub use dead_letter::{DEAD_LETTER_PROVIDER, DeadLetter, MAX_DEAD_LETTER_PAGE};
pub use delivery::{Incoming, Settled};
pub use dispatch::DispatchOptions;
pub use error::GatewayError;
pub use gateway::{Gateway, GatewayPorts, ReloadError};
pub use handlers::{Handled, MAX_DELIVERIES, RETRY_DELAY};
pub use metrics::MetricsSnapshot;
pub use reaper::ReapReport;
pub use redact::Redactor;
