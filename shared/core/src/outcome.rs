//! The outcome of a dispatch, in Acteon's wire shape (serde's externally
//! tagged enum: `{"Executed": {...}}`, and the bare string `"Deduplicated"`).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseStatus {
    Success,
    Failure,
    Partial,
}

/// What a provider answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderResponse {
    pub status: ResponseStatus,
    pub body: Value,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl ProviderResponse {
    pub fn success(body: Value) -> Self {
        Self {
            status: ResponseStatus::Success,
            body,
            headers: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ActionOutcome {
    Executed(ProviderResponse),
    Deduplicated,
    Suppressed {
        rule: String,
    },
    Rerouted {
        original_provider: String,
        new_provider: String,
        response: ProviderResponse,
    },
    Throttled {
        retry_after: Duration,
    },
    Failed {
        code: String,
        message: String,
        retryable: bool,
        attempts: u32,
    },
    Grouped {
        group_id: String,
        group_size: u64,
        notify_at: DateTime<Utc>,
    },
    StateChanged {
        fingerprint: String,
        previous_state: String,
        new_state: String,
        notify: bool,
    },
    PendingApproval {
        approval_id: String,
        expires_at: DateTime<Utc>,
        approve_url: String,
        reject_url: String,
        notification_sent: bool,
    },
    ChainStarted {
        chain_id: String,
        chain_name: String,
        total_steps: usize,
        first_step: String,
    },
    DryRun {
        verdict: String,
        matched_rule: Option<String>,
        would_be_provider: String,
    },
    CircuitOpen {
        provider: String,
        fallback_chain: Vec<String>,
    },
    Scheduled {
        action_id: String,
        scheduled_for: DateTime<Utc>,
    },
    QuotaExceeded {
        tenant: String,
        limit: u64,
        used: u64,
        overage_behavior: String,
    },
}

impl ActionOutcome {
    /// The snake_case tag used in audit records, metrics and stream filters.
    pub fn tag(&self) -> &'static str {
        match self {
            ActionOutcome::Executed(_) => "executed",
            ActionOutcome::Deduplicated => "deduplicated",
            ActionOutcome::Suppressed { .. } => "suppressed",
            ActionOutcome::Rerouted { .. } => "rerouted",
            ActionOutcome::Throttled { .. } => "throttled",
            ActionOutcome::Failed { .. } => "failed",
            ActionOutcome::Grouped { .. } => "grouped",
            ActionOutcome::StateChanged { .. } => "state_changed",
            ActionOutcome::PendingApproval { .. } => "pending_approval",
            ActionOutcome::ChainStarted { .. } => "chain_started",
            ActionOutcome::DryRun { .. } => "dry_run",
            ActionOutcome::CircuitOpen { .. } => "circuit_open",
            ActionOutcome::Scheduled { .. } => "scheduled",
            ActionOutcome::QuotaExceeded { .. } => "quota_exceeded",
        }
    }

    pub fn failed(code: &str, message: impl Into<String>, retryable: bool, attempts: u32) -> Self {
        ActionOutcome::Failed {
            code: code.to_string(),
            message: message.into(),
            retryable,
            attempts,
        }
    }

    /// A small summary stored in audit records (no provider bodies).
    pub fn details(&self) -> Value {
        use serde_json::json;
        match self {
            ActionOutcome::Executed(r) => json!({ "status": r.status }),
            ActionOutcome::Rerouted {
                original_provider,
                new_provider,
                response,
            } => json!({
                "original_provider": original_provider,
                "new_provider": new_provider,
                "status": response.status,
            }),
            ActionOutcome::Throttled { retry_after } => {
                json!({ "retry_after_secs": retry_after.as_secs() })
            }
            ActionOutcome::PendingApproval {
                approval_id,
                expires_at,
                notification_sent,
                ..
            } => json!({
                "approval_id": approval_id,
                "expires_at": expires_at,
                "notification_sent": notification_sent,
            }),
            ActionOutcome::Deduplicated => Value::Object(Default::default()),
            other => match serde_json::to_value(other) {
                Ok(Value::Object(mut map)) => map
                    .remove(other.variant_name())
                    .unwrap_or(Value::Object(Default::default())),
                _ => Value::Object(Default::default()),
            },
        }
    }

    fn variant_name(&self) -> &'static str {
        match self {
            ActionOutcome::Executed(_) => "Executed",
            ActionOutcome::Deduplicated => "Deduplicated",
            ActionOutcome::Suppressed { .. } => "Suppressed",
            ActionOutcome::Rerouted { .. } => "Rerouted",
            ActionOutcome::Throttled { .. } => "Throttled",
            ActionOutcome::Failed { .. } => "Failed",
            ActionOutcome::Grouped { .. } => "Grouped",
            ActionOutcome::StateChanged { .. } => "StateChanged",
            ActionOutcome::PendingApproval { .. } => "PendingApproval",
            ActionOutcome::ChainStarted { .. } => "ChainStarted",
            ActionOutcome::DryRun { .. } => "DryRun",
            ActionOutcome::CircuitOpen { .. } => "CircuitOpen",
            ActionOutcome::Scheduled { .. } => "Scheduled",
            ActionOutcome::QuotaExceeded { .. } => "QuotaExceeded",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_shapes_match_acteon() {
        assert_eq!(
            serde_json::to_value(ActionOutcome::Deduplicated).expect("serializes"),
            json!("Deduplicated")
        );
        assert_eq!(
            serde_json::to_value(ActionOutcome::Throttled {
                retry_after: Duration::from_secs(60)
            })
            .expect("serializes"),
            json!({"Throttled": {"retry_after": {"secs": 60, "nanos": 0}}})
        );
        assert_eq!(
            serde_json::to_value(ActionOutcome::Executed(ProviderResponse::success(
                json!({"provider": "p", "logged": true})
            )))
            .expect("serializes"),
            json!({"Executed": {"status": "success", "body": {"provider": "p", "logged": true}, "headers": {}}})
        );
        assert_eq!(
            serde_json::to_value(ActionOutcome::Suppressed { rule: "r".into() })
                .expect("serializes"),
            json!({"Suppressed": {"rule": "r"}})
        );
    }

    #[test]
    fn details_summarise_without_bodies() {
        let outcome = ActionOutcome::Executed(ProviderResponse::success(json!({"secret": 1})));
        assert_eq!(outcome.details(), json!({"status": "success"}));
        let outcome = ActionOutcome::failed("X", "boom", true, 2);
        assert_eq!(
            outcome.details(),
            json!({"code": "X", "message": "boom", "retryable": true, "attempts": 2})
        );
    }
}
