//! Messages that failed every delivery: the queue's DLQ keeps the message,
//! the audit trail says what happened to it and why.

use serde_json::{Value, json};
use switchyard_core::{Action, ActionOutcome};

use crate::audit::AuditContext;
use crate::chains::CHAIN_STEP_MESSAGE;
use crate::gateway::Gateway;

/// The provider name dead-letter records carry (no provider was called).
pub const DEAD_LETTER_PROVIDER: &str = "_queue";

impl Gateway {
    /// Audit that the message `message_id` of `kind` (body `body`, or its raw
    /// text when it was not even JSON) failed `attempts` deliveries with
    /// `error` and is moving to a dead-letter queue. The record lands in the
    /// message's namespace and tenant when the body names them (a chain
    /// step's record also carries its chain id), else in `_system/_dead_letters`.
    pub async fn audit_dead_letter(
        &self,
        message_id: &str,
        kind: &str,
        body: &Value,
        error: &str,
        attempts: u32,
    ) {
        let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
        let namespace = field("namespace").unwrap_or_else(|| "_system".into());
        let tenant = field("tenant").unwrap_or_else(|| "_dead_letters".into());
        let chain_id = (kind == CHAIN_STEP_MESSAGE).then(|| field("id")).flatten();
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
                chain_id: chain_id.as_deref(),
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
