//! Retention policies (one per namespace and tenant) and the reaper that
//! applies them. Audit TTLs apply when a record is written; chains and events
//! are deleted by [`Gateway::run_retention`] (the `reaper` function's job).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::chains::{CHAIN_KIND, ChainState};
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::state_machines::{EVENT_KIND, EventState};

pub use crate::keys::RETENTION_KIND;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    pub id: String,
    pub namespace: String,
    pub tenant: String,
    pub enabled: bool,
    pub audit_ttl_seconds: Option<u64>,
    pub state_ttl_seconds: Option<u64>,
    pub event_ttl_seconds: Option<u64>,
    #[serde(default)]
    pub compliance_hold: bool,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Free-form labels (Acteon's `labels`), omitted when empty.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    pub policies: usize,
    pub deleted_chains: u64,
    pub deleted_events: u64,
    pub purged_audit_records: u64,
    pub skipped_compliance_hold: u64,
    /// Policies whose pass failed (logged; the others still ran).
    pub errors: u64,
}

impl Gateway {
    pub async fn create_retention(
        &self,
        mut policy: RetentionPolicy,
    ) -> Result<Option<RetentionPolicy>, GatewayError> {
        let now = self.ports.clock.now();
        policy.created_at = now;
        policy.updated_at = now;
        let key = crate::keys::retention_policy(&policy.namespace, &policy.tenant);
        if self.swap_json(&key, 0, &policy, None).await?.is_none() {
            return Ok(None); // One policy per namespace and tenant.
        }
        self.index_put(
            RETENTION_KIND,
            &policy.id,
            &policy.namespace,
            &policy.tenant,
        )
        .await?;
        self.forget_audit_ttl(&policy.namespace, &policy.tenant);
        Ok(Some(policy))
    }

    pub async fn get_retention(&self, id: &str) -> Result<Option<RetentionPolicy>, GatewayError> {
        let Some((ns, tenant)) = self.index_get(RETENTION_KIND, id).await? else {
            return Ok(None);
        };
        let key = crate::keys::retention_policy(&ns, &tenant);
        match self.ports.state.get(&key).await? {
            Some(v) => Ok(Some(crate::records::decode(&key, &v.value)?)),
            None => Ok(None),
        }
    }

    pub async fn update_retention(
        &self,
        mut policy: RetentionPolicy,
    ) -> Result<RetentionPolicy, GatewayError> {
        policy.updated_at = self.ports.clock.now();
        self.put_json(
            &crate::keys::retention_policy(&policy.namespace, &policy.tenant),
            &policy,
            None,
        )
        .await?;
        self.forget_audit_ttl(&policy.namespace, &policy.tenant);
        Ok(policy)
    }

    pub async fn delete_retention(&self, id: &str) -> Result<bool, GatewayError> {
        let Some(policy) = self.get_retention(id).await? else {
            return Ok(false);
        };
        self.ports
            .state
            .delete(&crate::keys::retention_policy(
                &policy.namespace,
                &policy.tenant,
            ))
            .await?;
        self.index_delete(RETENTION_KIND, id).await?;
        self.forget_audit_ttl(&policy.namespace, &policy.tenant);
        Ok(true)
    }

    pub async fn list_retention(
        &self,
        namespace: Option<&str>,
        tenant: Option<&str>,
    ) -> Result<Vec<RetentionPolicy>, GatewayError> {
        let mut out = Vec::new();
        for (id, ns, t) in self.index_list(RETENTION_KIND).await? {
            if namespace.is_some_and(|n| n != ns) || tenant.is_some_and(|x| x != t) {
                continue;
            }
            if let Some(policy) = self.get_retention(&id).await? {
                out.push(policy);
            }
        }
        Ok(out)
    }

    fn forget_audit_ttl(&self, namespace: &str, tenant: &str) {
        self.audit_ttls
            .forget(&(namespace.to_string(), tenant.to_string()));
    }

    /// The audit TTL for a tenant: its retention policy's, else the configured one.
    pub(crate) async fn audit_ttl(&self, namespace: &str, tenant: &str) -> Option<u64> {
        let now = self.ports.clock.now();
        let cache_key = (namespace.to_string(), tenant.to_string());
        if let Some(ttl) = self.audit_ttls.get(&cache_key, now) {
            return ttl.or(self.config.audit.ttl_seconds);
        }
        let key = crate::keys::retention_policy(namespace, tenant);
        let ttl = match self.ports.state.get(&key).await {
            Ok(Some(v)) => serde_json::from_str::<RetentionPolicy>(&v.value)
                .ok()
                .filter(|p| p.enabled)
                .and_then(|p| p.audit_ttl_seconds),
            _ => None,
        };
        self.audit_ttls.insert(cache_key, ttl, now);
        ttl.or(self.config.audit.ttl_seconds)
    }

    /// Delete what the policies say has expired (the reaper's retention pass).
    /// Each policy is its own unit of work: one that fails (a corrupt record,
    /// a store error, even a panic) is logged, counted in `errors` and
    /// `background_errors`, and the pass goes on with the next.
    pub async fn run_retention(&self) -> Result<RetentionReport, GatewayError> {
        use futures_util::FutureExt;
        let now = self.ports.clock.now();
        let mut report = RetentionReport::default();
        for policy in self.list_retention(None, None).await? {
            report.policies += 1;
            if !policy.enabled {
                continue;
            }
            if policy.compliance_hold {
                report.skipped_compliance_hold += 1;
                continue;
            }
            let outcome = std::panic::AssertUnwindSafe(self.apply_retention(&policy, now))
                .catch_unwind()
                .await;
            let error = match outcome {
                Ok(Ok((chains, events))) => {
                    report.deleted_chains += chains;
                    report.deleted_events += events;
                    continue;
                }
                Ok(Err(err)) => err.to_string(),
                Err(_) => "panicked".to_string(),
            };
            report.errors += 1;
            crate::metrics::Metrics::bump(&self.metrics.background_errors);
            tracing::error!(namespace = %policy.namespace, tenant = %policy.tenant, error, "retention pass failed for this policy; going on with the next");
        }
        report.purged_audit_records = self.ports.audit.purge_expired(now).await?;
        crate::metrics::Metrics::add(
            &self.metrics.retention_deleted_state,
            report.deleted_chains + report.deleted_events,
        );
        Ok(report)
    }

    /// One policy's deletes: (chains, event states) removed.
    async fn apply_retention(
        &self,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<(u64, u64), GatewayError> {
        let older = |ttl: Option<u64>, at: DateTime<Utc>| {
            ttl.is_some_and(|t| switchyard_core::after_seconds(at, t) <= now)
        };
        let mut deleted = (0, 0);
        let chains: Vec<ChainState> = self
            .list_records(&policy.namespace, &policy.tenant, CHAIN_KIND)
            .await?;
        for chain in chains
            .iter()
            .filter(|c| c.status.is_terminal() && older(policy.state_ttl_seconds, c.updated_at))
        {
            let key = crate::keys::chain(&policy.namespace, &policy.tenant, &chain.chain_id);
            if self.ports.state.delete(&key).await? {
                deleted.0 += 1;
            }
            // Its origin action, if a timeout's TTL has not removed it yet.
            let origin =
                crate::keys::chain_origin(&policy.namespace, &policy.tenant, &chain.chain_id);
            self.ports.state.delete(&origin).await?;
        }
        let events: Vec<EventState> = self
            .list_records(&policy.namespace, &policy.tenant, EVENT_KIND)
            .await?;
        for event in events
            .iter()
            .filter(|e| older(policy.event_ttl_seconds, e.updated_at))
        {
            let key = crate::keys::event(&policy.namespace, &policy.tenant, &event.fingerprint);
            if self.ports.state.delete(&key).await? {
                deleted.1 += 1;
            }
        }
        Ok(deleted)
    }
}
