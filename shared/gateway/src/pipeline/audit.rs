//! Building audit records (redacted before they leave the process).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use switchyard_core::{Action, ActionOutcome, AuditEvent, AuditRecord};

use crate::gateway::Gateway;

/// What the audit record says about how an outcome was reached.
pub(crate) struct AuditContext<'a> {
    pub event: AuditEvent,
    pub action: &'a Action,
    pub provider: &'a str,
    pub verdict: &'a str,
    pub matched_rule: Option<&'a str>,
    pub verdict_details: Value,
    pub chain_id: Option<&'a str>,
    pub dispatched_at: DateTime<Utc>,
}

/// A record's outcome: an action's, or a named end that is not an action
/// outcome (`approval_rejected`, `chain_completed`, `circuit_open`…).
pub(crate) enum RecordOutcome<'a> {
    Action(&'a ActionOutcome),
    Named { tag: String, details: Value },
}

impl<'a> From<&'a ActionOutcome> for RecordOutcome<'a> {
    fn from(outcome: &'a ActionOutcome) -> Self {
        RecordOutcome::Action(outcome)
    }
}

impl Gateway {
    pub(crate) fn audit_record<'o>(
        &self,
        ctx: AuditContext<'_>,
        outcome: impl Into<RecordOutcome<'o>>,
    ) -> AuditRecord {
        let (outcome, outcome_details) = match outcome.into() {
            RecordOutcome::Action(outcome) => (outcome.tag().to_string(), outcome.details()),
            RecordOutcome::Named { tag, details } => (tag, details),
        };
        let completed_at = self.ports.clock.now();
        let action = ctx.action;
        let mut metadata = action.metadata.clone();
        let mut label = |key: &str, value: Option<&String>| {
            if let Some(v) = value {
                metadata.insert(key.to_string(), v.clone());
            }
        };
        label("__dedup_key", action.dedup_key.as_ref());
        label("__fingerprint", action.fingerprint.as_ref());
        label("__status", action.status.as_ref());
        AuditRecord {
            id: uuid::Uuid::now_v7().to_string(),
            event: Some(ctx.event),
            action_id: action.id.clone(),
            chain_id: ctx.chain_id.map(str::to_string),
            namespace: action.namespace.clone(),
            tenant: action.tenant.clone(),
            provider: ctx.provider.to_string(),
            action_type: action.action_type.clone(),
            verdict: ctx.verdict.to_string(),
            matched_rule: ctx.matched_rule.map(str::to_string),
            outcome,
            action_payload: self
                .config
                .audit
                .store_payload
                .then(|| self.redactor.redact(&action.payload)),
            verdict_details: ctx.verdict_details,
            outcome_details,
            metadata,
            dispatched_at: ctx.dispatched_at,
            completed_at,
            duration_ms: (completed_at - ctx.dispatched_at).num_milliseconds().max(0) as u64,
            expires_at: self
                .config
                .audit
                .ttl_seconds
                .map(|ttl| switchyard_core::after_seconds(ctx.dispatched_at, ttl)),
            // Work of the gateway's own unless the caller is set after.
            caller_id: "switchyard".into(),
            auth_method: "system".into(),
        }
    }

    /// Store a record. The outcome already happened, so a failing audit store
    /// cannot undo it: the failure is logged and counted, never hidden.
    pub(crate) async fn write_audit(&self, mut record: AuditRecord) {
        if !self.config.audit.enabled {
            return;
        }
        // A tenant's retention policy overrides the configured audit TTL.
        record.expires_at = self
            .audit_ttl(&record.namespace, &record.tenant)
            .await
            .map(|ttl| switchyard_core::after_seconds(record.dispatched_at, ttl));
        if let Err(err) = self.ports.audit.append(record.clone()).await {
            crate::metrics::Metrics::bump(&self.metrics.audit_errors);
            tracing::warn!(audit_id = %record.id, error = %err, "audit write failed; it will be retried");
            self.audit_retry.defer(record, &self.ports.audit);
        }
    }
}

pub(crate) fn gates_details(passed_through: &[String]) -> Value {
    if passed_through.is_empty() {
        json!({})
    } else {
        json!({ "gates": passed_through })
    }
}

/// Where changes that concern no tenant (rules, keys) are audited: a
/// partition no tenant can name, readable by unrestricted callers only.
pub const ADMIN_NAMESPACE: &str = "~switchyard";
pub const ADMIN_TENANT: &str = "~admin";

impl Gateway {
    /// Audit an administrative change (rule toggles, reloads, quota,
    /// retention, recurring and key changes) with the caller who made it.
    pub async fn audit_admin(
        &self,
        caller: &switchyard_core::Caller,
        scope: Option<(&str, &str)>,
        change: &str,
        details: Value,
    ) {
        let now = self.ports.clock.now();
        let (namespace, tenant) = scope.unwrap_or((ADMIN_NAMESPACE, ADMIN_TENANT));
        let record = AuditRecord {
            id: uuid::Uuid::now_v7().to_string(),
            event: Some(AuditEvent::AdminChange),
            action_id: uuid::Uuid::new_v4().to_string(),
            chain_id: None,
            namespace: namespace.to_string(),
            tenant: tenant.to_string(),
            provider: "switchyard".into(),
            action_type: change.to_string(),
            verdict: "admin".into(),
            matched_rule: None,
            outcome: "admin_change".into(),
            action_payload: None,
            verdict_details: details,
            outcome_details: json!({}),
            metadata: Default::default(),
            dispatched_at: now,
            completed_at: now,
            duration_ms: 0,
            expires_at: None,
            caller_id: caller.id.clone(),
            auth_method: caller.auth_method.clone(),
        };
        self.write_audit(record).await;
    }
}
