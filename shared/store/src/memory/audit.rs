use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchyard_core::{AuditPage, AuditQuery, AuditRecord, Clock};

use super::lock;
use crate::audit::AuditStore;
use crate::error::StoreError;

/// Audit records in memory, oldest first, bounded: past `capacity` the oldest
/// record is dropped so a long-running local gateway cannot grow without limit.
#[derive(Debug, Clone)]
pub struct MemoryAuditStore {
    records: Arc<Mutex<VecDeque<AuditRecord>>>,
    capacity: usize,
    clock: Arc<dyn Clock>,
}

impl MemoryAuditStore {
    pub const DEFAULT_CAPACITY: usize = 100_000;

    pub fn new(clock: Arc<dyn Clock>, capacity: usize) -> Self {
        Self {
            records: Arc::default(),
            capacity: capacity.max(1),
            clock,
        }
    }

    pub fn len(&self) -> usize {
        lock(&self.records).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl AuditStore for MemoryAuditStore {
    async fn append(&self, record: AuditRecord) -> Result<(), StoreError> {
        let mut records = lock(&self.records);
        if records.len() == self.capacity {
            records.pop_front();
        }
        records.push_back(record);
        Ok(())
    }

    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        let now = self.clock.now();
        let limit = query.limit.clamp(1, AuditQuery::MAX_LIMIT);
        let records = lock(&self.records);
        let mut total = 0u64;
        let mut page = Vec::new();
        for record in records.iter().rev() {
            if record.expires_at.is_some_and(|at| at <= now) || !query.matches(record) {
                continue;
            }
            if total as usize >= query.offset && page.len() < limit {
                page.push(record.clone());
            }
            total += 1;
        }
        Ok(AuditPage {
            records: page,
            total,
            limit,
            offset: query.offset,
        })
    }

    async fn latest_for_action(&self, action_id: &str) -> Result<Option<AuditRecord>, StoreError> {
        let now = self.clock.now();
        Ok(lock(&self.records)
            .iter()
            .rev()
            .find(|r| r.action_id == action_id && r.expires_at.is_none_or(|at| at > now))
            .cloned())
    }

    async fn since(&self, after: &str, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let records = lock(&self.records);
        // Appends are nearly in id order; scan back a little past the cursor so
        // a record appended late (slow writer) is still found.
        let mut newer: Vec<AuditRecord> = Vec::new();
        let mut older_seen = 0;
        for record in records.iter().rev() {
            if record.id.as_str() > after {
                newer.push(record.clone());
            } else {
                older_seen += 1;
                if older_seen > 64 {
                    break;
                }
            }
        }
        newer.sort_by(|a, b| a.id.cmp(&b.id));
        newer.truncate(limit);
        Ok(newer)
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut records = lock(&self.records);
        let before = records.len();
        records.retain(|r| r.expires_at.is_none_or(|at| at > now));
        Ok((before - records.len()) as u64)
    }
}
