//! Tenant quotas: policies in the state store, usage in fixed windows aligned
//! to the epoch, enforced inside the dispatch gate (one atomic store call).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use switchyard_core::{Action, Clock};
use switchyard_store::{GateOp, StateKey, StateStore, StoreError};

use crate::error::GatewayError;
use crate::ttl_cache::TtlCache;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QuotaWindow {
    Hourly,
    Daily,
    Weekly,
    Monthly,
}

impl QuotaWindow {
    pub fn seconds(self) -> i64 {
        match self {
            QuotaWindow::Hourly => 3_600,
            QuotaWindow::Daily => 86_400,
            QuotaWindow::Weekly => 604_800,
            // Acteon's convention: a "month" is 30 days.
            QuotaWindow::Monthly => 2_592_000,
        }
    }

    /// (window index, window end) for an instant.
    pub fn window_at(self, now: DateTime<Utc>) -> (i64, DateTime<Utc>) {
        let len = self.seconds();
        let index = now.timestamp().div_euclid(len);
        let end = Utc
            .timestamp_opt((index + 1) * len, 0)
            .single()
            .unwrap_or(now);
        (index, end)
    }
}

/// What happens to an action over its quota. Acteon's JSON: `"block"`,
/// `"warn"`, `{"degrade": {"fallback_provider": "p"}}`, `{"notify": {"target": "p"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OverageBehavior {
    /// Refuse with `QuotaExceeded`.
    Block,
    /// Let it through and count it (metric `quota_warned`).
    Warn,
    /// Send it to a cheaper provider instead (provider-scoped quotas of the
    /// fallback still apply; at most [`MAX_DEGRADE_HOPS`] hops).
    Degrade { fallback_provider: String },
    /// Let it through, and tell `target` once per window that the quota is
    /// exceeded (metric `quota_notified`).
    Notify { target: String },
}

/// How many fallbacks one dispatch may go through before it is refused.
pub const MAX_DEGRADE_HOPS: usize = 3;

impl OverageBehavior {
    /// Acteon's name of the behaviour (`QuotaExceeded.overage_behavior`).
    pub fn name(&self) -> &'static str {
        match self {
            OverageBehavior::Block => "block",
            OverageBehavior::Warn => "warn",
            OverageBehavior::Degrade { .. } => "degrade",
            OverageBehavior::Notify { .. } => "notify",
        }
    }

    /// The provider this behaviour sends to, if any (must be configured).
    pub fn provider(&self) -> Option<&str> {
        match self {
            OverageBehavior::Degrade { fallback_provider } => Some(fallback_provider),
            OverageBehavior::Notify { target } => Some(target),
            OverageBehavior::Block | OverageBehavior::Warn => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaPolicy {
    pub id: String,
    pub namespace: String,
    pub tenant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    pub max_actions: u64,
    pub window: QuotaWindow,
    pub overage_behavior: OverageBehavior,
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Free-form labels (Acteon's `labels`), omitted when empty.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
}

impl QuotaPolicy {
    pub fn applies_to(&self, action: &Action) -> bool {
        self.enabled
            && self
                .provider
                .as_deref()
                .is_none_or(|p| p == action.provider)
    }

    pub fn usage_key(&self, window_index: i64) -> StateKey {
        crate::keys::quota_usage(&self.namespace, &self.tenant, &self.id, window_index)
    }

    /// The gate operation counting one action against this policy now.
    pub fn gate_op(&self, now: DateTime<Utc>) -> GateOp {
        let (index, end) = self.window.window_at(now);
        GateOp::Count {
            key: self.usage_key(index),
            // Only refusing behaviours stop the count at the limit; the
            // others count every action and act on going over.
            limit: match self.overage_behavior {
                OverageBehavior::Block | OverageBehavior::Degrade { .. } => self.max_actions,
                OverageBehavior::Warn | OverageBehavior::Notify { .. } => u64::MAX,
            },
            expires_at: end,
        }
    }
}

/// Current usage of a policy (`GET /v1/quotas/{id}/usage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuotaUsage {
    pub namespace: String,
    pub tenant: String,
    pub used: u64,
    pub limit: u64,
    pub remaining: u64,
    pub window: QuotaWindow,
    pub resets_at: DateTime<Utc>,
    pub overage_behavior: OverageBehavior,
}

const KIND: &str = crate::keys::QUOTA_KIND;
/// How long a process trusts its cached copy of a tenant's policies; writes
/// through this process invalidate it at once.
const CACHE_TTL: Duration = Duration::from_secs(5);

pub struct Quotas {
    store: Arc<dyn StateStore>,
    clock: Arc<dyn Clock>,
    cache: TtlCache<(String, String), Arc<Vec<QuotaPolicy>>>,
}

impl Quotas {
    pub fn new(store: Arc<dyn StateStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            cache: TtlCache::new(CACHE_TTL),
        }
    }

    /// Enabled policies of a tenant (cached briefly).
    pub async fn for_tenant(
        &self,
        namespace: &str,
        tenant: &str,
    ) -> Result<Arc<Vec<QuotaPolicy>>, StoreError> {
        let now = self.clock.now();
        let key = (namespace.to_string(), tenant.to_string());
        if let Some(policies) = self.cache.get(&key, now) {
            return Ok(policies);
        }
        let policies = Arc::new(self.load_tenant(namespace, tenant).await?);
        self.cache.insert(key, policies.clone(), now);
        Ok(policies)
    }

    async fn load_tenant(
        &self,
        namespace: &str,
        tenant: &str,
    ) -> Result<Vec<QuotaPolicy>, StoreError> {
        crate::records::list_all(self.store.as_ref(), namespace, tenant, KIND)
            .await?
            .iter()
            .map(|(key, stored)| decode(key, &stored.value))
            .collect()
    }

    /// Create a policy; a second policy for the same scope is a conflict.
    pub async fn create(&self, mut policy: QuotaPolicy) -> Result<QuotaPolicy, GatewayError> {
        let existing = self.load_tenant(&policy.namespace, &policy.tenant).await?;
        if existing
            .iter()
            .any(|p| p.provider == policy.provider && p.window == policy.window)
        {
            return Err(GatewayError::Invalid {
                field: "window".into(),
                message: "a quota with this namespace, tenant, provider and window already exists"
                    .into(),
            });
        }
        let now = self.clock.now();
        policy.created_at = now;
        policy.updated_at = now;
        let body = crate::records::encode(&policy)?;
        self.store
            .put(
                &crate::keys::quota_pointer(&policy.id),
                &format!("{}\n{}", policy.namespace, policy.tenant),
                None,
            )
            .await?;
        self.store
            .put(
                &crate::keys::quota_policy(&policy.namespace, &policy.tenant, &policy.id),
                &body,
                None,
            )
            .await?;
        self.invalidate(&policy.namespace, &policy.tenant);
        Ok(policy)
    }

    pub async fn get(&self, id: &str) -> Result<Option<QuotaPolicy>, GatewayError> {
        let Some(pointer) = self.store.get(&crate::keys::quota_pointer(id)).await? else {
            return Ok(None);
        };
        let Some((ns, tenant)) = pointer.value.split_once('\n') else {
            return Ok(None);
        };
        let key = crate::keys::quota_policy(ns, tenant, id);
        match self.store.get(&key).await? {
            Some(v) => Ok(Some(decode(&key, &v.value)?)),
            None => Ok(None),
        }
    }

    pub async fn update(&self, policy: QuotaPolicy) -> Result<QuotaPolicy, GatewayError> {
        let body = crate::records::encode(&policy)?;
        self.store
            .put(
                &crate::keys::quota_policy(&policy.namespace, &policy.tenant, &policy.id),
                &body,
                None,
            )
            .await?;
        self.invalidate(&policy.namespace, &policy.tenant);
        Ok(policy)
    }

    pub async fn delete(&self, id: &str) -> Result<bool, GatewayError> {
        let Some(policy) = self.get(id).await? else {
            return Ok(false);
        };
        self.store
            .delete(&crate::keys::quota_policy(
                &policy.namespace,
                &policy.tenant,
                id,
            ))
            .await?;
        self.store.delete(&crate::keys::quota_pointer(id)).await?;
        self.invalidate(&policy.namespace, &policy.tenant);
        Ok(true)
    }

    pub async fn list(
        &self,
        namespace: &str,
        tenant: &str,
    ) -> Result<Vec<QuotaPolicy>, GatewayError> {
        Ok(self.load_tenant(namespace, tenant).await?)
    }

    /// Every tenant's policies (through the id pointers).
    pub async fn list_all(&self) -> Result<Vec<QuotaPolicy>, GatewayError> {
        let (namespace, tenant) = crate::keys::QUOTA_INDEX;
        let pointers =
            crate::records::list_all(self.store.as_ref(), namespace, tenant, "quota_ref").await?;
        let mut out = Vec::new();
        for (key, _) in pointers {
            if let Some(policy) = self.get(&key.id).await? {
                out.push(policy);
            }
        }
        Ok(out)
    }

    pub async fn usage(&self, policy: &QuotaPolicy) -> Result<QuotaUsage, GatewayError> {
        let (index, resets_at) = policy.window.window_at(self.clock.now());
        let used = self.store.counter(&policy.usage_key(index)).await?;
        Ok(QuotaUsage {
            namespace: policy.namespace.clone(),
            tenant: policy.tenant.clone(),
            used,
            limit: policy.max_actions,
            remaining: policy.max_actions.saturating_sub(used),
            window: policy.window,
            resets_at,
            overage_behavior: policy.overage_behavior.clone(),
        })
    }

    fn invalidate(&self, namespace: &str, tenant: &str) {
        self.cache
            .forget(&(namespace.to_string(), tenant.to_string()));
    }
}

fn decode(key: &StateKey, value: &str) -> Result<QuotaPolicy, StoreError> {
    serde_json::from_str(value).map_err(|e| StoreError::Corrupt {
        key: key.display(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_align_to_the_epoch() {
        let at: DateTime<Utc> = "2026-01-05T10:59:59Z".parse().expect("ts");
        let (i1, end1) = QuotaWindow::Hourly.window_at(at);
        let (i2, _) = QuotaWindow::Hourly.window_at(at + chrono::Duration::seconds(1));
        assert_eq!(i2, i1 + 1);
        assert_eq!(end1.to_rfc3339(), "2026-01-05T11:00:00+00:00");
    }
}
