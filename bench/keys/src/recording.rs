//! Store wrappers that pass every call to the in-memory adapters and tally
//! its capacity units under the DynamoDB adapter's own keys
//! (`switchyard_store_dynamodb::layout`), for each layout compared.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchyard_core::{AuditPage, AuditQuery, AuditRecord};
use switchyard_store::{
    AuditStore, GateOp, GateResult, ListPage, StateKey, StateStore, StoreError, Versioned,
};
use switchyard_store_dynamodb::{audit_item_copies, lease_item_key, state_item_key};

use crate::tally::{Tally, read_units, write_units};

/// A key layout: its name in the report and its shard counts.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub name: &'static str,
    pub state_shards: u32,
    pub audit_shards: u32,
}

impl Layout {
    /// The layout before sharding (one partition per tenant, one audit
    /// feed) beside a sharded one, as the report compares them.
    pub fn before_and_after(state_shards: u32, audit_shards: u32) -> [Layout; 2] {
        [
            Layout {
                name: "unsharded",
                state_shards: 1,
                audit_shards: 1,
            },
            Layout {
                name: "sharded",
                state_shards,
                audit_shards,
            },
        ]
    }
}

/// Attribute names, version, expiry and TTL of a state item, roughly.
const STATE_ITEM_OVERHEAD: usize = 60;

pub struct RecordingState {
    pub inner: Arc<dyn StateStore>,
    pub tally: Arc<Tally>,
    pub layouts: Vec<Layout>,
}

impl RecordingState {
    /// A write of `value` to `key`; `transactional` writes cost double.
    fn write(&self, key: &StateKey, value_len: usize, transactional: bool) {
        for layout in &self.layouts {
            let (pk, sk) = state_item_key(key, layout.state_shards);
            let bytes = pk.len() + sk.len() + value_len + STATE_ITEM_OVERHEAD;
            let factor = if transactional { 2.0 } else { 1.0 };
            self.tally
                .write(layout.name, "state", pk, write_units(bytes) * factor);
        }
    }

    fn read(&self, key: &StateKey, value_len: usize) {
        for layout in &self.layouts {
            let (pk, _) = state_item_key(key, layout.state_shards);
            self.tally
                .read(layout.name, "state", pk, read_units(value_len));
        }
    }

    fn lease(&self, name: &str) {
        for layout in &self.layouts {
            let (pk, sk) = lease_item_key(name, layout.state_shards);
            let bytes = pk.len() + sk.len() + STATE_ITEM_OVERHEAD;
            self.tally
                .write(layout.name, "state", pk, write_units(bytes));
        }
    }
}

#[async_trait]
impl StateStore for RecordingState {
    async fn get(&self, key: &StateKey) -> Result<Option<Versioned>, StoreError> {
        let found = self.inner.get(key).await?;
        self.read(key, found.as_ref().map_or(0, |v| v.value.len()));
        Ok(found)
    }

    async fn put(
        &self,
        key: &StateKey,
        value: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<u64, StoreError> {
        self.write(key, value.len(), false);
        self.inner.put(key, value, expires_at).await
    }

    async fn compare_and_swap(
        &self,
        key: &StateKey,
        expected: u64,
        value: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Option<u64>, StoreError> {
        // A failed condition costs the write units all the same.
        self.write(key, value.len(), false);
        self.inner
            .compare_and_swap(key, expected, value, expires_at)
            .await
    }

    async fn delete(&self, key: &StateKey) -> Result<bool, StoreError> {
        self.write(key, 0, false);
        self.inner.delete(key).await
    }

    async fn gate(&self, ops: &[GateOp]) -> Result<GateResult, StoreError> {
        for op in ops {
            self.write(op.key(), 8, true);
        }
        self.inner.gate(ops).await
    }

    async fn counter(&self, key: &StateKey) -> Result<u64, StoreError> {
        self.read(key, 8);
        self.inner.counter(key).await
    }

    async fn list(
        &self,
        namespace: &str,
        tenant: &str,
        kind: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, StoreError> {
        let page = self
            .inner
            .list(namespace, tenant, kind, cursor, limit)
            .await?;
        // One query per shard; the items' units land where each item lives.
        for (key, value) in &page.items {
            self.read(key, value.value.len());
        }
        Ok(page)
    }

    async fn try_lock(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.lease(name);
        self.inner.try_lock(name, owner, ttl).await
    }

    async fn unlock(&self, name: &str, owner: &str) -> Result<bool, StoreError> {
        self.lease(name);
        self.inner.unlock(name, owner).await
    }
}

pub struct RecordingAudit {
    pub inner: Arc<dyn AuditStore>,
    pub tally: Arc<Tally>,
    pub layouts: Vec<Layout>,
}

#[async_trait]
impl AuditStore for RecordingAudit {
    async fn append(&self, record: AuditRecord) -> Result<(), StoreError> {
        for layout in &self.layouts {
            // Each copy as the adapter writes it: the table holds the
            // record, an index what the template projects into it.
            for copy in audit_item_copies(&record, layout.audit_shards)? {
                self.tally.write(
                    layout.name,
                    copy.index,
                    copy.partition,
                    write_units(copy.bytes),
                );
            }
        }
        self.inner.append(record).await
    }

    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        self.inner.query(query).await
    }

    async fn latest_for_action(
        &self,
        action_id: &str,
        accept: &(dyn for<'r> Fn(&'r AuditRecord) -> bool + Send + Sync),
    ) -> Result<Option<AuditRecord>, StoreError> {
        self.inner.latest_for_action(action_id, accept).await
    }

    async fn since(&self, after: &str, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        self.inner.since(after, limit).await
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.purge_expired(now).await
    }
}
