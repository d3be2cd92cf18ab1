//! The delay-queue port: "deliver this message to a handler at that time".
//!
//! In AWS it is SQS (DelaySeconds up to 15 min) or EventBridge Scheduler; in the
//! local process it is [`crate::MemoryDelayQueue`], drained by a worker loop.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::StoreError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DelayedMessage {
    /// Unique per logical message; handlers use it for idempotency.
    pub id: String,
    /// Which handler takes it (`scheduled_action`, `chain_step`, `group_flush`…).
    pub kind: String,
    pub body: Value,
}

#[async_trait]
pub trait DelayQueue: Send + Sync {
    async fn send(
        &self,
        message: DelayedMessage,
        deliver_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}
