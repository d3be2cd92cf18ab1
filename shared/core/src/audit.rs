//! Audit records and queries: one record per dispatch (and per chain step).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What happened, as the audit record's explicit kind: the live stream's
/// `event:` names are these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditEvent {
    /// A dispatched action's outcome (also a recurring action's, and an
    /// approved action's execution).
    ActionDispatched,
    /// A scheduled action released at its time, and its outcome.
    ScheduledActionDue,
    /// One step of a chain ran.
    ChainStepCompleted,
    /// A chain ended (completed, failed, cancelled, timed out).
    ChainCompleted,
    /// A group's batch went out.
    GroupFlushed,
    /// An approval was approved, rejected or expired.
    ApprovalResolved,
    /// A provider's circuit breaker changed phase.
    CircuitBreakerTransition,
    /// An operator changed rules, keys, quotas, retention, recurring
    /// actions or dead letters.
    AdminChange,
    /// A delayed message failed its last delivery.
    DeadLetter,
}

impl AuditEvent {
    pub fn name(self) -> &'static str {
        match self {
            AuditEvent::ActionDispatched => "action_dispatched",
            AuditEvent::ScheduledActionDue => "scheduled_action_due",
            AuditEvent::ChainStepCompleted => "chain_step_completed",
            AuditEvent::ChainCompleted => "chain_completed",
            AuditEvent::GroupFlushed => "group_flushed",
            AuditEvent::ApprovalResolved => "approval_resolved",
            AuditEvent::CircuitBreakerTransition => "circuit_breaker_transition",
            AuditEvent::AdminChange => "admin_change",
            AuditEvent::DeadLetter => "dead_letter",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// UUIDv7: sorts by creation time, also used as the stream event id.
    pub id: String,
    /// What the record is about. Absent only in records written before the
    /// field existed (the stream then infers it, see `stream/event.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<AuditEvent>,
    pub action_id: String,
    #[serde(default)]
    pub chain_id: Option<String>,
    pub namespace: String,
    pub tenant: String,
    pub provider: String,
    pub action_type: String,
    /// The deciding rule's action type (`allow` when no rule matched).
    pub verdict: String,
    #[serde(default)]
    pub matched_rule: Option<String>,
    /// The outcome's snake_case tag.
    pub outcome: String,
    /// The payload after redaction; `None` when payloads are not stored.
    #[serde(default)]
    pub action_payload: Option<Value>,
    pub verdict_details: Value,
    pub outcome_details: Value,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub dispatched_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
    pub duration_ms: u64,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub caller_id: String,
    #[serde(default)]
    pub auth_method: String,
}

/// Who caused a record: the audit's `caller_id` and `auth_method`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    pub id: String,
    pub auth_method: String,
}

impl Caller {
    pub fn new(id: impl Into<String>, auth_method: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            auth_method: auth_method.into(),
        }
    }

    /// Work the gateway does on its own (released schedules, chain steps…).
    pub fn system() -> Self {
        Self::new("switchyard", "system")
    }

    /// Auth disabled (Acteon's default): nobody in particular.
    pub fn anonymous() -> Self {
        Self::new("anonymous", "anonymous")
    }
}

impl Default for Caller {
    fn default() -> Self {
        Self::anonymous()
    }
}

/// Filters of `GET /v1/audit`. Every filter is an exact match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub namespace: Option<String>,
    pub tenant: Option<String>,
    pub provider: Option<String>,
    pub action_type: Option<String>,
    pub outcome: Option<String>,
    pub verdict: Option<String>,
    pub matched_rule: Option<String>,
    pub chain_id: Option<String>,
    pub action_id: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

impl AuditQuery {
    pub const DEFAULT_LIMIT: usize = 50;
    pub const MAX_LIMIT: usize = 1000;

    pub fn matches(&self, record: &AuditRecord) -> bool {
        self.matches_fields(&record.fields())
    }

    /// [`matches`](Self::matches) on the filtered fields alone: a store
    /// that indexes them apart from the record decides without reading it.
    pub fn matches_fields(&self, fields: &AuditFields<'_>) -> bool {
        fn eq(filter: &Option<String>, value: &str) -> bool {
            filter.as_deref().is_none_or(|f| f == value)
        }
        fn eq_opt(filter: &Option<String>, value: Option<&str>) -> bool {
            filter.as_deref().is_none_or(|f| value == Some(f))
        }
        eq(&self.namespace, fields.namespace)
            && eq(&self.tenant, fields.tenant)
            && eq(&self.provider, fields.provider)
            && eq(&self.action_type, fields.action_type)
            && eq(&self.outcome, fields.outcome)
            && eq(&self.verdict, fields.verdict)
            && eq(&self.action_id, fields.action_id)
            && eq_opt(&self.matched_rule, fields.matched_rule)
            && eq_opt(&self.chain_id, fields.chain_id)
    }
}

/// The fields of a record that [`AuditQuery`] filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditFields<'a> {
    pub action_id: &'a str,
    pub chain_id: Option<&'a str>,
    pub namespace: &'a str,
    pub tenant: &'a str,
    pub provider: &'a str,
    pub action_type: &'a str,
    pub verdict: &'a str,
    pub matched_rule: Option<&'a str>,
    pub outcome: &'a str,
}

impl AuditRecord {
    pub fn fields(&self) -> AuditFields<'_> {
        AuditFields {
            action_id: &self.action_id,
            chain_id: self.chain_id.as_deref(),
            namespace: &self.namespace,
            tenant: &self.tenant,
            provider: &self.provider,
            action_type: &self.action_type,
            verdict: &self.verdict,
            matched_rule: self.matched_rule.as_deref(),
            outcome: &self.outcome,
        }
    }
}

/// A page of audit records, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub records: Vec<AuditRecord>,
    pub total: u64,
    pub limit: usize,
    pub offset: usize,
}
