//! Where every item lives: the partition and sort keys of the state table
//! and the partition values of the audit indexes. The adapters and the
//! key-distribution simulator (`bench/keys`) both build keys only here.
//!
//! A DynamoDB partition takes about 1,000 write units a second, so a key
//! that a whole tenant (or deployment) shares is spread over shards: the
//! shard of an item is FNV-1a of its identity modulo the shard count.
//! With one shard every key is written exactly as before sharding existed.

use switchyard_core::AuditRecord;
use switchyard_store::{StateKey, WHOLE_SET_KINDS};

/// Unit separator: never part of a namespace, tenant, kind or id (the API
/// refuses control characters in them).
pub(crate) const SEP: char = '\u{1f}';

/// State shards unless configured: a tenant's items spread over 16
/// partitions carry about 16,000 write units a second.
pub const DEFAULT_STATE_SHARDS: u32 = 16;
/// The most state shards accepted (a list reads every shard).
pub const MAX_STATE_SHARDS: u32 = 64;

/// Audit shards unless configured. With audit items of 1–2 write units,
/// 32 shards carry a feed (or one namespace, or one tenant) of 10,000+
/// records a second. Raising the count in place is safe: a record written
/// under N shards sits in a shard below N, and readers query every shard
/// below the new count. Lowering it would hide records.
pub const DEFAULT_AUDIT_SHARDS: u32 = 32;
/// The most audit shards accepted (a read fans out to every one).
pub const MAX_AUDIT_SHARDS: u32 = 256;

/// Leases live in their own partitions, never a tenant's.
const LOCKS: &str = "_locks";

/// The feed every audit record is in (`by_time`).
pub(crate) const FEED: &str = "all";

/// FNV-1a of `text` modulo `shards`: stable across processes and releases
/// (unlike the standard library's hasher).
pub fn shard_of(text: &str, shards: u32) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % u64::from(shards.max(1))) as u32
}

/// The sort key of a state item: `<kind>␟<id>`.
pub(crate) fn sort_key(kind: &str, id: &str) -> String {
    format!("{kind}{SEP}{id}")
}

/// The partition of a tenant's shard: `<namespace>␟<tenant>`, then
/// `␟<shard>` when there is more than one.
pub(crate) fn tenant_partition(namespace: &str, tenant: &str, shard: u32, shards: u32) -> String {
    if shards <= 1 {
        format!("{namespace}{SEP}{tenant}")
    } else {
        format!("{namespace}{SEP}{tenant}{SEP}{shard}")
    }
}

/// The partition of a tenant's items of `kind` in `shard`: kinds read as a
/// whole set stay in the tenant's unsuffixed partition.
pub(crate) fn kind_partition(
    namespace: &str,
    tenant: &str,
    kind: &str,
    shard: u32,
    shards: u32,
) -> String {
    let shards = if WHOLE_SET_KINDS.contains(&kind) {
        1
    } else {
        shards
    };
    tenant_partition(namespace, tenant, shard, shards)
}

/// How many partitions hold a tenant's items of `kind`.
pub(crate) fn kind_shards(kind: &str, shards: u32) -> u32 {
    if WHOLE_SET_KINDS.contains(&kind) {
        1
    } else {
        shards.max(1)
    }
}

/// `(pk, sk)` of a state item: its tenant's partition, in the shard its
/// sort key hashes to.
pub fn state_item_key(key: &StateKey, shards: u32) -> (String, String) {
    let sk = sort_key(&key.kind, &key.id);
    let shard = shard_of(&sk, kind_shards(&key.kind, shards));
    (
        kind_partition(&key.namespace, &key.tenant, &key.kind, shard, shards),
        sk,
    )
}

/// `(pk, sk)` of a lease.
pub fn lease_item_key(name: &str, shards: u32) -> (String, String) {
    let pk = if shards <= 1 {
        LOCKS.to_string()
    } else {
        format!("{LOCKS}{SEP}{}", shard_of(name, shards))
    };
    (pk, name.to_string())
}

/// The `by_tenant` value of a namespace and tenant (before its shard).
pub(crate) fn audit_scope(namespace: &str, tenant: &str) -> String {
    format!("{namespace}{SEP}{tenant}")
}

/// An audit index value in one shard (`value#shard`; the value alone with
/// one shard).
pub(crate) fn audit_partition(value: &str, shard: u32, shards: u32) -> String {
    if shards <= 1 {
        value.to_string()
    } else {
        format!("{value}#{shard}")
    }
}

/// The partition value of every index a record is written to: (index,
/// attribute, value), the base table first. The table is keyed by
/// `action_id` (with `id` as its sort key), so a lookup by action needs no
/// index; namespace-wide queries read the `by_time` feed (see
/// docs/dynamodb.md): every index copy is a write unit on every record.
pub fn audit_index_keys(
    record: &AuditRecord,
    shards: u32,
) -> Vec<(&'static str, &'static str, String)> {
    let shard = shard_of(&record.id, shards);
    let spread = |value: &str| audit_partition(value, shard, shards);
    let mut keys = vec![
        ("table", "action_id", record.action_id.clone()),
        (
            "by_tenant",
            "scope",
            spread(&audit_scope(&record.namespace, &record.tenant)),
        ),
        ("by_time", "feed", spread(FEED)),
    ];
    if let Some(chain) = &record.chain_id {
        keys.push(("by_chain", "chain_id", chain.clone()));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shard_is_the_layout_before_sharding() {
        let key = StateKey::new("shop", "acme", "dedup", "k1");
        assert_eq!(
            state_item_key(&key, 1),
            ("shop\u{1f}acme".to_string(), "dedup\u{1f}k1".to_string())
        );
        assert_eq!(lease_item_key("chain:1", 1).0, "_locks");
        assert_eq!(audit_partition("all", 0, 1), "all");
    }

    #[test]
    fn shards_spread_one_tenant_and_stay_stable() {
        let partitions: std::collections::BTreeSet<String> = (0..2_000)
            .map(|i| state_item_key(&StateKey::new("shop", "acme", "dedup", i.to_string()), 16).0)
            .collect();
        assert_eq!(partitions.len(), 16);
        let quota = StateKey::new("shop", "acme", "quota", "q1");
        assert_eq!(
            state_item_key(&quota, 16).0,
            "shop\u{1f}acme",
            "a set read whole stays in one partition"
        );
        // Pinned: a release that changed the hash would lose every item.
        assert_eq!(shard_of("dedup\u{1f}k1", 16), shard_of("dedup\u{1f}k1", 16));
        assert_eq!(shard_of("", 32), (0xcbf2_9ce4_8422_2325u64 % 32) as u32);
        assert_eq!(
            shard_of("a", 1_000_003),
            (0xaf63_dc4c_8601_ec8cu64 % 1_000_003) as u32
        );
    }
}
