//! Storage ports and their in-memory adapters.
//!
//! The gateway only ever talks to these traits. Every operation that decides
//! something under concurrency (dedup claims, window counters, locks, versioned
//! records) is a single conditional operation of the store, so any adapter that
//! implements them atomically (a mutex here, conditional writes in DynamoDB)
//! gives the same guarantees. [`conformance`] checks an adapter against them.

pub mod audit;
pub mod conformance;
pub mod error;
pub mod key;
pub mod memory;
pub mod queue;
pub mod queue_conformance;
pub mod state;

pub use audit::AuditStore;
pub use error::StoreError;
pub use key::{StateKey, WHOLE_SET_KINDS};
pub use memory::{MemoryAuditStore, MemoryDelayQueue, MemoryStateStore};
pub use queue::{Deferred, DelayQueue, DelayedMessage, Lane, PolledQueue, RecordRef, Taken};
pub use state::{GateOp, GateResult, ListPage, StateStore, Versioned};
