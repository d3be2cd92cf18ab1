//! Messages that failed every delivery: the queue's DLQ keeps the message,
//! the audit trail says what happened to it and why.

use serde_json::{Value, json};
use switchyard_core::{Action, ActionOutcome};
use switchyard_store::{Deferred, DelayedMessage};

use crate::audit::AuditContext;
use crate::gateway::Gateway;

/// The provider name dead-letter records carry (no provider was called).
pub const DEAD_LETTER_PROVIDER: &str = "_queue";

impl Gateway {
    /// Audit that `message` failed `attempts` deliveries with `error` and is
    /// moving to a dead-letter queue. The record lands in the message's
    /// namespace and tenant (a chain step's record also carries its chain id).
    pub async fn audit_dead_letter(&self, message: &DelayedMessage, error: &str, attempts: u32) {
        let wire = serde_json::to_value(message).unwrap_or(Value::Null);
        let chain_id = match &message.work {
            Deferred::ChainStep { id, .. } => Some(id.as_str()),
            _ => None,
        };
        self.record_dead_letter(
            &message.id,
            message.work.kind(),
            &wire["body"],
            chain_id,
            error,
            attempts,
        )
        .await;
    }

    /// Audit that a queue message that does not read as a Switchyard message
    /// (`raw`, kept verbatim) failed `attempts` deliveries. When its envelope
    /// still names a kind and a body with a namespace and tenant (a message
    /// of a known kind with a field missing), the record lands there, a
    /// chain step's under its chain; otherwise in `_system/_dead_letters`.
    pub async fn audit_unreadable(&self, message_id: &str, raw: &str, error: &str, attempts: u32) {
        let envelope: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
        // The kind becomes the record's action type: only a plausible name.
        let kind = envelope["kind"]
            .as_str()
            .filter(|k| k.len() <= 64 && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .unwrap_or("unreadable");
        let body = match &envelope["body"] {
            Value::Object(_) => envelope["body"].clone(),
            _ => Value::String(raw.to_string()),
        };
        let chain_id = (kind == "chain_step")
            .then(|| body["id"].as_str())
            .flatten();
        self.record_dead_letter(
            envelope["id"].as_str().unwrap_or(message_id),
            kind,
            &body,
            chain_id,
            error,
            attempts,
        )
        .await;
    }

    async fn record_dead_letter(
        &self,
        message_id: &str,
        kind: &str,
        body: &Value,
        chain_id: Option<&str>,
        error: &str,
        attempts: u32,
    ) {
        let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
        let namespace = field("namespace").unwrap_or_else(|| "_system".into());
        let tenant = field("tenant").unwrap_or_else(|| "_dead_letters".into());
        let now = self.ports.clock.now();
        let mut action = Action::builder(
            namespace,
            tenant,
            DEAD_LETTER_PROVIDER,
            kind,
            json!({"message_id": message_id, "body": body}),
        );
        action.id = message_id.to_string();
        action.created_at = now;
        let outcome = ActionOutcome::Failed {
            code: "DEAD_LETTERED".into(),
            message: error.to_string(),
            retryable: false,
            attempts,
        };
        let record = self.audit_record(
            AuditContext {
                action: &action,
                provider: DEAD_LETTER_PROVIDER,
                verdict: "dead_letter",
                matched_rule: None,
                verdict_details: json!({"attempts": attempts, "error": error}),
                chain_id,
                dispatched_at: now,
            },
            &outcome,
        );
        tracing::error!(
            message_id,
            kind,
            attempts,
            error,
            "message moves to the dead-letter queue"
        );
        self.write_audit(record).await;
    }
}
