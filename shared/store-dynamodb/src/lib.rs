//! DynamoDB adapters of Switchyard's storage ports.
//!
//! Every decision under concurrency is a single conditional write: dedup
//! claims are put-if-absent-or-expired, window counters are `ADD` guarded by a
//! condition on the count, leases are conditional puts with owner and expiry,
//! versioned records are compare-and-swap on `ver`, and a dispatch's gate
//! (quota counters + dedup claim + throttle window) is one `TransactWriteItems`.
//! Expiry is logical on every read and condition (`exp_ms`), with native TTL
//! (`ttl`) only for physical clean-up, which DynamoDB does lazily.

mod attr;
mod audit;
mod audit_entry;
mod audit_item;
mod connect;
pub mod contention;
mod gate;
pub mod layout;
pub mod schema;
mod state;

pub use audit::DynamoAuditStore;
pub use audit_item::{AuditCopy, audit_item_copies};
pub use connect::{DynamoSettings, RoundTrips, connect};
pub use layout::{
    DEFAULT_AUDIT_SHARDS, DEFAULT_STATE_SHARDS, MAX_AUDIT_SHARDS, MAX_STATE_SHARDS,
    audit_index_keys, lease_item_key, state_item_key,
};
pub use state::DynamoStateStore;
