//! The one per-process cache type: values read from the store and trusted
//! for a short while (quota policies, audit TTLs, breaker states). Time is
//! the gateway's clock, so a test's manual clock ages entries too; writes
//! through this process `forget` what they changed.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};

pub(crate) struct TtlCache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (DateTime<Utc>, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub(crate) fn new(ttl: std::time::Duration) -> Self {
        Self {
            ttl: Duration::from_std(ttl).unwrap_or(Duration::MAX),
            entries: Mutex::default(),
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<K, (DateTime<Utc>, V)>> {
        // A panic elsewhere while holding the lock leaves plain data behind.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value stored less than the TTL before `now` (a clock that moved
    /// back counts as fresh: it never extends an entry past its TTL).
    pub(crate) fn get(&self, key: &K, now: DateTime<Utc>) -> Option<V> {
        self.entries()
            .get(key)
            .filter(|(at, _)| now - *at < self.ttl)
            .map(|(_, value)| value.clone())
    }

    pub(crate) fn insert(&self, key: K, value: V, now: DateTime<Utc>) {
        self.entries().insert(key, (now, value));
    }

    pub(crate) fn forget(&self, key: &K) {
        self.entries().remove(key);
    }
}

/// Per-process cache of audit TTLs (a few seconds old at most; writes through
/// this process clear it): (namespace, tenant) → the policy's audit TTL.
pub(crate) type AuditTtlCache = TtlCache<(String, String), Option<u64>>;

/// How long a process trusts a looked-up audit TTL.
pub(crate) const AUDIT_TTL_CACHE: std::time::Duration = std::time::Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_live_for_the_ttl_and_can_be_forgotten() {
        let cache = TtlCache::new(std::time::Duration::from_secs(5));
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        cache.insert("a", 1, t0);
        assert_eq!(cache.get(&"a", t0), Some(1));
        assert_eq!(cache.get(&"a", t0 + Duration::milliseconds(4_999)), Some(1));
        assert_eq!(
            cache.get(&"a", t0 + Duration::seconds(5)),
            None,
            "expired at the TTL"
        );
        cache.insert("a", 2, t0);
        cache.forget(&"a");
        assert_eq!(cache.get(&"a", t0), None);
        assert_eq!(cache.get(&"b", t0), None);
    }
}
