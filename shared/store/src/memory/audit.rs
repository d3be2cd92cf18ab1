use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchyard_core::{AuditPage, AuditQuery, AuditRecord, Clock};

use super::lock;
use crate::audit::AuditStore;
use crate::error::StoreError;

/// How far out of id order an append may land (concurrent writers).
const LATE_APPEND_SLACK: usize = 64;

/// Audit records in memory, oldest first, bounded in count and in bytes (the
/// JSON size of each record): past either bound the oldest records are
/// dropped, and counted, so a long-running local gateway cannot grow without
/// limit whatever the payloads weigh.
#[derive(Debug, Clone)]
pub struct MemoryAuditStore {
    records: Arc<Mutex<Ring>>,
    capacity: usize,
    evicted: Arc<AtomicU64>,
    clock: Arc<dyn Clock>,
}

#[derive(Debug, Default)]
struct Ring {
    items: VecDeque<(AuditRecord, usize)>,
    bytes: usize,
    max_bytes: usize,
}

impl MemoryAuditStore {
    pub const DEFAULT_CAPACITY: usize = 100_000;
    /// 256 MiB: a laptop's worth of audit.
    pub const DEFAULT_MAX_BYTES: usize = 256 * 1024 * 1024;

    pub fn new(clock: Arc<dyn Clock>, capacity: usize) -> Self {
        Self {
            records: Arc::new(Mutex::new(Ring {
                max_bytes: Self::DEFAULT_MAX_BYTES,
                ..Ring::default()
            })),
            capacity: capacity.max(1),
            evicted: Arc::default(),
            clock,
        }
    }

    /// Bound the records' total JSON size (`[audit] max_bytes`).
    pub fn set_max_bytes(&self, max_bytes: usize) {
        lock(&self.records).max_bytes = max_bytes.max(1);
    }

    /// The records' total JSON size now.
    pub fn bytes(&self) -> usize {
        lock(&self.records).bytes
    }

    pub fn len(&self) -> usize {
        lock(&self.records).items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl AuditStore for MemoryAuditStore {
    async fn append(&self, record: AuditRecord) -> Result<(), StoreError> {
        let size = serde_json::to_vec(&record).map_or(0, |json| json.len());
        let mut ring = lock(&self.records);
        // The newest record is always kept, even alone over the byte bound.
        while !ring.items.is_empty()
            && (ring.items.len() >= self.capacity || ring.bytes + size > ring.max_bytes)
        {
            if let Some((_, dropped)) = ring.items.pop_front() {
                ring.bytes -= dropped;
                self.evicted.fetch_add(1, Ordering::Relaxed);
            }
        }
        ring.bytes += size;
        ring.items.push_back((record, size));
        Ok(())
    }

    fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        let now = self.clock.now();
        let limit = query.limit.clamp(1, AuditQuery::MAX_LIMIT);
        let ring = lock(&self.records);
        let mut total = 0u64;
        let mut page = Vec::new();
        for (record, _) in ring.items.iter().rev() {
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

    async fn latest_for_action(
        &self,
        action_id: &str,
        accept: &(dyn for<'r> Fn(&'r AuditRecord) -> bool + Send + Sync),
    ) -> Result<Option<AuditRecord>, StoreError> {
        let now = self.clock.now();
        let ring = lock(&self.records);
        for (record, _) in ring.items.iter().rev() {
            if record.action_id == action_id
                && record.expires_at.is_none_or(|at| at > now)
                && accept(record)
            {
                return Ok(Some(record.clone()));
            }
        }
        Ok(None)
    }

    async fn since(&self, after: &str, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let ring = lock(&self.records);
        // Appends are in id order but for writers racing by a few records:
        // find the cursor by binary search (a stream resuming from an old id
        // must not copy the whole ring), then start a little earlier so a
        // record appended late is still found.
        let at = ring
            .items
            .partition_point(|(record, _)| record.id.as_str() <= after);
        let start = at.saturating_sub(LATE_APPEND_SLACK);
        let mut newer: Vec<AuditRecord> = ring
            .items
            .range(start..)
            .map(|(record, _)| record)
            .filter(|record| record.id.as_str() > after)
            .take(limit.saturating_add(LATE_APPEND_SLACK))
            .cloned()
            .collect();
        newer.sort_by(|a, b| a.id.cmp(&b.id));
        newer.truncate(limit);
        Ok(newer)
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut ring = lock(&self.records);
        let before = ring.items.len();
        ring.items
            .retain(|(r, _)| r.expires_at.is_none_or(|at| at > now));
        ring.bytes = ring.items.iter().map(|(_, size)| size).sum();
        Ok((before - ring.items.len()) as u64)
    }
}
