//! The response models of Acteon's client libraries, written down as the
//! fields each one reads (from the facts of their models: a field read as
//! `data["x"]` is required, one read as `data.get("x")` is optional) and
//! checked against our answers. A model a client cannot build from our
//! answer fails here before it fails for a user.

use serde_json::Value;

/// The JSON type a client model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Str,
    /// A whole number (integers in their models).
    Int,
    /// Any number (floats in their models).
    Num,
    Bool,
    Obj,
    Arr,
    /// Anything, including null.
    Any,
}

/// Required (present, not null, of its type) or optional (absent, null, or of its type).
#[derive(Debug, Clone, Copy)]
pub enum Field {
    Req(&'static str, Ty),
    Opt(&'static str, Ty),
}

use Field::{Opt, Req};
use Ty::*;

/// One client model: its name (for failures) and its fields.
pub type Model = (&'static str, &'static [Field]);

fn has_type(value: &Value, ty: Ty) -> bool {
    match ty {
        Str => value.is_string(),
        Int => value.is_u64() || value.is_i64(),
        Num => value.is_number(),
        Bool => value.is_boolean(),
        Obj => value.is_object(),
        Arr => value.is_array(),
        Any => true,
    }
}

/// Every way `value` fails to build `model`; empty when it builds.
pub fn violations((name, fields): Model, value: &Value) -> Vec<String> {
    if !value.is_object() {
        return vec![format!("{name}: expected an object, got {value}")];
    }
    let mut out = Vec::new();
    for field in fields {
        match *field {
            Req(key, ty) => match value.get(key) {
                Some(v) if !v.is_null() && has_type(v, ty) => {}
                Some(v) => out.push(format!("{name}.{key}: expected {ty:?}, got {v}")),
                None => out.push(format!("{name}.{key}: missing")),
            },
            Opt(key, ty) => match value.get(key) {
                None | Some(Value::Null) => {}
                Some(v) if has_type(v, ty) => {}
                Some(v) => out.push(format!("{name}.{key}: expected {ty:?} or null, got {v}")),
            },
        }
    }
    out
}

/// Assert `value` builds `model`.
pub fn conforms(model: Model, value: &Value) {
    let failures = violations(model, value);
    assert!(failures.is_empty(), "{failures:#?}\nin {value:#}");
}

/// Assert every item of the array at `value[key]` builds `model`; returns the items.
pub fn each(model: Model, value: &Value, key: &str) -> Vec<Value> {
    let items = value[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is not an array in {value}"))
        .clone();
    for item in &items {
        conforms(model, item);
    }
    items
}

pub const ERROR: Model = (
    "ErrorResponse",
    &[
        Req("code", Str),
        Req("message", Str),
        Opt("retryable", Bool),
    ],
);
pub const RULE_INFO: Model = (
    "RuleInfo",
    &[
        Req("name", Str),
        Req("priority", Int),
        Req("enabled", Bool),
        Opt("description", Str),
    ],
);
pub const RELOAD_RESULT: Model = ("ReloadResult", &[Req("loaded", Int), Opt("errors", Arr)]);
pub const EVALUATE_RULES: Model = (
    "EvaluateRulesResponse",
    &[
        Req("verdict", Str),
        Req("total_rules_evaluated", Int),
        Req("total_rules_skipped", Int),
        Req("evaluation_duration_us", Int),
        Req("trace", Arr),
        Req("context", Obj),
        Opt("matched_rule", Str),
        Opt("has_errors", Bool),
        Opt("modified_payload", Obj),
    ],
);
pub const RULE_TRACE_ENTRY: Model = (
    "RuleTraceEntry",
    &[
        Req("rule_name", Str),
        Req("priority", Int),
        Req("enabled", Bool),
        Req("condition_display", Str),
        Req("result", Str),
        Req("evaluation_duration_us", Int),
        Req("action", Str),
        Req("source", Str),
        Opt("description", Str),
        Opt("skip_reason", Str),
        Opt("error", Str),
    ],
);
pub const TRACE_CONTEXT: Model = (
    "TraceContext",
    &[
        Req("time", Obj),
        Req("environment_keys", Arr),
        Opt("accessed_state_keys", Arr),
        Opt("effective_timezone", Str),
    ],
);
pub const AUDIT_PAGE: Model = (
    "AuditPage",
    &[
        Req("records", Arr),
        Req("total", Int),
        Req("limit", Int),
        Req("offset", Int),
    ],
);
pub const AUDIT_RECORD: Model = (
    "AuditRecord",
    &[
        Req("id", Str),
        Req("action_id", Str),
        Req("namespace", Str),
        Req("tenant", Str),
        Req("provider", Str),
        Req("action_type", Str),
        Req("verdict", Str),
        Req("outcome", Str),
        Opt("matched_rule", Str),
        Req("duration_ms", Int),
        Req("dispatched_at", Str),
    ],
);
pub const EVENT_LIST: Model = (
    "EventListResponse",
    &[Req("events", Arr), Req("count", Int)],
);
pub const EVENT_STATE: Model = (
    "EventState",
    &[
        Req("fingerprint", Str),
        Req("state", Str),
        Opt("action_type", Str),
        Opt("updated_at", Str),
    ],
);
pub const TRANSITION: Model = (
    "TransitionResponse",
    &[
        Req("fingerprint", Str),
        Req("previous_state", Str),
        Req("new_state", Str),
        Req("notify", Bool),
    ],
);
pub const GROUP_LIST: Model = (
    "GroupListResponse",
    &[Req("groups", Arr), Req("total", Int)],
);
pub const GROUP_SUMMARY: Model = (
    "GroupSummary",
    &[
        Req("group_id", Str),
        Req("group_key", Str),
        Req("event_count", Int),
        Req("state", Str),
        Opt("notify_at", Str),
        Opt("created_at", Str),
    ],
);
pub const GROUP_DETAIL: Model = (
    "GroupDetail",
    &[Req("group", Obj), Opt("events", Arr), Opt("labels", Obj)],
);
pub const FLUSH_GROUP: Model = (
    "FlushGroupResponse",
    &[
        Req("group_id", Str),
        Req("event_count", Int),
        Req("notified", Bool),
    ],
);
pub const APPROVAL_ACTION: Model = (
    "ApprovalActionResponse",
    &[Req("id", Str), Req("status", Str), Opt("outcome", Any)],
);
pub const APPROVAL_STATUS: Model = (
    "ApprovalStatus",
    &[
        Req("token", Str),
        Req("status", Str),
        Req("rule", Str),
        Req("created_at", Str),
        Req("expires_at", Str),
        Opt("decided_at", Str),
        Opt("message", Str),
    ],
);
pub const APPROVAL_LIST: Model = (
    "ApprovalListResponse",
    &[Req("approvals", Arr), Req("count", Int)],
);
pub const RECURRING_CREATED: Model = (
    "CreateRecurringResponse",
    &[
        Req("id", Str),
        Req("status", Str),
        Opt("name", Str),
        Opt("next_execution_at", Str),
    ],
);
pub const RECURRING_LIST: Model = (
    "ListRecurringResponse",
    &[Req("recurring_actions", Arr), Req("count", Int)],
);
pub const RECURRING_SUMMARY: Model = (
    "RecurringSummary",
    &[
        Req("id", Str),
        Req("namespace", Str),
        Req("tenant", Str),
        Req("cron_expr", Str),
        Req("timezone", Str),
        Req("enabled", Bool),
        Req("provider", Str),
        Req("action_type", Str),
        Req("execution_count", Int),
        Req("created_at", Str),
        Opt("next_execution_at", Str),
        Opt("description", Str),
    ],
);
pub const RECURRING_DETAIL: Model = (
    "RecurringDetail",
    &[
        Req("id", Str),
        Req("namespace", Str),
        Req("tenant", Str),
        Req("cron_expr", Str),
        Req("timezone", Str),
        Req("enabled", Bool),
        Req("provider", Str),
        Req("action_type", Str),
        Opt("payload", Obj),
        Opt("metadata", Obj),
        Req("execution_count", Int),
        Req("created_at", Str),
        Req("updated_at", Str),
        Opt("labels", Obj),
        Opt("next_execution_at", Str),
        Opt("last_executed_at", Str),
        Opt("ends_at", Str),
        Opt("description", Str),
        Opt("dedup_key", Str),
    ],
);
pub const QUOTA_POLICY: Model = (
    "QuotaPolicy",
    &[
        Req("id", Str),
        Req("namespace", Str),
        Req("tenant", Str),
        Req("max_actions", Int),
        Req("window", Str),
        Req("overage_behavior", Str),
        Req("enabled", Bool),
        Req("created_at", Str),
        Req("updated_at", Str),
        Opt("description", Str),
        Opt("labels", Obj),
    ],
);
pub const QUOTA_LIST: Model = (
    "ListQuotasResponse",
    &[Req("quotas", Arr), Req("count", Int)],
);
pub const QUOTA_USAGE: Model = (
    "QuotaUsage",
    &[
        Req("tenant", Str),
        Req("namespace", Str),
        Req("used", Int),
        Req("limit", Int),
        Req("remaining", Int),
        Req("window", Str),
        Req("resets_at", Str),
        Req("overage_behavior", Str),
    ],
);
pub const RETENTION_POLICY: Model = (
    "RetentionPolicy",
    &[
        Req("id", Str),
        Req("namespace", Str),
        Req("tenant", Str),
        Req("enabled", Bool),
        Req("audit_ttl_seconds", Int),
        Req("state_ttl_seconds", Int),
        Req("event_ttl_seconds", Int),
        Req("compliance_hold", Bool),
        Req("created_at", Str),
        Req("updated_at", Str),
        Opt("description", Str),
        Opt("labels", Obj),
    ],
);
pub const RETENTION_LIST: Model = (
    "ListRetentionResponse",
    &[Req("policies", Arr), Req("count", Int)],
);
pub const CHAIN_LIST: Model = ("ListChainsResponse", &[Req("chains", Arr)]);
pub const CHAIN_SUMMARY: Model = (
    "ChainSummary",
    &[
        Req("chain_id", Str),
        Req("chain_name", Str),
        Req("status", Str),
        Req("current_step", Int),
        Req("total_steps", Int),
        Req("started_at", Str),
        Req("updated_at", Str),
        Opt("parent_chain_id", Str),
    ],
);
pub const CHAIN_DETAIL: Model = (
    "ChainDetailResponse",
    &[
        Req("chain_id", Str),
        Req("chain_name", Str),
        Req("status", Str),
        Req("current_step", Int),
        Req("total_steps", Int),
        Opt("steps", Arr),
        Req("started_at", Str),
        Req("updated_at", Str),
        Opt("expires_at", Str),
        Opt("cancel_reason", Str),
        Opt("cancelled_by", Str),
        Opt("execution_path", Arr),
        Opt("parent_chain_id", Str),
        Opt("child_chain_ids", Arr),
    ],
);
pub const CHAIN_STEP: Model = (
    "ChainStepStatus",
    &[
        Req("name", Str),
        Req("provider", Str),
        Req("status", Str),
        Opt("response_body", Any),
        Opt("error", Str),
        Opt("completed_at", Str),
        Opt("sub_chain", Str),
        Opt("child_chain_id", Str),
    ],
);
pub const DLQ_STATS: Model = (
    "DlqStatsResponse",
    &[Req("enabled", Bool), Req("count", Int)],
);
pub const DLQ_DRAIN: Model = (
    "DlqDrainResponse",
    &[Req("entries", Arr), Req("count", Int)],
);
pub const DLQ_ENTRY: Model = (
    "DlqEntry",
    &[
        Req("action_id", Str),
        Req("namespace", Str),
        Req("tenant", Str),
        Req("provider", Str),
        Req("action_type", Str),
        Req("error", Str),
        Req("attempts", Int),
        Req("timestamp", Int),
    ],
);
pub const PROVIDER_HEALTH_LIST: Model = ("ListProviderHealthResponse", &[Req("providers", Arr)]);
pub const PROVIDER_HEALTH: Model = (
    "ProviderHealthStatus",
    &[
        Req("provider", Str),
        Req("healthy", Bool),
        Req("circuit_breaker_state", Str),
        Req("total_requests", Int),
        Req("successes", Int),
        Req("failures", Int),
        Req("success_rate", Num),
        Req("avg_latency_ms", Num),
        Req("p50_latency_ms", Num),
        Req("p95_latency_ms", Num),
        Req("p99_latency_ms", Num),
        Opt("health_check_error", Str),
        Opt("last_request_at", Int),
        Opt("last_error", Str),
    ],
);
/// `ActionOutcome` variants the clients decode (by their single key).
pub const EXECUTED: Model = (
    "Executed",
    &[Opt("status", Str), Opt("body", Any), Opt("headers", Obj)],
);
pub const SUPPRESSED: Model = ("Suppressed", &[Req("rule", Str)]);
pub const THROTTLED: Model = ("Throttled", &[Req("retry_after", Obj)]);
pub const DURATION: Model = ("Duration", &[Req("secs", Int), Req("nanos", Int)]);
pub const DRY_RUN: Model = (
    "DryRun",
    &[
        Req("verdict", Str),
        Opt("matched_rule", Str),
        Req("would_be_provider", Str),
    ],
);
pub const QUOTA_EXCEEDED: Model = (
    "QuotaExceeded",
    &[
        Req("tenant", Str),
        Req("limit", Int),
        Req("used", Int),
        Req("overage_behavior", Str),
    ],
);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_checker_catches_missing_null_and_mistyped_fields() {
        assert!(violations(SUPPRESSED, &json!({"rule": "r"})).is_empty());
        assert_eq!(violations(SUPPRESSED, &json!({})).len(), 1);
        assert_eq!(violations(SUPPRESSED, &json!({"rule": null})).len(), 1);
        assert_eq!(violations(SUPPRESSED, &json!({"rule": 3})).len(), 1);
        assert!(
            violations(
                EVENT_STATE,
                &json!({"fingerprint": "f", "state": "s", "updated_at": null})
            )
            .is_empty()
        );
        assert_eq!(
            violations(
                EVENT_STATE,
                &json!({"fingerprint": "f", "state": "s", "updated_at": 5})
            )
            .len(),
            1
        );
        assert_eq!(
            violations(DLQ_STATS, &json!({"enabled": true, "count": 1.5})).len(),
            1
        );
        assert_eq!(violations(DLQ_STATS, &json!([])).len(), 1);
    }
}
