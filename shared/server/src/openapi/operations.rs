//! Every route, in the router's order, with what it reads and answers.

use serde_json::json;

use super::document::{Doc, Op};
use super::schemas::{ActionBody, listing, object, outcome};
use crate::routes::{
    audit, auth, dead_letters, dispatch, orchestration, quotas, recurring, retention, rules,
};
use crate::stream::StreamFilter;

pub(super) fn describe(doc: &mut Doc) {
    health(doc);
    keys(doc);
    dead_letter_routes(doc);
    dispatching(doc);
    rule_routes(doc);
    audit_routes(doc);
    quota_routes(doc);
    approvals(doc);
    chains_groups_events(doc);
    retention_routes(doc);
    recurring_routes(doc);
}

fn health(doc: &mut Doc) {
    doc.op("GET", "/openapi.json", "This document")
        .json(200, "OpenAPI 3.1", object("The OpenAPI document"))
        .add();
    for (path, summary, content_type) in [
        ("/ui", "The console page", "text/html; charset=utf-8"),
        (
            "/ui/console.js",
            "The console's script",
            "text/javascript; charset=utf-8",
        ),
        (
            "/ui/console.css",
            "The console's styles",
            "text/css; charset=utf-8",
        ),
    ] {
        doc.op("GET", path, summary)
            .text(summary, content_type)
            .add();
    }
    doc.op(
        "GET",
        "/health",
        "Liveness, version, rule count and counters",
    )
    .json(200, "Serving", object("status, version, rules, metrics"))
    .add();
    doc.op("GET", "/metrics", "Every counter as JSON")
        .json(200, "Counters", object("Counter name to value"))
        .add();
    doc.op(
        "GET",
        "/metrics/prometheus",
        "Labelled measures for Prometheus",
    )
    .text(
        "OpenMetrics text",
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
    )
    .add();
    doc.op(
        "GET",
        "/v1/circuit-breakers",
        "Circuit breaker per provider",
    )
    .json(200, "Breakers", listing("count", "circuit_breakers"))
    .add();
    doc.op("GET", "/v1/providers/health", "Provider health and latency")
        .json(200, "Providers", object("providers: per-provider health"))
        .add();
}

fn keys(doc: &mut Doc) {
    doc.op(
        "POST",
        "/v1/auth/login",
        "Exchange a username and password for a token",
    )
    .body::<auth::LoginRequest>()
    .json(
        200,
        "A bearer token",
        object("token, token_type, expires_in"),
    )
    .add();
    doc.op(
        "GET",
        "/v1/auth/keys",
        "List stored API keys (never their secrets)",
    )
    .json(200, "Keys", listing("count", "keys"))
    .add();
    doc.op(
        "POST",
        "/v1/auth/keys",
        "Create an API key; the key is shown once",
    )
    .body::<auth::CreateKeyRequest>()
    .json(201, "Created", object("The key's record with `key`"))
    .add();
    doc.op("DELETE", "/v1/auth/keys/{id}", "Revoke a stored API key")
        .empty(204, "Revoked")
        .add();
}

fn dead_letter_routes(doc: &mut Doc) {
    doc.op(
        "GET",
        "/v1/dead-letters",
        "Actions that failed for good, a page at a time",
    )
    .query::<dead_letters::PageParams>()
    .json(200, "A page", object("entries, count, next_cursor"))
    .add();
    doc.op(
        "POST",
        "/v1/dead-letters/drain",
        "Remove and return dead letters",
    )
    .query::<dead_letters::PageParams>()
    .json(200, "Drained", object("entries, count, more"))
    .add();
    doc.op(
        "POST",
        "/v1/dead-letters/{id}/replay",
        "Dispatch a dead letter again",
    )
    .json(200, "Replayed", object("replayed: the entry"))
    .add();
    doc.op("GET", "/v1/dlq/stats", "Dead-letter count (Acteon's path)")
        .json(200, "Stats", object("enabled, count"))
        .add();
    doc.op(
        "POST",
        "/v1/dlq/drain",
        "Remove and return dead letters (Acteon's path)",
    )
    .query::<dead_letters::PageParams>()
    .json(200, "Drained", object("entries, count, more"))
    .add();
}

fn dispatching(doc: &mut Doc) {
    doc.op(
        "POST",
        "/v1/dispatch",
        "Dispatch one action through the rules",
    )
    .query::<dispatch::DispatchParams>()
    .body::<ActionBody>()
    .json(200, "The outcome", outcome())
    .header(
        200,
        "x-action-id",
        "The action's id, to find its audit record",
    )
    .add();
    let action = doc.schema::<ActionBody>();
    doc.op("POST", "/v1/dispatch/batch", "Dispatch several actions")
        .query::<dispatch::DispatchParams>()
        .body_schema(json!({"type": "array", "items": action}))
        .json(
            200,
            "One outcome or error per action, in order",
            json!({"type": "array"}),
        )
        .add();
}

fn rule_routes(doc: &mut Doc) {
    doc.op("GET", "/v1/rules", "The loaded rules")
        .json(200, "Rules", json!({"type": "array"}))
        .add();
    doc.op(
        "POST",
        "/v1/rules/reload",
        "Reload the configured rule source",
    )
    .optional_body::<rules::ReloadRequest>()
    .json(200, "Reloaded", object("loaded, errors"))
    .add();
    // The playground takes an action with its options beside the fields.
    let mut body = doc.inline::<ActionBody>();
    let options = doc.inline::<rules::EvaluateOptions>();
    if let (Some(fields), Some(extra)) = (
        body["properties"].as_object_mut(),
        options["properties"].as_object(),
    ) {
        fields.extend(extra.clone());
    }
    doc.op(
        "POST",
        "/v1/rules/evaluate",
        "The verdict for an action, with a per-rule trace",
    )
    .body_schema(body)
    .json(
        200,
        "Verdict and trace",
        object("verdict, matched_rule, trace"),
    )
    .add();
    doc.op(
        "PUT",
        "/v1/rules/{name}/enabled",
        "Enable or disable a rule",
    )
    .body::<rules::EnabledRequest>()
    .json(200, "Changed", object("rule, enabled"))
    .add();
}

fn audit_routes(doc: &mut Doc) {
    doc.op("GET", "/v1/audit", "Search the audit trail")
        .query::<audit::AuditParams>()
        .json(
            200,
            "A page of records",
            object("records, total, limit, offset"),
        )
        .add();
    doc.op("GET", "/v1/audit/{action_id}", "One action's audit record")
        .query::<audit::RecordScope>()
        .json(200, "The record (redacted)", object("The audit record"))
        .add();
}

fn quota_routes(doc: &mut Doc) {
    let quota = object("The quota policy");
    doc.op("GET", "/v1/quotas", "Quota policies")
        .query::<quotas::ListParams>()
        .json(200, "Policies", listing("count", "quotas"))
        .add();
    doc.op("POST", "/v1/quotas", "Create a quota policy")
        .body::<quotas::CreateQuota>()
        .json(201, "Created", quota.clone())
        .add();
    doc.op("GET", "/v1/quotas/{id}", "One quota policy")
        .json(200, "The policy", quota.clone())
        .add();
    doc.op("PUT", "/v1/quotas/{id}", "Change a quota policy")
        .body::<quotas::UpdateQuota>()
        .json(200, "Changed", quota)
        .add();
    doc.op("DELETE", "/v1/quotas/{id}", "Delete a quota policy")
        .empty(204, "Deleted")
        .add();
    doc.op(
        "GET",
        "/v1/quotas/{id}/usage",
        "A policy's use in its current window",
    )
    .json(
        200,
        "Usage",
        object("used, limit, remaining, window, resets_at"),
    )
    .add();
}

fn approvals(doc: &mut Doc) {
    doc.op("GET", "/v1/approvals", "Pending approvals of a tenant")
        .query::<orchestration::Scope>()
        .json(200, "Approvals", listing("count", "approvals"))
        .add();
    link(doc.op(
        "GET",
        "/v1/approvals/{namespace}/{tenant}/{id}",
        "An approval's status",
    ))
    .json(200, "The approval", object("The approval"))
    .add();
    link(doc.op(
        "POST",
        "/v1/approvals/{namespace}/{tenant}/{id}/approve",
        "Approve: the action runs",
    ))
    .json(200, "Approved", object("The decision and its outcome"))
    .add();
    link(doc.op(
        "POST",
        "/v1/approvals/{namespace}/{tenant}/{id}/reject",
        "Reject: the action does not run",
    ))
    .json(200, "Rejected", object("The decision"))
    .add();
}

/// A signed approval link's query string (optional: a key may decide instead).
fn link(op: Op<'_>) -> Op<'_> {
    op.query_field("sig", "The link's signature")
        .query_field("expires_at", "The link's expiry (Unix seconds)")
        .query_field("kid", "The signing key's id")
}

fn chains_groups_events(doc: &mut Doc) {
    doc.op("GET", "/v1/chains", "Chains of a tenant")
        .query::<orchestration::Scope>()
        .json(200, "Chains", listing("count", "chains"))
        .add();
    doc.op("GET", "/v1/chains/{id}", "A chain with its steps")
        .query::<orchestration::Scope>()
        .json(200, "The chain", object("The chain and its steps"))
        .add();
    doc.op("POST", "/v1/chains/{id}/cancel", "Cancel a running chain")
        .body::<orchestration::CancelRequest>()
        .json(200, "Cancelled", object("The chain"))
        .add();
    doc.op("GET", "/v1/groups", "Open groups")
        .query::<orchestration::GroupScope>()
        .json(200, "Groups", listing("total", "groups"))
        .add();
    doc.op("GET", "/v1/groups/{key}", "One group")
        .query::<orchestration::GroupScope>()
        .json(200, "The group", object("The group"))
        .add();
    doc.op("DELETE", "/v1/groups/{key}", "Flush a group now")
        .query::<orchestration::GroupScope>()
        .json(200, "Flushed", object("The flush's result"))
        .add();
    doc.op("GET", "/v1/events", "State-machine events of a tenant")
        .query::<orchestration::Scope>()
        .json(200, "Events", listing("count", "events"))
        .add();
    doc.op("GET", "/v1/events/{fingerprint}", "One event's state")
        .query::<orchestration::Scope>()
        .json(200, "The event", object("The event"))
        .add();
    doc.op(
        "GET",
        "/v1/events/{fingerprint}/history",
        "One event's transitions",
    )
    .query::<orchestration::Scope>()
    .json(200, "History", object("fingerprint, state, history"))
    .add();
    doc.op(
        "PUT",
        "/v1/events/{fingerprint}/transition",
        "Move an event to a state",
    )
    .body::<orchestration::TransitionRequest>()
    .json(200, "Moved", object("The transition"))
    .add();
    doc.op(
        "GET",
        "/v1/stream",
        "Live audit records as server-sent events",
    )
    .query::<StreamFilter>()
    .text(
        "An event per audit record; resume with Last-Event-ID",
        "text/event-stream",
    )
    .add();
}

fn retention_routes(doc: &mut Doc) {
    let policy = object("The retention policy");
    doc.op("GET", "/v1/retention", "Retention policies")
        .query::<retention::OptionalScope>()
        .json(200, "Policies", listing("count", "policies"))
        .add();
    doc.op(
        "POST",
        "/v1/retention",
        "Create a tenant's retention policy",
    )
    .body::<retention::CreateRetention>()
    .json(201, "Created", policy.clone())
    .add();
    doc.op("GET", "/v1/retention/{id}", "One retention policy")
        .json(200, "The policy", policy.clone())
        .add();
    doc.op("PUT", "/v1/retention/{id}", "Change a retention policy")
        .body::<retention::UpdateRetention>()
        .json(200, "Changed", policy)
        .add();
    doc.op("DELETE", "/v1/retention/{id}", "Delete a retention policy")
        .empty(204, "Deleted")
        .add();
}

fn recurring_routes(doc: &mut Doc) {
    let item = object("The recurring action");
    doc.op("GET", "/v1/recurring", "Recurring actions")
        .query::<recurring::ListQuery>()
        .json(200, "Recurring actions", object("recurring_actions, count"))
        .add();
    doc.op("POST", "/v1/recurring", "Create a recurring action")
        .body::<recurring::CreateRecurring>()
        .json(201, "Created", item.clone())
        .add();
    doc.op("GET", "/v1/recurring/{id}", "One recurring action")
        .json(200, "The recurring action", item.clone())
        .add();
    doc.op("PUT", "/v1/recurring/{id}", "Change a recurring action")
        .body::<recurring::UpdateRecurring>()
        .json(200, "Changed", item.clone())
        .add();
    doc.op("DELETE", "/v1/recurring/{id}", "Delete a recurring action")
        .empty(204, "Deleted")
        .add();
    doc.op(
        "POST",
        "/v1/recurring/{id}/pause",
        "Pause a recurring action",
    )
    .json(200, "Paused", item.clone())
    .add();
    doc.op(
        "POST",
        "/v1/recurring/{id}/resume",
        "Resume a recurring action",
    )
    .json(200, "Resumed", item)
    .add();
}
