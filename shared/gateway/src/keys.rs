//! Every state-store key the gateway reads or writes, in one place: the
//! record kinds, the system partitions, and how each id is formed. A key's
//! partition is its namespace and tenant (DynamoDB's partition key), so
//! what lands in a system partition here is what all tenants share.

use switchyard_store::StateKey;

pub const SCHEDULED_KIND: &str = "scheduled_action";
pub const APPROVAL_KIND: &str = "approval";
pub const CHAIN_KIND: &str = "chain";
pub const CHAIN_ORIGIN_KIND: &str = "chain_origin";
pub const GROUP_KIND: &str = "group";
/// A flushed group's batch, kept under its generation id.
pub const BATCH_KIND: &str = "group_batch";
pub const EVENT_KIND: &str = "event_state";
pub const RECURRING_KIND: &str = "recurring";
pub const RETENTION_KIND: &str = "retention";
/// Read as a whole set on every dispatch (cache refresh): one of the store's
/// [`switchyard_store::WHOLE_SET_KINDS`], which a test checks.
pub const QUOTA_KIND: &str = "quota";
pub const DEAD_LETTER_KIND: &str = "dead_letter";

/// The system partitions (no tenant can name them: tenants are validated
/// not to start with `_`).
const SYSTEM: &str = "_system";
/// Circuit breakers, one record per provider.
const BREAKERS: &str = "_breakers";
/// Id → owning tenant pointers, for records found by id alone (listed by
/// kind `<kind>_ref` in this partition).
pub(crate) const INDEX: (&str, &str) = (SYSTEM, "_index");
/// Quota policy pointers (kind `quota_ref`).
pub(crate) const QUOTA_INDEX: (&str, &str) = (SYSTEM, "_quotas");
/// Approval notifications to send again (kind [`PENDING_NOTIFICATION_KIND`]).
pub(crate) const PENDING_NOTIFICATIONS: (&str, &str) = (SYSTEM, "_notifications");
pub(crate) const PENDING_NOTIFICATION_KIND: &str = "approval_notification";
/// Where dead letters are kept.
pub const DEAD_LETTERS: (&str, &str) = (SYSTEM, "_dead_letters");

// Records of a tenant.

pub(crate) fn scheduled(namespace: &str, tenant: &str, id: &str) -> StateKey {
    StateKey::new(namespace, tenant, SCHEDULED_KIND, id)
}

pub(crate) fn approval(namespace: &str, tenant: &str, id: &str) -> StateKey {
    StateKey::new(namespace, tenant, APPROVAL_KIND, id)
}

pub(crate) fn chain(namespace: &str, tenant: &str, id: &str) -> StateKey {
    StateKey::new(namespace, tenant, CHAIN_KIND, id)
}

/// A chain's origin action, written once when the chain starts.
pub(crate) fn chain_origin(namespace: &str, tenant: &str, id: &str) -> StateKey {
    StateKey::new(namespace, tenant, CHAIN_ORIGIN_KIND, id)
}

pub(crate) fn group(namespace: &str, tenant: &str, group_key: &str) -> StateKey {
    StateKey::new(namespace, tenant, GROUP_KIND, group_key)
}

pub(crate) fn group_batch(namespace: &str, tenant: &str, group_id: &str) -> StateKey {
    StateKey::new(namespace, tenant, BATCH_KIND, group_id)
}

pub(crate) fn event(namespace: &str, tenant: &str, fingerprint: &str) -> StateKey {
    StateKey::new(namespace, tenant, EVENT_KIND, fingerprint)
}

pub(crate) fn recurring(namespace: &str, tenant: &str, id: &str) -> StateKey {
    StateKey::new(namespace, tenant, RECURRING_KIND, id)
}

/// One retention policy per namespace and tenant.
pub(crate) fn retention_policy(namespace: &str, tenant: &str) -> StateKey {
    StateKey::new(namespace, tenant, RETENTION_KIND, "policy")
}

pub(crate) fn quota_policy(namespace: &str, tenant: &str, id: &str) -> StateKey {
    StateKey::new(namespace, tenant, QUOTA_KIND, id)
}

// Gate keys: claims and window counters of the atomic gate.

pub(crate) fn dedup(namespace: &str, tenant: &str, dedup_key: &str) -> StateKey {
    StateKey::new(namespace, tenant, "dedup", dedup_key)
}

/// Rule `rule`'s throttle counter for window number `window`.
pub(crate) fn throttle_window(namespace: &str, tenant: &str, rule: &str, window: i64) -> StateKey {
    StateKey::new(namespace, tenant, "throttle", format!("{rule}:{window}"))
}

/// Quota `policy`'s usage counter for window number `window`.
pub(crate) fn quota_usage(namespace: &str, tenant: &str, policy: &str, window: i64) -> StateKey {
    StateKey::new(
        namespace,
        tenant,
        "quota_usage",
        format!("{policy}:{window}"),
    )
}

/// The claim that window `window` of quota `policy` has sent its `notify`.
pub(crate) fn quota_notified(namespace: &str, tenant: &str, policy: &str, window: i64) -> StateKey {
    StateKey::new(
        namespace,
        tenant,
        "quota_notified",
        format!("{policy}:{window}"),
    )
}

/// The claim that tick `fire_at` (Unix seconds) of recurring action `id` ran.
pub(crate) fn recurring_tick(namespace: &str, tenant: &str, id: &str, fire_at: i64) -> StateKey {
    StateKey::new(
        namespace,
        tenant,
        "recurring_tick",
        format!("{id}:{fire_at}"),
    )
}

// System partitions.

pub(crate) fn breaker(provider: &str) -> StateKey {
    StateKey::new(SYSTEM, BREAKERS, "circuit_breaker", provider)
}

pub(crate) fn dead_letter(id: &str) -> StateKey {
    StateKey::new(DEAD_LETTERS.0, DEAD_LETTERS.1, DEAD_LETTER_KIND, id)
}

/// Where a record of `kind` found by id alone lives (`<kind>_ref`).
pub(crate) fn index_pointer(kind: &str, id: &str) -> StateKey {
    StateKey::new(INDEX.0, INDEX.1, format!("{kind}_ref"), id)
}

pub(crate) fn quota_pointer(id: &str) -> StateKey {
    StateKey::new(QUOTA_INDEX.0, QUOTA_INDEX.1, "quota_ref", id)
}

// Lease names (`StateStore::try_lock`): who may work on a record now.

/// The lease on releasing scheduled action `id`.
pub(crate) fn scheduled_lease(namespace: &str, tenant: &str, id: &str) -> String {
    format!("scheduled:{namespace}:{tenant}:{id}")
}

pub(crate) fn pending_notification(approval_id: &str) -> StateKey {
    let (namespace, tenant) = PENDING_NOTIFICATIONS;
    StateKey::new(namespace, tenant, PENDING_NOTIFICATION_KIND, approval_id)
}

/// The lease held while a tenant's recurring actions are counted and one is created.
pub(crate) fn recurring_create_lease(namespace: &str, tenant: &str) -> String {
    format!("recurring_create:{namespace}:{tenant}")
}

/// The lease on flushing group `group_key`.
pub(crate) fn group_lease(namespace: &str, tenant: &str, group_key: &str) -> String {
    format!("group:{namespace}:{tenant}:{group_key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_policies_are_read_as_one_set() {
        assert!(switchyard_store::WHOLE_SET_KINDS.contains(&QUOTA_KIND));
    }

    #[test]
    fn kinds_and_ids_are_as_stored() {
        // Records written by earlier versions must still be found.
        assert_eq!(
            throttle_window("n", "t", "burst", 42).display(),
            "n:t:throttle:burst:42"
        );
        assert_eq!(
            quota_usage("n", "t", "q1", 7).display(),
            "n:t:quota_usage:q1:7"
        );
        assert_eq!(
            recurring_tick("n", "t", "r1", 1_800_000_000).display(),
            "n:t:recurring_tick:r1:1800000000"
        );
        assert_eq!(
            breaker("sns").display(),
            "_system:_breakers:circuit_breaker:sns"
        );
        assert_eq!(
            index_pointer("retention", "p1").display(),
            "_system:_index:retention_ref:p1"
        );
        assert_eq!(
            quota_pointer("q1").display(),
            "_system:_quotas:quota_ref:q1"
        );
        assert_eq!(retention_policy("n", "t").display(), "n:t:retention:policy");
        assert_eq!(
            dead_letter("m").display(),
            "_system:_dead_letters:dead_letter:m"
        );
    }
}
