//! What a client receives for an audit record.

use axum::response::sse::Event;
use serde_json::json;
use switchyard_core::AuditRecord;

/// The stream event type of an audit record: its event's name.
pub(crate) fn event_type(record: &AuditRecord) -> &'static str {
    match record.event {
        Some(event) => event.name(),
        None => inferred_event_type(record),
    }
}

/// For records written before they carried their event: what their fields
/// imply (they age out with the audit TTL; nothing new takes this path).
fn inferred_event_type(record: &AuditRecord) -> &'static str {
    if record.chain_id.is_some() && record.verdict == "chain" {
        if record.outcome.starts_with("chain_") {
            "chain_completed"
        } else {
            "chain_step_completed"
        }
    } else if record.verdict == "circuit_breaker" {
        "circuit_breaker_transition"
    } else if record.action_type == "group_notification" {
        "group_flushed"
    } else if record.outcome.starts_with("approval_") {
        "approval_resolved"
    } else if record.verdict_details.get("released_from").is_some() {
        "scheduled_action_due"
    } else {
        "action_dispatched"
    }
}

/// A sanitized event: outcome summaries only (no provider bodies, no approval links).
pub(crate) fn to_event(r: &AuditRecord) -> Event {
    let kind = event_type(r);
    let data = json!({
        "id": r.id,
        "timestamp": r.completed_at,
        "type": kind,
        "namespace": r.namespace,
        "tenant": r.tenant,
        "action_type": r.action_type,
        "action_id": r.action_id,
        "provider": r.provider,
        "verdict": r.verdict,
        "matched_rule": r.matched_rule,
        "outcome": r.outcome,
        "outcome_details": r.outcome_details,
        "chain_id": r.chain_id,
    });
    Event::default()
        .id(r.id.clone())
        .event(kind)
        .data(data.to_string())
}

/// The last event of a connection the server closes, saying why.
pub(crate) fn closing(kind: &'static str, reason: &str) -> Event {
    Event::default()
        .event(kind)
        .data(json!({"type": kind, "reason": reason}).to_string())
}
