use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchyard_core::Clock;

use super::lock;
use crate::error::StoreError;
use crate::key::StateKey;
use crate::state::{GateOp, GateResult, ListPage, MAX_GATE_OPS, StateStore, Versioned};

#[derive(Debug, Clone)]
struct Entry {
    value: String,
    version: u64,
    expires_at: Option<DateTime<Utc>>,
}

impl Entry {
    fn live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

#[derive(Debug, Default)]
struct Tables {
    records: BTreeMap<StateKey, Entry>,
    leases: HashMap<String, (String, DateTime<Utc>)>,
}

/// State in a process-local map. Expiry is logical (checked on every read) and
/// physical on [`MemoryStateStore::sweep`].
#[derive(Debug, Clone)]
pub struct MemoryStateStore {
    tables: Arc<Mutex<Tables>>,
    clock: Arc<dyn Clock>,
}

impl MemoryStateStore {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            tables: Arc::default(),
            clock,
        }
    }

    /// Drop expired records and leases; returns how many records were removed.
    pub fn sweep(&self) -> usize {
        self.sweep_at(self.clock.now())
    }

    fn sweep_at(&self, now: DateTime<Utc>) -> usize {
        let mut t = lock(&self.tables);
        let before = t.records.len();
        t.records.retain(|_, e| e.live(now));
        t.leases.retain(|_, (_, until)| *until > now);
        before - t.records.len()
    }

    pub fn len(&self) -> usize {
        lock(&self.tables).records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn live_version(t: &Tables, key: &StateKey, now: DateTime<Utc>) -> u64 {
        t.records
            .get(key)
            .filter(|e| e.live(now))
            .map_or(0, |e| e.version)
    }

    fn write(
        t: &mut Tables,
        key: &StateKey,
        value: String,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> u64 {
        let version = Self::live_version(t, key, now) + 1;
        t.records.insert(
            key.clone(),
            Entry {
                value,
                version,
                expires_at,
            },
        );
        version
    }

    fn count_of(t: &Tables, key: &StateKey, now: DateTime<Utc>) -> u64 {
        t.records
            .get(key)
            .filter(|e| e.live(now))
            .and_then(|e| e.value.parse().ok())
            .unwrap_or(0)
    }
}

#[async_trait]
impl StateStore for MemoryStateStore {
    async fn get(&self, key: &StateKey) -> Result<Option<Versioned>, StoreError> {
        let now = self.clock.now();
        let t = lock(&self.tables);
        Ok(t.records
            .get(key)
            .filter(|e| e.live(now))
            .map(|e| Versioned {
                value: e.value.clone(),
                version: e.version,
                expires_at: e.expires_at,
            }))
    }

    async fn put(
        &self,
        key: &StateKey,
        value: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let mut t = lock(&self.tables);
        Ok(Self::write(&mut t, key, value.to_string(), expires_at, now))
    }

    async fn compare_and_swap(
        &self,
        key: &StateKey,
        expected: u64,
        value: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Option<u64>, StoreError> {
        let now = self.clock.now();
        let mut t = lock(&self.tables);
        if Self::live_version(&t, key, now) != expected {
            return Ok(None);
        }
        Ok(Some(Self::write(
            &mut t,
            key,
            value.to_string(),
            expires_at,
            now,
        )))
    }

    async fn delete(&self, key: &StateKey) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let mut t = lock(&self.tables);
        Ok(t.records.remove(key).is_some_and(|e| e.live(now)))
    }

    async fn gate(&self, ops: &[GateOp]) -> Result<GateResult, StoreError> {
        if ops.len() > MAX_GATE_OPS {
            return Err(StoreError::Invalid(format!(
                "{} gate operations (at most {MAX_GATE_OPS})",
                ops.len()
            )));
        }
        let now = self.clock.now();
        let mut t = lock(&self.tables);
        // Check everything first: all or nothing.
        for (i, op) in ops.iter().enumerate() {
            match op {
                GateOp::Claim { key, .. } => {
                    if Self::live_version(&t, key, now) != 0 {
                        return Ok(GateResult::Rejected {
                            op: i,
                            current: None,
                        });
                    }
                }
                GateOp::Count { key, limit, .. } => {
                    let current = Self::count_of(&t, key, now);
                    if current >= *limit {
                        return Ok(GateResult::Rejected {
                            op: i,
                            current: Some(current),
                        });
                    }
                }
            }
        }
        for op in ops {
            match op {
                GateOp::Claim { key, expires_at } => {
                    Self::write(&mut t, key, "1".to_string(), *expires_at, now);
                }
                GateOp::Count {
                    key, expires_at, ..
                } => {
                    let next = Self::count_of(&t, key, now) + 1;
                    Self::write(&mut t, key, next.to_string(), Some(*expires_at), now);
                }
            }
        }
        Ok(GateResult::Passed)
    }

    async fn counter(&self, key: &StateKey) -> Result<u64, StoreError> {
        let now = self.clock.now();
        Ok(Self::count_of(&lock(&self.tables), key, now))
    }

    async fn list(
        &self,
        namespace: &str,
        tenant: &str,
        kind: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, StoreError> {
        let now = self.clock.now();
        let limit = limit.max(1);
        let t = lock(&self.tables);
        let start = StateKey::new(namespace, tenant, kind, cursor.unwrap_or(""));
        let lower = match cursor {
            Some(_) => Bound::Excluded(start),
            None => Bound::Included(start),
        };
        let mut items = Vec::new();
        let mut next_cursor = None;
        for (key, entry) in t.records.range((lower, Bound::Unbounded)) {
            if key.namespace != namespace || key.tenant != tenant || key.kind != kind {
                break;
            }
            if !entry.live(now) {
                continue;
            }
            if items.len() == limit {
                next_cursor = items
                    .last()
                    .map(|(k, _): &(StateKey, Versioned)| k.id.clone());
                break;
            }
            items.push((
                key.clone(),
                Versioned {
                    value: entry.value.clone(),
                    version: entry.version,
                    expires_at: entry.expires_at,
                },
            ));
        }
        Ok(ListPage { items, next_cursor })
    }

    async fn try_lock(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let until = switchyard_core::after(now, ttl);
        let mut t = lock(&self.tables);
        match t.leases.get(name) {
            Some((holder, expires)) if *expires > now && holder != owner => Ok(false),
            _ => {
                t.leases
                    .insert(name.to_string(), (owner.to_string(), until));
                Ok(true)
            }
        }
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(self.sweep_at(now) as u64)
    }

    async fn unlock(&self, name: &str, owner: &str) -> Result<bool, StoreError> {
        let mut t = lock(&self.tables);
        match t.leases.get(name) {
            Some((holder, _)) if holder == owner => {
                t.leases.remove(name);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
