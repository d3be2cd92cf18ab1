//! Schemas of bodies that no handler struct reads as a whole: an action is
//! parsed field by field by `switchyard_core::Action::from_json` (so that
//! each error names its field), and answers are built as JSON.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// An action as `POST /v1/dispatch` takes it. Other top-level fields are
/// ignored (Acteon's clients send some).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct ActionBody {
    /// Defaults to a new UUID.
    #[schema(min_length = 1, max_length = 256)]
    id: Option<String>,
    #[schema(min_length = 1, max_length = 256)]
    namespace: String,
    #[schema(min_length = 1, max_length = 256)]
    tenant: String,
    #[schema(min_length = 1, max_length = 256)]
    provider: String,
    #[schema(min_length = 1, max_length = 256)]
    action_type: String,
    /// Any JSON; what the provider receives.
    payload: Value,
    /// Actions with the same key within the rule's window run once.
    #[schema(min_length = 1, max_length = 256)]
    dedup_key: Option<String>,
    metadata: Option<BTreeMap<String, String>>,
    status: Option<String>,
    fingerprint: Option<String>,
    starts_at: Option<chrono::DateTime<chrono::Utc>>,
    ends_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Defaults to now.
    created_at: Option<chrono::DateTime<chrono::Utc>>,
    template: Option<String>,
    trace_context: Option<BTreeMap<String, String>>,
}

/// A dispatch's outcome: `"Deduplicated"`, or an object with one key naming
/// the outcome (`Executed`, `Suppressed`, `Rerouted`, `Throttled`,
/// `Failed`, `Grouped`, `StateChanged`, `PendingApproval`, `ChainStarted`,
/// `DryRun`, `CircuitOpen`, `QuotaExceeded`, `Scheduled`…).
pub(super) fn outcome() -> Value {
    json!({
        "oneOf": [
            {"type": "string"},
            {"type": "object", "minProperties": 1, "maxProperties": 1},
        ],
        "description": "The outcome: a string for outcomes without details, else an object with one key naming the outcome",
    })
}

/// Any JSON object.
pub(super) fn object(description: &str) -> Value {
    json!({"type": "object", "description": description})
}

/// `{"<count>": n, "<items>": [...]}`, the shape of every listing.
pub(super) fn listing(count: &str, items: &str) -> Value {
    json!({
        "type": "object",
        "required": [count, items],
        "properties": {
            count: {"type": "integer", "minimum": 0},
            items: {"type": "array"},
        },
    })
}
