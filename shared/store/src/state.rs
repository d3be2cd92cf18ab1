//! The state-store port.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::key::StateKey;

/// A stored value with its version (1 on creation, +1 on every write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub value: String,
    pub version: u64,
    pub expires_at: Option<DateTime<Utc>>,
}

/// One condition-and-write of an atomic [`StateStore::gate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateOp {
    /// Passes only if the key is absent or expired, and then claims it
    /// (dedup keys, single-use tokens).
    Claim {
        key: StateKey,
        expires_at: Option<DateTime<Utc>>,
    },
    /// Passes only if the counter is below `limit`, and then adds one
    /// (throttle and quota windows: the key names the window).
    Count {
        key: StateKey,
        limit: u64,
        expires_at: DateTime<Utc>,
    },
}

impl GateOp {
    pub fn key(&self) -> &StateKey {
        match self {
            GateOp::Claim { key, .. } | GateOp::Count { key, .. } => key,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateResult {
    /// Every condition held and every write was applied.
    Passed,
    /// The condition of `ops[op]` failed (the first failing one, in order);
    /// nothing was written. `current` is the counter value for `Count` ops.
    Rejected { op: usize, current: Option<u64> },
}

/// A page of records of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    pub items: Vec<(StateKey, Versioned)>,
    /// Pass back to get the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// At most this many operations in one gate (DynamoDB's transaction limit is
/// 100; a dispatch needs a handful).
pub const MAX_GATE_OPS: usize = 25;

#[async_trait]
pub trait StateStore: Send + Sync {
    /// The live value (an expired record reads as absent).
    async fn get(&self, key: &StateKey) -> Result<Option<Versioned>, StoreError>;

    /// Unconditional write; returns the new version.
    async fn put(
        &self,
        key: &StateKey,
        value: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<u64, StoreError>;

    /// Write only if the live version is `expected` (0: absent or expired).
    /// Returns the new version, or `None` when the condition failed.
    async fn compare_and_swap(
        &self,
        key: &StateKey,
        expected: u64,
        value: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Option<u64>, StoreError>;

    /// Remove a record; true when a live one was removed.
    async fn delete(&self, key: &StateKey) -> Result<bool, StoreError>;

    /// Check every op's condition and apply all their writes, atomically: either
    /// all apply or none does.
    async fn gate(&self, ops: &[GateOp]) -> Result<GateResult, StoreError>;

    /// A window counter's live value (0 when absent or expired).
    async fn counter(&self, key: &StateKey) -> Result<u64, StoreError>;

    /// Live records of one kind in a tenant, ordered by id.
    async fn list(
        &self,
        namespace: &str,
        tenant: &str,
        kind: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, StoreError>;

    /// Take a lease named `name` for `owner` if it is free, expired, or already
    /// held by `owner` (which renews it). Never two live holders.
    async fn try_lock(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool, StoreError>;

    /// Release a lease; only its holder can. True when released.
    async fn unlock(&self, name: &str, owner: &str) -> Result<bool, StoreError>;

    /// Physically remove records and leases expired at `now`; returns how
    /// many records went. Reads already treat them as absent, so this only
    /// frees space: adapters whose backend expires items itself (DynamoDB's
    /// TTL) keep the default.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let _ = now;
        Ok(0)
    }
}
