//! The audit port.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchyard_core::{AuditPage, AuditQuery, AuditRecord};

use crate::error::StoreError;

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Store one record (already redacted).
    async fn append(&self, record: AuditRecord) -> Result<(), StoreError>;

    /// Matching live records, newest first, paginated by `limit`/`offset`.
    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, StoreError>;

    /// The newest live record of `action_id` that `accept` takes (action
    /// ids are chosen by clients, so several tenants may share one: the
    /// caller says which records are its).
    async fn latest_for_action(
        &self,
        action_id: &str,
        accept: &(dyn for<'r> Fn(&'r AuditRecord) -> bool + Send + Sync),
    ) -> Result<Option<AuditRecord>, StoreError>;

    /// Records with an id greater than `after` (UUIDv7 ids order by time),
    /// oldest first, at most `limit`: the change feed behind `/v1/stream`.
    async fn since(&self, after: &str, limit: usize) -> Result<Vec<AuditRecord>, StoreError>;

    /// Physically remove records whose `expires_at` has passed; returns how many.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Records dropped to stay within a size bound (bounded stores only).
    fn evicted(&self) -> u64 {
        0
    }
}
