//! Messages that failed every delivery. The delivery policy
//! (`delivery.rs`) hands them here: each is kept in the store (so an
//! operator can list, replay or drain it through `/v1/dead-letters`, the same
//! on every transport) and audited with its reason.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use switchyard_core::{Action, ActionOutcome};
use switchyard_store::{Deferred, DelayedMessage};

use crate::audit::AuditContext;
use crate::error::GatewayError;
use crate::gateway::Gateway;

/// The provider name dead-letter records carry (no provider was called).
pub const DEAD_LETTER_PROVIDER: &str = "_queue";

/// Where dead letters are kept: one system partition (they are rare, and an
/// operator looks at all of them at once), each under its message id.
const SCOPE: (&str, &str) = crate::keys::DEAD_LETTERS;
const KIND: &str = crate::keys::DEAD_LETTER_KIND;

/// At most this many dead letters per page or drain.
pub const MAX_DEAD_LETTER_PAGE: usize = 1_000;

/// A message that failed its last delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The message's id (or the transport's, for a message without one).
    pub id: String,
    /// Its kind of work (`chain_step`…), or `unreadable`.
    pub kind: String,
    /// Whose work it was: the message's namespace and tenant, or
    /// `_system`/`_dead_letters` when it names none.
    pub namespace: String,
    pub tenant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<String>,
    /// Why its last delivery failed.
    pub error: String,
    pub attempts: u32,
    pub dead_lettered_at: DateTime<Utc>,
    /// The message as delivered, verbatim (what a replay sends again).
    pub message: String,
}

impl DeadLetter {
    pub(crate) fn of_message(
        message: &DelayedMessage,
        error: &str,
        attempts: u32,
        at: DateTime<Utc>,
    ) -> Self {
        let wire = serde_json::to_value(message).unwrap_or(Value::Null);
        let chain_id = match &message.work {
            Deferred::ChainStep { id, .. } => Some(id.clone()),
            _ => None,
        };
        Self::new(
            message.id.clone(),
            message.work.kind().to_string(),
            &wire["body"],
            chain_id,
            error,
            attempts,
            at,
            wire.to_string(),
        )
    }

    /// A message that does not read as a Switchyard message. When its
    /// envelope still names a kind and a body with a namespace and tenant (a
    /// message of a known kind with a field missing), it is filed there, a
    /// chain step under its chain; otherwise under `_system/_dead_letters`.
    pub(crate) fn of_unreadable(
        transport_id: &str,
        raw: &str,
        error: &str,
        attempts: u32,
        at: DateTime<Utc>,
    ) -> Self {
        let envelope: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
        let kind = envelope["kind"]
            .as_str()
            .filter(|k| plausible_name(k))
            .unwrap_or("unreadable");
        let id = envelope["id"]
            .as_str()
            .filter(|id| plausible_id(id))
            .unwrap_or(transport_id);
        let body = match &envelope["body"] {
            Value::Object(_) => envelope["body"].clone(),
            _ => Value::Null,
        };
        let chain_id = (kind == "chain_step")
            .then(|| body["id"].as_str().map(str::to_string))
            .flatten();
        Self::new(
            id.to_string(),
            kind.to_string(),
            &body,
            chain_id,
            error,
            attempts,
            at,
            raw.to_string(),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn new(
        id: String,
        kind: String,
        body: &Value,
        chain_id: Option<String>,
        error: &str,
        attempts: u32,
        at: DateTime<Utc>,
        message: String,
    ) -> Self {
        let field = |name: &str| {
            body.get(name)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty() && v.len() <= 256)
                .map(str::to_string)
        };
        Self {
            id,
            kind,
            namespace: field("namespace").unwrap_or_else(|| SCOPE.0.into()),
            tenant: field("tenant").unwrap_or_else(|| SCOPE.1.into()),
            chain_id,
            error: error.to_string(),
            attempts,
            dead_lettered_at: at,
            message,
        }
    }

    /// The message to send again, if it reads.
    pub fn replayable(&self) -> Option<DelayedMessage> {
        DelayedMessage::parse(&self.message).ok()
    }

    /// The API's view: Acteon's DLQ entry fields (`action_id`, `provider`,
    /// `action_type`, `timestamp` in Unix seconds) besides ours.
    pub fn to_json(&self) -> Value {
        let message = serde_json::from_str::<Value>(&self.message)
            .unwrap_or_else(|_| Value::String(self.message.clone()));
        json!({
            "id": self.id,
            "action_id": self.id,
            "kind": self.kind,
            "action_type": self.kind,
            "provider": DEAD_LETTER_PROVIDER,
            "namespace": self.namespace,
            "tenant": self.tenant,
            "chain_id": self.chain_id,
            "error": self.error,
            "attempts": self.attempts,
            "timestamp": self.dead_lettered_at.timestamp(),
            "dead_lettered_at": self.dead_lettered_at,
            "replayable": self.replayable().is_some(),
            "message": message,
        })
    }
}

/// A name short and plain enough to use as a key or an action type.
fn plausible_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// An id fit for a store key: short, printable, no separators of ours.
fn plausible_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
}

impl Gateway {
    /// Keep `dead` in the store and audit it. The store write comes first:
    /// a dead letter the operator cannot see must not be acknowledged.
    pub(crate) async fn dead_letter(&self, dead: DeadLetter) -> Result<(), GatewayError> {
        self.put_json(&crate::keys::dead_letter(&dead.id), &dead, None)
            .await?;
        crate::metrics::Metrics::bump(&self.metrics.dead_lettered);
        tracing::error!(
            id = dead.id,
            kind = dead.kind,
            attempts = dead.attempts,
            error = dead.error,
            "message dead-lettered"
        );
        self.audit_dead_letter(&dead).await;
        Ok(())
    }

    async fn audit_dead_letter(&self, dead: &DeadLetter) {
        let now = self.ports.clock.now();
        let body = serde_json::from_str::<Value>(&dead.message)
            .ok()
            .map(|m| m["body"].clone())
            .filter(Value::is_object)
            .unwrap_or_else(|| Value::String(dead.message.clone()));
        let mut action = Action::builder(
            dead.namespace.clone(),
            dead.tenant.clone(),
            DEAD_LETTER_PROVIDER,
            dead.kind.clone(),
            json!({"message_id": dead.id, "body": body}),
        );
        action.id = dead.id.clone();
        action.created_at = now;
        let outcome = ActionOutcome::Failed {
            code: "DEAD_LETTERED".into(),
            message: dead.error.clone(),
            retryable: false,
            attempts: dead.attempts,
        };
        let record = self.audit_record(
            AuditContext {
                event: switchyard_core::AuditEvent::DeadLetter,
                action: &action,
                provider: DEAD_LETTER_PROVIDER,
                verdict: "dead_letter",
                matched_rule: None,
                verdict_details: json!({"attempts": dead.attempts, "error": dead.error}),
                chain_id: dead.chain_id.as_deref(),
                dispatched_at: now,
            },
            &outcome,
        );
        self.write_audit(record).await;
    }

    /// A page of the dead-letter records as stored.
    async fn dead_letter_page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<switchyard_store::ListPage, GatewayError> {
        let limit = limit.clamp(1, MAX_DEAD_LETTER_PAGE);
        Ok(self
            .ports
            .state
            .list(SCOPE.0, SCOPE.1, KIND, cursor, limit)
            .await?)
    }

    /// A page of dead letters, oldest message id first.
    pub async fn dead_letters(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<DeadLetter>, Option<String>), GatewayError> {
        let page = self.dead_letter_page(cursor, limit).await?;
        let letters = page
            .items
            .iter()
            .filter_map(|(key, stored)| match serde_json::from_str(&stored.value) {
                Ok(dead) => Some(dead),
                Err(err) => {
                    tracing::error!(key = key.display(), error = %err, "unreadable dead-letter record skipped");
                    None
                }
            })
            .collect();
        Ok((letters, page.next_cursor))
    }

    /// How many dead letters are kept.
    pub async fn count_dead_letters(&self) -> Result<usize, GatewayError> {
        let mut count = 0;
        let mut cursor = None;
        loop {
            let page = self
                .dead_letter_page(cursor.as_deref(), MAX_DEAD_LETTER_PAGE)
                .await?;
            count += page.items.len();
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(count),
            }
        }
    }

    /// Send dead letter `id` back to the delay queue, due now, and forget it.
    /// `Ok(None)`: no such dead letter. A message that does not read cannot
    /// be replayed (`Invalid`); drain it instead.
    pub async fn replay_dead_letter(&self, id: &str) -> Result<Option<DeadLetter>, GatewayError> {
        let key = crate::keys::dead_letter(id);
        let Some(stored) = self.ports.state.get(&key).await? else {
            return Ok(None);
        };
        let dead: DeadLetter = crate::records::decode(&key, &stored.value)?;
        let Some(message) = dead.replayable() else {
            return Err(GatewayError::Invalid {
                field: "id".into(),
                message: format!(
                    "dead letter '{id}' is not a readable message and cannot be replayed; drain it"
                ),
            });
        };
        // Sent before it is forgotten: a crash in between replays it twice,
        // which handlers absorb (they are idempotent), never zero times.
        self.ports
            .queue
            .send(message, self.ports.clock.now())
            .await?;
        self.ports.state.delete(&key).await?;
        Ok(Some(dead))
    }

    /// Remove up to `limit` dead letters and return them, with whether more
    /// are left.
    pub async fn drain_dead_letters(
        &self,
        limit: usize,
    ) -> Result<(Vec<DeadLetter>, bool), GatewayError> {
        let (letters, next) = self.dead_letters(None, limit).await?;
        let mut drained = Vec::with_capacity(letters.len());
        for dead in letters {
            // Another drain may have taken it meanwhile: only what this one
            // removed is returned, so no entry is handed out twice.
            if self
                .ports
                .state
                .delete(&crate::keys::dead_letter(&dead.id))
                .await?
            {
                drained.push(dead);
            }
        }
        Ok((drained, next.is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("time")
    }

    #[test]
    fn a_message_files_under_its_tenant_and_replays() {
        let message = DelayedMessage::new(
            "m-1",
            Deferred::ChainStep {
                namespace: "shop".into(),
                tenant: "acme".into(),
                id: "chain-9".into(),
                step: 2,
            },
        );
        let dead = DeadLetter::of_message(&message, "boom", 5, at());
        assert_eq!(
            (dead.namespace.as_str(), dead.tenant.as_str()),
            ("shop", "acme")
        );
        assert_eq!(dead.chain_id.as_deref(), Some("chain-9"));
        assert_eq!(dead.kind, "chain_step");
        assert_eq!(dead.replayable(), Some(message));
        let shown = dead.to_json();
        assert_eq!(shown["action_id"], json!("m-1"));
        assert_eq!(shown["timestamp"], json!(1_800_000_000));
        assert_eq!(shown["message"]["body"]["step"], json!(2));
    }

    #[test]
    fn an_unreadable_message_keeps_what_its_envelope_says() {
        let raw = json!({"id": "poison-1", "kind": "chain_step",
                         "body": {"namespace": "shop", "tenant": "acme", "id": "chain-9"}})
        .to_string();
        let dead = DeadLetter::of_unreadable("sqs-7", &raw, "missing field `step`", 5, at());
        assert_eq!(dead.id, "poison-1");
        assert_eq!(
            (dead.namespace.as_str(), dead.tenant.as_str()),
            ("shop", "acme")
        );
        assert_eq!(dead.chain_id.as_deref(), Some("chain-9"));
        assert_eq!(dead.replayable(), None);
        assert_eq!(dead.message, raw, "kept verbatim");

        let dead = DeadLetter::of_unreadable("sqs-8", "not json", "not a message", 1, at());
        assert_eq!(
            (dead.id.as_str(), dead.kind.as_str()),
            ("sqs-8", "unreadable")
        );
        assert_eq!(
            (dead.namespace.as_str(), dead.tenant.as_str()),
            SCOPE,
            "filed under the system scope"
        );
        assert_eq!(dead.to_json()["message"], json!("not json"));
    }

    #[test]
    fn a_hostile_envelope_id_or_kind_is_not_used_as_a_key() {
        let long = "x".repeat(500);
        let raw = json!({"id": long, "kind": "DROP TABLE", "body": {"namespace": 7}}).to_string();
        let dead = DeadLetter::of_unreadable("sqs-9", &raw, "bad", 1, at());
        assert_eq!(dead.id, "sqs-9");
        assert_eq!(dead.kind, "unreadable");
        assert_eq!(dead.namespace, SCOPE.0);
    }
}
