//! Domain types shared by every Switchyard crate.
//!
//! Nothing here knows about HTTP, AWS or storage: these are the words the rules
//! engine, the gateway and the adapters use to talk to each other.

pub mod action;
pub mod audit;
pub mod backoff;
pub mod clock;
pub mod outcome;
pub mod provider;

pub use action::{Action, ActionValidationError};
pub use audit::{AuditEvent, AuditFields, AuditPage, AuditQuery, AuditRecord, Caller};
pub use backoff::Backoff;
pub use clock::{Clock, ManualClock, SystemClock, after, after_seconds};
pub use outcome::{ActionOutcome, ProviderResponse, ResponseStatus};
pub use provider::{Provider, ProviderError, ProviderRequest};
