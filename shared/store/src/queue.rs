//! The delay-queue port: "deliver this message to a handler at that time".
//!
//! In AWS it is SQS (DelaySeconds up to 15 min) or EventBridge Scheduler; in the
//! local process it is [`crate::MemoryDelayQueue`], drained by a worker loop.
//!
//! Every kind of deferred work is one variant of [`Deferred`]: producers build
//! it, handlers match on it, and the AWS adapter routes by it. On the wire a
//! message is `{"id", "kind", "body"}` (the variant's name in snake case and
//! its fields), so messages queued by an earlier version still read.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// A message: an id unique per logical message (handlers use it for
/// idempotency) and the work it carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DelayedMessage {
    pub id: String,
    #[serde(flatten)]
    pub work: Deferred,
}

impl DelayedMessage {
    pub fn new(id: impl Into<String>, work: Deferred) -> Self {
        Self {
            id: id.into(),
            work,
        }
    }

    /// Read a message from its wire form; the error says what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        serde_json::from_str(raw).map_err(|e| format!("not a Switchyard message: {e}"))
    }
}

/// A record of one tenant: what most deferred work points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRef {
    pub namespace: String,
    pub tenant: String,
    pub id: String,
}

/// Every kind of deferred work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum Deferred {
    /// Release a scheduled action (`id`: the scheduled record).
    ScheduledAction(RecordRef),
    /// Expire an approval still pending at its deadline.
    ApprovalExpiry(RecordRef),
    /// Run step `step` of chain `id`.
    ChainStep {
        namespace: String,
        tenant: String,
        id: String,
        step: usize,
    },
    /// Time a chain out if it is still running.
    ChainTimeout(RecordRef),
    /// Flush group `id` (the group key); `group_id` names the generation
    /// the message was sent for.
    GroupFlush {
        namespace: String,
        tenant: String,
        id: String,
        #[serde(default)]
        group_id: Option<String>,
    },
    /// Move a state-machine event on if it is still at `version`.
    EventTimeout {
        namespace: String,
        tenant: String,
        id: String,
        version: u64,
    },
    /// Fire the tick at `fire_at` of recurring action `id`.
    RecurringFire {
        namespace: String,
        tenant: String,
        id: String,
        fire_at: DateTime<Utc>,
    },
}

/// Which queue carries a kind of work in AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// The chain queue, consumed by `chain-step`.
    Chain,
    /// The delay queue, consumed by `scheduler`.
    Delay,
}

impl Deferred {
    /// The wire name of the kind (`chain_step`, `group_flush`…).
    pub fn kind(&self) -> &'static str {
        match self {
            Deferred::ScheduledAction(_) => "scheduled_action",
            Deferred::ApprovalExpiry(_) => "approval_expiry",
            Deferred::ChainStep { .. } => "chain_step",
            Deferred::ChainTimeout(_) => "chain_timeout",
            Deferred::GroupFlush { .. } => "group_flush",
            Deferred::EventTimeout { .. } => "event_timeout",
            Deferred::RecurringFire { .. } => "recurring_fire",
        }
    }

    pub fn lane(&self) -> Lane {
        match self {
            Deferred::ChainStep { .. } => Lane::Chain,
            _ => Lane::Delay,
        }
    }
}

#[async_trait]
pub trait DelayQueue: Send + Sync {
    async fn send(
        &self,
        message: DelayedMessage,
        deliver_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

/// A message taken from a [`PolledQueue`], to be settled by `ack` or `retry`.
#[derive(Debug, Clone, PartialEq)]
pub struct Taken {
    pub message: DelayedMessage,
    /// Which delivery this is (1 for the first), as SQS's receive count.
    pub attempt: u32,
    /// When it was due (taken later than this means the worker lags).
    pub due_at: DateTime<Utc>,
    /// The queue's handle on this delivery.
    pub receipt: i64,
}

/// A delay queue the local process drains itself (memory, PostgreSQL); on
/// AWS, SQS and the Scheduler push messages to the functions instead.
#[async_trait]
pub trait PolledQueue: DelayQueue {
    /// Take up to `max` messages due now, oldest due first. Each is hidden
    /// from other takers until settled; a durable queue shows it again if
    /// the taker dies without settling it.
    async fn take(&self, max: usize) -> Result<Vec<Taken>, StoreError>;

    /// Done with (handled or dead-lettered): remove it.
    async fn ack(&self, taken: &Taken) -> Result<(), StoreError>;

    /// Deliver it again at `at` (the failed delivery stays counted).
    async fn retry(&self, taken: Taken, at: DateTime<Utc>) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_wire_form_is_id_kind_body() {
        let message = DelayedMessage::new(
            "c1:2",
            Deferred::ChainStep {
                namespace: "shop".into(),
                tenant: "acme".into(),
                id: "c1".into(),
                step: 2,
            },
        );
        let wire = serde_json::to_value(&message).expect("serialize");
        assert_eq!(
            wire,
            json!({"id": "c1:2", "kind": "chain_step", "body": {"namespace": "shop", "tenant": "acme", "id": "c1", "step": 2}})
        );
        assert_eq!(message.work.kind(), wire["kind"]);
        let back = DelayedMessage::parse(&wire.to_string()).expect("parse");
        assert_eq!(back, message);
    }

    #[test]
    fn every_kind_round_trips_and_names_itself() {
        let r = RecordRef {
            namespace: "n".into(),
            tenant: "t".into(),
            id: "i".into(),
        };
        let all = [
            Deferred::ScheduledAction(r.clone()),
            Deferred::ApprovalExpiry(r.clone()),
            Deferred::ChainStep {
                namespace: "n".into(),
                tenant: "t".into(),
                id: "i".into(),
                step: 0,
            },
            Deferred::ChainTimeout(r.clone()),
            Deferred::GroupFlush {
                namespace: "n".into(),
                tenant: "t".into(),
                id: "i".into(),
                group_id: None,
            },
            Deferred::EventTimeout {
                namespace: "n".into(),
                tenant: "t".into(),
                id: "i".into(),
                version: 3,
            },
            Deferred::RecurringFire {
                namespace: "n".into(),
                tenant: "t".into(),
                id: "i".into(),
                fire_at: DateTime::from_timestamp(1_800_000_000, 0).expect("time"),
            },
        ];
        for work in all {
            let message = DelayedMessage::new("m", work.clone());
            let wire = serde_json::to_value(&message).expect("serialize");
            assert_eq!(wire["kind"], work.kind());
            assert_eq!(DelayedMessage::parse(&wire.to_string()), Ok(message));
            assert_eq!(
                work.lane(),
                if work.kind() == "chain_step" {
                    Lane::Chain
                } else {
                    Lane::Delay
                }
            );
        }
    }

    #[test]
    fn what_does_not_parse_says_why() {
        for raw in [
            "not json",
            r#"{"id": "x", "kind": "teleport", "body": {}}"#,
            r#"{"id": "x", "kind": "chain_step", "body": {"namespace": "n"}}"#,
            r#"{"kind": "chain_step", "body": {"namespace": "n", "tenant": "t", "id": "i", "step": 1}}"#,
        ] {
            let err = DelayedMessage::parse(raw).expect_err(raw);
            assert!(err.starts_with("not a Switchyard message"), "{err}");
        }
    }
}
